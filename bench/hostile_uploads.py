"""Hostile uploads: the bot's memory while people send huge images at once, and its disk while
one person keeps sending photos. The bot runs as its own process against the test suite's fake
Bot API in this one.

Memory: four users each send the same file as a document at the same moment, while a fifth
sends /start. Reported: what the bot's processes (the bot and any child) added to their resident
memory at the peak, sampled every 10 ms, the fifth user's answer time, and what the four were
told. Files:

- the 7070×7070 RGBA PNG of issue 11 (about 190 kB, 200 MB decoded);
- the largest RGBA PNG still decoded at full size (5790×5790, 128 MB decoded);
- a 50 MP phone JPEG (8160×6120), decoded at half scale;
- four files a review crafted (stop 42): a TIFF of 300×300 whose EXIF holds two million values,
  151 bytes of a 200×200 TIFF declaring 40960×40960 tiles, a progressive 9000×9000 JPEG (its
  decoder holds every DCT coefficient at full size), a flat 5600×5600 WebP (libwebp holds a copy
  of the pixels beside Pillow's).

Disk: one user sends 30 photos of 4000×3000 in a row without ordering; reported: the bytes in
the media folder afterwards (only the latest photo not ordered with is kept).

    python bench/hostile_uploads.py

Prints Markdown (for docs/benchmarks.md). Not a test: nothing is asserted.
"""

from __future__ import annotations

import asyncio
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import telegram_config
from tests.bot.process import BotProcess
from tests.conftest import portrait_jpeg
from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram
from tests.hostile_files import exif_of_millions_tiff, huge_tiles_tiff

SAMPLE_SECONDS = 0.01
WAIT = 120.0


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _family(pid: int) -> list[int]:
    """The process and its children, recursively."""
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += _family(int(child))
    return found


def family_rss_mb(pid: int) -> float:
    return sum(_rss_kb(p) for p in _family(pid)) / 1024


def rgba_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (side, side), (200, 120, 60, 128)).save(out, "PNG", optimize=True)
    return out.getvalue()


def flat(side: int, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (90, 120, 200)).save(out, fmt, **options)
    return out.getvalue()


def write_config(directory: Path, telegram: FakeTelegram) -> Path:
    port = free_port()
    config = {
        "telegram": telegram_config(telegram),
        "server": {"host": "127.0.0.1", "port": port},
        "database": {"path": str(directory / "photobot.sqlite3")},
        "limits": {"requests_per_minute": 10000},
        "providers": {"local": {"enabled": True}},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def memory_run(telegram: FakeTelegram, bot: BotProcess, name: str, data: bytes, first_id: int) -> dict[str, Any]:
    assert bot.proc is not None
    pid = bot.proc.pid
    baseline = family_rss_mb(pid)
    peak = baseline
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, family_rss_mb(pid))
            await asyncio.sleep(SAMPLE_SECONDS)

    sampler = asyncio.create_task(sample())
    senders = [telegram.user(user_id=first_id + i) for i in range(4)]
    bystander = telegram.user(user_id=first_id + 10)
    started = time.monotonic()
    await asyncio.gather(
        *(user.send_document(data, f"{name}.png", "image/png") for user in senders), bystander.send_text("/start")
    )
    greeting = await bystander.next_message("Send me a photo", timeout=WAIT)
    start_answer = greeting.arrived_at - started
    answers = [await user.next_message(timeout=WAIT) for user in senders]
    all_answered = time.monotonic() - started
    done.set()
    await sampler
    return {
        "name": name,
        "bytes": len(data),
        "added": peak - baseline,
        "baseline": baseline,
        "start_answer": start_answer,
        "all_answered": all_answered,
        "told": sorted({a.text.split("\n")[0][:60] for a in answers}),
    }


async def disk_run(telegram: FakeTelegram, media: Path, user_id: int) -> dict[str, Any]:
    photo = portrait_jpeg(4000, 3000)
    user = telegram.user(user_id=user_id)
    before = set((media / "inputs").iterdir())
    for _ in range(30):
        await user.send_document(photo, "photo.jpg", "image/jpeg")
        await user.next_message("What would you like", timeout=WAIT)
    stored = [p for p in (media / "inputs").iterdir() if p not in before]
    return {"sent": 30 * len(photo), "files": len(stored), "stored": sum(p.stat().st_size for p in stored)}


async def main() -> None:
    telegram = FakeTelegram()
    await telegram.start()
    files = [
        ("7070x7070 RGBA PNG", rgba_png(7070)),
        ("5790x5790 RGBA PNG", rgba_png(5790)),
        ("50 MP JPEG", portrait_jpeg(8160, 6120, quality=85)),
        ("300x300 TIFF, EXIF of 2 million values", exif_of_millions_tiff((300, 300))),
        ("200x200 TIFF, 40960x40960 tiles", huge_tiles_tiff()),
        ("9000x9000 progressive JPEG", flat(9000, "JPEG", progressive=True, subsampling=0, quality=90)),
        ("5600x5600 WebP", flat(5600, "WEBP", quality=50)),
    ]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="photobot-hostile-") as tmp:
        directory = Path(tmp)
        bot = BotProcess(write_config(directory, telegram), directory / "bot.log")
        await bot.start(telegram)
        try:
            for index, (name, data) in enumerate(files):
                results.append(await memory_run(telegram, bot, name, data, 1000 * (index + 1)))
            disk = await disk_run(telegram, directory / "media", 9000)
        finally:
            await bot.stop()
    await telegram.stop()
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, CPython {platform.python_version()}\n")
    print(
        "| four users at once send | file | added to the bot's processes at the peak | "
        "another user's /start answered | all four answered | what they were told |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['name']} | {r['bytes'] / 1024:.0f} kB | {r['added']:.0f} MB (from {r['baseline']:.0f} MB) | "
            f"{r['start_answer'] * 1000:.0f} ms | {r['all_answered']:.1f} s | {'; '.join(r['told'])} |"
        )
    print(
        f"\nOne user sent 30 photos of 4000×3000 ({disk['sent'] / 1e6:.0f} MB) without ordering: "
        f"{disk['files']} file of {disk['stored'] / 1e6:.1f} MB stayed on disk."
    )


if __name__ == "__main__":
    asyncio.run(main())
