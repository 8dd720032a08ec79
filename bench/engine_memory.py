"""Benchmark: the local engine's worker process's memory under steady load.

One engine worker process makes what the bot asks of it without a pause: for each photo the face
check, then a preview of an ID photo at a random size (from a 413x531 visa photo to 1799x1799) and
placement rule, two photos in flight so that its queue is never empty (the worker gives freed
memory back when idle; under steady load it never is). Photos: the real-photo benchmark's
(bench/real_photos.py, cached by hash under PHOTOBOT_SAMPLES). Every 20 photos, and at the end,
the worker's resident memory now and at its peak (VmRSS, VmHWM); at the end, the median wall time
of a pair of photos made side by side (both checked and made), which shows what giving memory back
costs.

    python bench/engine_memory.py [--photos 120] [--tree PATH]

``--tree`` measures the engine of another checkout (``git worktree add PATH REV``). Not a test:
it prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Output sizes (px) and the print's millimetres a preview is made at.
SIZES = [(413, 531), (602, 602), (1051, 1500), (1500, 1799), (1799, 1200), (1799, 1799)]


def _status(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    return 0


async def run(count: int) -> tuple[list[tuple[int, int, int]], float]:
    from bench.real_photos import PHOTOS, path
    from bot.ops.images import normalise
    from providers.localengine.worker import EngineWorker
    from providers.placement import load_rules

    rules = list(load_rules())
    photos = [normalise(path(photo).read_bytes()).data for photo in PHOTOS[:24]]
    worker = EngineWorker(1)
    worker.warm(cutout=True)
    pid = worker.pids()[0]
    chosen = random.Random(5)
    rows: list[tuple[int, int, int]] = []
    done = 0

    async def one() -> None:
        nonlocal done
        data, size = chosen.choice(photos), chosen.choice(SIZES)
        options = {"px_width": size[0], "px_height": size[1], "dpi": 300, "bg_color": "#FFFFFF"}
        try:
            await worker.inspect(data)
            await worker.make_id_photo(data, {**options, "rule": chosen.choice(rules), "mm": (50, 50)}, preview=True)
        except Exception:  # noqa: BLE001 (a refused photo is a photo made for this count)
            pass
        done += 1

    pairs: list[float] = []
    try:
        while done < count:
            start = time.perf_counter()
            await asyncio.gather(one(), one())
            pairs.append(time.perf_counter() - start)
            if done % 20 == 0 or done >= count:
                rows.append((done, _status(pid, "VmRSS"), _status(pid, "VmHWM")))
    finally:
        worker.close()
    return rows, statistics.median(pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=120)
    parser.add_argument("--tree", type=Path, help="the checkout whose engine is measured (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))
    rows, pair = asyncio.run(run(args.photos))
    print("| photos made | resident now | resident at its peak |")
    print("|---|---|---|")
    for done, now, peak in rows:
        print(f"| {done} | {now} MB | {peak} MB |")
    print(f"\nA pair of photos side by side, median: {pair:.2f} s")


if __name__ == "__main__":
    main()
