"""Benchmark of the local ID-photo engine: time and peak memory per photo, cold and warm.

Cold: a fresh Python process imports the engine, loads the models and makes one photo.
Warm: in one process, after a first photo, the median of --runs photos.
Sample pictures ship in a package: scikit-image's public-domain astronaut (512x512), also
enlarged to 2048x2048 to stand for a phone photo.

    python bench/local_idphoto.py [--runs 10]

Prints a Markdown table (for docs/benchmarks.md). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

SPEC = {"size": (413, 531), "dpi": 300, "bg_color": "438EDB"}


def sample(side: int) -> bytes:
    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS).save(out, "JPEG", quality=92)
    return out.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB


def cold(side: int) -> dict[str, float]:
    """One photo in this (fresh) process, imports and model loading included."""
    photo = sample(side)
    start = time.perf_counter()
    from providers.localengine import make_id_photo

    make_id_photo(photo, **SPEC)
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": peak_rss_mb()}


def warm(side: int, runs: int) -> dict[str, float]:
    from providers.localengine import make_id_photo

    photo = sample(side)
    make_id_photo(photo, **SPEC)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        make_id_photo(photo, **SPEC)
        times.append(time.perf_counter() - start)
    return {
        "seconds": statistics.median(times),
        "p90": sorted(times)[int(0.9 * (len(times) - 1))],
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--child", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, default=512, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = cold(args.side) if args.child == "cold" else warm(args.side, args.runs)
        print(json.dumps(result))
        return

    def child(kind: str, side: int) -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--side", str(side), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(
        f"Machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
        f"output {SPEC['size'][0]}x{SPEC['size'][1]} px, {args.runs} warm runs\n"
    )
    print("| input | cold: first photo incl. loading | warm: median (p90) per photo | peak RSS cold / warm |")
    print("|---|---|---|---|")
    for side in (512, 2048):
        c, w = child("cold", side), child("warm", side)
        print(
            f"| astronaut {side}x{side} | {c['seconds']:.2f} s | {w['seconds']:.2f} s ({w['p90']:.2f} s) "
            f"| {c['peak_rss_mb']:.0f} MB / {w['peak_rss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()
