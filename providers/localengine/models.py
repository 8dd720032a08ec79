"""Loading the shipped models once, lazily, and running them one call at a time."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from providers.localengine.arrays import Array
from providers.localengine.files import u2net_path, u2netp_path

U2NET_SIZE = 320
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_lock = threading.Lock()


@lru_cache(maxsize=2)
def _face_detector(model_selection: int) -> Any:
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=model_selection, min_detection_confidence=0.5)


@lru_cache(maxsize=1)
def _face_mesh() -> Any:
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
    )


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False  # about half the peak memory, at no measurable cost
    # No buffers planned ahead for the whole graph: the full U²-Net's peak falls from 790 to 650 MB,
    # at the same speed (docs/benchmarks.md).
    options.enable_mem_pattern = False
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=2)
def _segmenter(full: bool) -> Any:
    """U²-Net-p, or the full U²-Net (None where ``photobot models`` has not installed it)."""
    if full:
        path = u2net_path()
        return _session(path) if path is not None else None
    light = u2netp_path()
    if light is None:
        raise RuntimeError("u2netp.onnx not found: install the photobot[local] extra")
    return _session(light)


def detect_faces(rgb: Array, model_selection: int) -> list[Any]:
    """MediaPipe detections (relative boxes and keypoints) for an RGB uint8 image."""
    with _lock:
        result = _face_detector(model_selection).process(rgb)
    return list(result.detections or [])


def mesh_landmarks(rgb: Array) -> Array | None:
    """Face Mesh's 478 landmarks (with irises) of the main face as an (478, 3) array of shares of
    the image's width and height (z on the scale of x), or None."""
    with _lock:
        result = _face_mesh().process(rgb)
    if not result.multi_face_landmarks:
        return None
    return np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)


def segment_person(rgb: Array, *, full: bool = False) -> Array | None:
    """Where the person is in an RGB uint8 image, by U²-Net-p or (``full``) the full U²-Net: float32
    0..1 at the image's size; None for the full model where it is not installed."""
    import cv2

    session = _segmenter(full)
    if session is None:
        return None
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (U2NET_SIZE, U2NET_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = (small / max(float(small.max()), 1.0) - _MEAN) / _STD
    tensor = small.transpose(2, 0, 1)[None].astype(np.float32)
    with _lock:
        output = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
    low, high = float(output.min()), float(output.max())
    mask = (output - low) / (high - low) if high > low else np.zeros_like(output)
    resized: Array = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return resized
