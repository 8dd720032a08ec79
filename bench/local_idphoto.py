"""Benchmark of the local ID-photo engine: time and peak memory per photo, cold and warm.

A photo is what the bot does with one: the face check (``inspect_face``), then the ID photo.
Cold: a fresh Python process imports the engine, loads the models and makes one photo.
Warm: in one process, after a first photo, the median of --runs photos.
Sample pictures ship in packages: scikit-image's public-domain astronaut (512x512), also
enlarged to 2048x2048 to stand for a phone photo, and Obama's official portrait in front of
flags (face_recognition's source package, tests/sample_photos.py).

    python bench/local_idphoto.py [--runs 10] [--against REV]

With ``--against REV`` the engine of that git revision (checked out in a temporary worktree) is
measured in the same run, each measurement of it right before the same one of this checkout, so
both see the same machine. Prints a Markdown table (for docs/benchmarks.md). Not a test: nothing
is asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = {"size": (413, 531), "dpi": 300, "bg_color": "438EDB"}
ROOT = Path(__file__).resolve().parents[1]


def sample(side: int) -> bytes:
    from PIL import Image
    from skimage import data

    if side == 0:
        from tests.sample_photos import photo

        return photo("obama.jpg")
    out = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS).save(out, "JPEG", quality=92)
    return out.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB


def _as_the_worker_runs() -> None:
    """The process as the bot's engine worker sets it up: freed memory kept for reuse. (A revision
    from before that setting, measured with --against, has no such function.)"""
    from providers.localengine import models

    getattr(models, "reuse_freed_memory", lambda: None)()


def cold(side: int) -> dict[str, float]:
    """One photo in this (fresh) process, imports and model loading included."""
    photo = sample(side)
    start = time.perf_counter()
    from providers.localengine import inspect_face, make_id_photo

    _as_the_worker_runs()
    inspect_face(photo)
    make_id_photo(photo, **SPEC)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def warm(side: int, runs: int) -> dict[str, float]:
    from providers.localengine import inspect_face, make_id_photo

    _as_the_worker_runs()
    photo = sample(side)
    inspect_face(photo)
    make_id_photo(photo, **SPEC)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        inspect_face(photo)
        make_id_photo(photo, **SPEC)
        times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "p90": sorted(times)[int(0.9 * (len(times) - 1))],
        "peak_rss_mb": peak_rss_mb(),
    }


def _worktree(revision: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="photobot-bench-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), revision], cwd=ROOT, check=True, capture_output=True
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--against", metavar="REV", help="also measure this git revision's engine, in turn")
    parser.add_argument("--child", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, default=512, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = cold(args.side) if args.child == "cold" else warm(args.side, args.runs)
        print(json.dumps(result))
        return
    trees = {"this checkout": ROOT}
    if args.against:
        trees = {args.against: _worktree(args.against), **trees}

    def child(kind: str, side: int, tree: Path) -> dict[str, float]:
        # The engine is imported from ``tree``; this script and the sample photos from here.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--side", str(side), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"output {SPEC['size'][0]}x{SPEC['size'][1]} px, face check and ID photo, {args.runs} warm runs\n"
    )
    print("| engine | input | cold: first photo incl. loading | warm: median (p90) per photo | peak RSS cold / warm |")
    print("|---|---|---|---|---|")
    try:
        for side, name in ((512, "astronaut 512x512"), (2048, "astronaut 2048x2048"), (0, "obama.jpg")):
            for label, tree in trees.items():
                c, w = child("cold", side, tree), child("warm", side, tree)
                print(
                    f"| {label} | {name} | {c['seconds']:.2f} s | {w['seconds']:.2f} s ({w['p90']:.2f} s) "
                    f"| {c['peak_rss_mb']:.0f} MB / {w['peak_rss_mb']:.0f} MB |",
                    flush=True,
                )
    finally:
        for tree in trees.values():
            if tree != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
