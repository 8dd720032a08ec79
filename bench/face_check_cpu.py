"""Benchmark: the CPU time of the face check before charging, and of measuring a finished ID photo.

Issue 26 asks that the face check (``faces.inspect_face``: everything the bot checks before an
order is charged) costs at most 10 ms of CPU for a phone photo, and that a provider's result is
measured once, and only for what its caption and checklist need (what the engine's worker does
when the job runner collects a PicWish photo: ``measure.report_of`` for a preview, whose caption
shows the checklist, ``measure.placement_of`` for a bought photo). Photos:

- a phone photo as a file: Angelina Jolie's portrait of the real-photo benchmark
  (``deepface-img1.jpg``, 1382x1868) enlarged to 2983x4032 (12 megapixels), JPEG quality 90 (1.6 MB);
- the same as Telegram sends a photo: 947x1280, quality 87 (188 KB);
- a finished 413x531 ID photo (spec 3110) made of the latter by the local engine, measured as a
  PicWish preview and as a bought PicWish photo are.

CPU time is ``time.process_time`` per call, the median of --runs calls after a first one, in one
process. With ``--against REV`` the engine of that git revision (checked out in a temporary
worktree) runs in a second process, and the two take turns, a few calls each, so that both see
the same machine. ``--profile`` adds where a call's CPU time goes (cProfile with a CPU-time clock;
it adds its own overhead to every Python call, so the parts add up to more than the call).

    python bench/face_check_cpu.py [--runs 40] [--against REV] [--profile]

Not a test: it prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: (label, what is measured) in the order printed.
CASES = {
    "telegram": "a phone photo as Telegram sends it (947×1280 JPEG, 188 KB): `inspect_face`",
    "file": "a phone photo as a file (2983×4032 JPEG, 1.6 MB): `inspect_face`",
    "report": "a finished 413×531 ID photo measured as a preview (with its checklist)",
    "placement": "the same measured as a bought photo (for its caption)",
}
#: Where the profile's time is reported: (module, function) -> the stage it stands for, in the
#: order printed; the "of which" rows are parts of the stages above them. A stage a revision lacks, or a
#: case does not reach, is left out of its breakdown.
STAGES = {
    ("faces", "decode"): "decode (JPEG to an RGB array)",
    ("faces", "find_face"): "find_face: BlazeFace on the whole photo (full-range where no portrait: e45275f)",
    ("models", "mesh_landmarks"): "Face Mesh: its square, the landmark model (before e45275f: a detection first)",
    ("office", "cheeks"): "office.cheeks (the light on both sides, the mouth's inside)",
    # Before office.cheeks (for --against an older revision).
    ("office", "light_difference"): "office.light_difference",
    ("office", "burnt_out"): "office.burnt_out",
    ("office", "glasses_bridge"): "office.glasses_bridge",
    ("office", "head_contrast"): "office.head_contrast",
    ("hair", "hair_over_eyes"): "hair.hair_over_eyes",
    ("faces", "sharpness_and_light"): "sharpness and light",
    ("tflite", "run"): "of which: the models' runs (LiteRT, and Face Mesh's operations in NumPy)",
    ("resample", "warp_perspective"): "of which: the exact warps that feed the models (the mesh's too before e45275f)",
    ("resample", "turned_crop"): "of which: the mesh's square (Pillow, from e45275f)",
    # Before the resampling left imageops.py (for --against an older revision).
    ("imageops", "warp_perspective"): "of which: the warps that feed the models (letterboxes, the mesh's square)",
    ("blazeface", "detect"): "of which: BlazeFace's detections (letterbox, model, boxes)",
}
#: The real-photo benchmark's spec (Universal Visa, 35x45 mm) and background.
SPEC_ID = 3110
BACKGROUND = "438EDB"


def photos() -> dict[str, bytes]:
    """The two phone photos, made from the real-photo benchmark's portrait (fetched if missing)."""
    from PIL import Image

    from bench.real_photos import PHOTOS, path

    source = next(photo for photo in PHOTOS if photo.name == "deepface-img1.jpg")
    with Image.open(path(source)) as img:
        rgb = img.convert("RGB")
    made = {}
    for name, size, quality in (("file", (2983, 4032), 90), ("telegram", (947, 1280), 87)):
        out = io.BytesIO()
        rgb.resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=quality)
        made[name] = out.getvalue()
    return made


def calls() -> dict[str, Callable[[], object]]:
    """Each case as a call of the engine first on sys.path (this checkout's, or a child's tree's)."""
    from providers.localengine import worker
    from providers.localengine.faces import inspect_face
    from providers.localengine.pipeline import render_id_photo
    from providers.specs import load_catalog

    made = photos()
    spec = load_catalog().get(SPEC_ID)
    assert spec is not None
    finished = render_id_photo(
        made["telegram"], size=spec.px, dpi=spec.dpi, bg_color=BACKGROUND, rule=spec.rule.rule_id
    )
    colour, rule, mm = BACKGROUND, finished.rule, (float(spec.mm[0]), float(spec.mm[1]))

    def as_picwish(checklist: bool) -> Callable[[], object]:
        """What the engine's worker does with a PicWish photo: before the caption's needs were told
        apart, it measured every photo with its checklist."""
        if "checklist" in inspect.signature(worker._report).parameters:
            return lambda: worker._report(finished.data, colour, rule, mm, checklist)
        return lambda: worker._report(finished.data, colour, rule, mm)  # type: ignore[call-arg]

    return {
        "telegram": lambda: inspect_face(made["telegram"]),
        "file": lambda: inspect_face(made["file"]),
        "report": as_picwish(True),
        "placement": as_picwish(False),
    }


def serve() -> None:
    """A child: reads ``<case> <n>`` lines, answers each with the CPU seconds of n calls (JSON)."""
    cases = calls()
    for call in cases.values():
        call()  # the first call loads the models
    print("ready", flush=True)
    for line in sys.stdin:
        case, n = line.split()
        times = []
        for _ in range(int(n)):
            start = time.process_time()
            cases[case]()
            times.append(time.process_time() - start)
        print(json.dumps(times), flush=True)


def profile(runs: int) -> None:
    """A child: the breakdown of each case as JSON, stage -> CPU milliseconds per call."""
    cases = calls()
    result = {}
    for case, call in cases.items():
        call()
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(runs):
            call()
        profiler.disable()
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        stages: dict[str, float] = {}
        for (filename, _line, function), (_calls, _primitive, _own, total, _callers) in stats.items():
            stage = STAGES.get((Path(filename).stem, function))
            if stage is not None:
                stages[stage] = stages.get(stage, 0.0) + total / runs * 1000
        start = time.process_time()
        for _ in range(runs):
            call()
        stages["whole call, not profiled"] = (time.process_time() - start) / runs * 1000
        result[case] = stages
    print(json.dumps(result))


def _env() -> dict[str, str]:
    """The photos the children cache come from here."""
    return {**os.environ, "PHOTOBOT_SAMPLES": os.environ.get("PHOTOBOT_SAMPLES", str(ROOT / ".samples"))}


class Child:
    """The engine of one source tree in a process of its own."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--tree", str(tree)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert self.process.stdout is not None
        while (line := self.process.stdout.readline()) and line.strip() != "ready":
            pass
        if not line:
            raise RuntimeError(f"the engine of {tree} did not start")

    def measure(self, case: str, n: int) -> list[float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{case} {n}\n")
        self.process.stdin.flush()
        times: list[float] = json.loads(self.process.stdout.readline())
        return times

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()

    def profile(self, runs: int) -> dict[str, dict[str, float]]:
        out = subprocess.run(
            [sys.executable, __file__, "--profile-child", str(runs), "--tree", str(self.tree)],
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
        )
        stages: dict[str, dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
        return stages


def _worktree(revision: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="photobot-bench-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), revision], cwd=ROOT, check=True, capture_output=True
    )
    return folder


def _ms(times: list[float]) -> str:
    ordered = sorted(times)
    low, high = ordered[len(ordered) // 10], ordered[(9 * len(ordered)) // 10]
    return f"{statistics.median(times) * 1000:.1f} ms ({low * 1000:.1f}–{high * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="calls per case and engine")
    parser.add_argument("--against", metavar="REV", help="also measure this git revision's engine, in turn")
    parser.add_argument("--profile", action="store_true", help="also print where the time goes")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, args.tree)  # a child: the engine of that tree, this script's photos
    if args.serve:
        serve()
        return
    if args.profile_child:
        profile(args.profile_child)
        return
    trees = {"this checkout": ROOT}
    if args.against:
        trees = {args.against: _worktree(args.against), **trees}
    children = {label: Child(tree) for label, tree in trees.items()}
    try:
        times: dict[tuple[str, str], list[float]] = {}
        turn = 5
        for case in CASES:
            for _ in range(0, args.runs, turn):
                for label, child in children.items():
                    times.setdefault((label, case), []).extend(child.measure(case, turn))
        print("CPU per call, median (10th–90th percentile):\n")
        print("| case | " + " | ".join(children) + " |")
        print("|---|" + "---|" * len(children))
        for case, title in CASES.items():
            print(f"| {title} | " + " | ".join(_ms(times[label, case]) for label in children) + " |")
        if args.profile:
            breakdowns = {label: child.profile(args.runs) for label, child in children.items()}
            for case, title in CASES.items():
                print(f"\nWhere the time of {title} goes (ms per call, cProfile):\n")
                print("| stage | " + " | ".join(children) + " |")
                print("|---|" + "---|" * len(children))
                for stage in [*dict.fromkeys([*STAGES.values(), "whole call, not profiled"])]:
                    row = [breakdowns[label][case].get(stage) for label in children]
                    if any(value is not None for value in row):
                        cells = " | ".join("–" if value is None else f"{value:.1f}" for value in row)
                        print(f"| {stage} | {cells} |")
    finally:
        for child in children.values():
            child.close()
        for tree in trees.values():
            if tree != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
