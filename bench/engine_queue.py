"""Benchmark: how long face checks wait for the local engine while an album of ID photos is made.

A family sends an album of ten photos for the local engine; its ten jobs reach the engine's worker
at once (about a second of the engine each). Meanwhile other people pick a spec, and each pick is a
face check before their order (about 15 ms of the engine), one every ``--gap`` seconds. What each
of them waits for, from asking to answer, and when the album is done, are what a person sees.

The engine's worker is the bot's (``EngineWorker``, one process, as ``providers.local.concurrency``
defaults to); the photos are Obama's official portrait (face_recognition's source package), made
for spec 3110 (35x45 mm). With ``--tree DIR`` the engine of that source tree runs instead (a
checkout of an older revision, to compare).

    python bench/engine_queue.py [--album 10] [--checks 30] [--gap 0.25] [--tree DIR]

Not a test: it prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"px_width": 413, "px_height": 531, "dpi": 300, "bg_color": "438EDB", "rule": "icao"}


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    from providers.localengine.worker import EngineLimits, EngineWorker
    from tests.sample_photos import photo

    portrait = photo("obama.jpg")
    limits = EngineLimits(queue_limit=args.album + args.checks)
    worker = EngineWorker(1)
    worker.warm(cutout=True)
    await worker.make_id_photo(portrait, OPTIONS, limits)  # started and warm
    await worker.inspect(portrait, limits)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def timed(work: Awaitable[object]) -> float:
        await work
        return loop.time() - start

    async def check() -> float:
        asked = loop.time()
        await worker.inspect(portrait, limits)
        return loop.time() - asked

    album = [asyncio.ensure_future(timed(worker.make_id_photo(portrait, OPTIONS, limits))) for _ in range(args.album)]
    checks = []
    for n in range(args.checks):
        await asyncio.sleep(max(0.0, start + n * args.gap - loop.time()))  # pacing, not synchronisation
        checks.append(asyncio.ensure_future(check()))
    waits = list(await asyncio.gather(*checks))
    done = await asyncio.gather(*album)
    close = getattr(worker, "close", None)  # an older tree's worker (--tree) is ended with its interpreter
    if close is not None:
        close()
    return {"checks": waits, "album": [max(done)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--album", type=int, default=10, help="ID photos queued at once")
    parser.add_argument("--checks", type=int, default=30, help="face checks asked, one after another")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between the checks' starts")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the source tree whose engine runs")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    began = time.perf_counter()
    result = asyncio.run(run(args))
    checks = result["checks"]
    print(f"### {args.album} ID photos queued at once, {args.checks} face checks (`{args.tree}`)\n")
    print("| figure | value |\n|---|---|")
    print(
        f"| a face check, from asking to answer: median · 90th percentile · longest | "
        f"{statistics.median(checks) * 1000:.0f} · {statistics.quantiles(checks, n=10)[-1] * 1000:.0f} · "
        f"{max(checks) * 1000:.0f} ms |"
    )
    print(f"| the album's last photo done, from the start | {result['album'][0]:.1f} s |")
    print(f"| the whole run | {time.perf_counter() - began:.1f} s |")


if __name__ == "__main__":
    main()
