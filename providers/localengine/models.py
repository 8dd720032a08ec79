"""Loading the shipped models once, lazily, and running them one call at a time."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from providers import heap
from providers.localengine import blazeface, facemesh, hands, optimised, parts, resample
from providers.localengine.arrays import Array
from providers.localengine.files import (
    FACE_DETECTOR_FILES,
    FACE_MESH_FILE,
    HAND_FILE,
    PALM_FILE,
    hand_models_present,
    tflite_path,
    u2net_path,
    u2netp_path,
)
from providers.localengine.tflite import TfliteModel

U2NET_SIZE = 320
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
#: One inference at a time (each uses both cores); and one builder of each cut-out model's session,
#: apart, so that the full U²-Net's (0.2-0.5 s) does not hold up U²-Net-p's first run.
_run_lock = threading.Lock()
_build_locks = {False: threading.Lock(), True: threading.Lock()}


#: Scores a detection needs, by model_selection, as in MediaPipe's FaceDetection(min_detection_confidence=0.5):
#: its full-range graph keeps its own 0.6 whatever that option says (measured: the same detections
#: and boxes within 0.001 pixels only with 0.6). FaceMesh's own detection threshold is 0.3.
MIN_DETECTION = (0.5, 0.6)
MIN_MESH_DETECTION = 0.3
_SPECS = (blazeface.SHORT_RANGE, blazeface.FULL_RANGE)


@lru_cache(maxsize=5)
def _tflite(name: str) -> TfliteModel:
    return TfliteModel(parts.plan_of(tflite_path(name)))


def _options(optimised_already: bool) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False  # about half the peak memory, at no measurable cost
    # No buffers planned ahead for the whole graph: the full U²-Net's peak falls from 790 to 650 MB,
    # at the same speed (docs/benchmarks.md).
    options.enable_mem_pattern = False
    options.intra_op_num_threads = 2
    # Its warning that an optimised copy suits this processor only: optimised.py names copies so.
    options.log_severity_level = 3
    if optimised_already:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return options


def _session(path: Path) -> Any:
    return optimised.session(path, _options)


@lru_cache(maxsize=2)
def _segmenter(full: bool) -> Any:
    """U²-Net-p, or the full U²-Net (None where ``photobot models`` has not installed it)."""
    if full:
        path = u2net_path()
        return _session(path) if path is not None else None
    light = u2netp_path()
    if light is None:
        raise RuntimeError("u2netp.onnx not found: run `photobot models`")
    return _session(light)


def _built(full: bool) -> Any:
    with _build_locks[full]:
        return _segmenter(full)


def detect_faces(rgb: Array, model_selection: int) -> list[blazeface.Detection]:
    """BlazeFace's detections (boxes and keypoints as shares of the image) in an RGB uint8 image,
    best first: ``model_selection`` 0 the short-range model, 1 the full-range one."""
    model = _tflite(FACE_DETECTOR_FILES[model_selection])
    return blazeface.detect(model, _SPECS[model_selection], rgb, MIN_DETECTION[model_selection])


def mesh_landmarks(rgb: Array, seen: blazeface.Detection | None = None, *, quick: bool = False) -> Array | None:
    """Face Mesh's 478 landmarks (with irises) of the main face as an (478, 3) array of shares of
    the image's width and height (z on the scale of x), or None: of the face the short-range
    detector finds in ``rgb``, or of the one it found already (``seen``, shares of the image).
    ``quick``: the mesh's square cut out by Pillow (facemesh.landmarks_at)."""
    mesh = _tflite(FACE_MESH_FILE)
    if seen is not None:
        return facemesh.landmarks_at(mesh, rgb, seen, quick=quick)
    return facemesh.landmarks(_tflite(FACE_DETECTOR_FILES[0]), mesh, rgb, MIN_MESH_DETECTION, quick=quick)


def hand_gap(rgb: Array, face: hands.Box) -> float | None:
    """How far (face widths) the nearest hand is from the ``face`` box (x0, y0, x1, y1, pixels) of
    an RGB uint8 image, or None where no hand is near it (hands.hand_gap)."""
    return hands.hand_gap(_tflite(PALM_FILE), _tflite(HAND_FILE), rgb, face)


def sure_face(rgb: Array, seen: blazeface.Detection | None = None) -> tuple[float, float] | None:
    """Of the best face the short-range detector finds in an RGB uint8 image (or has found already:
    ``seen``): its score, and how sure Face Mesh is of a face in its region (facemesh.face_flag);
    None where it finds none."""
    best = seen or next(iter(detect_faces(rgb, 0)), None)
    return None if best is None else (best.score, facemesh.face_flag(_tflite(FACE_MESH_FILE), rgb, best))


def u2net_input(rgb: Array) -> Array:
    """What both U²-Nets read of an RGB uint8 image: 320x320, scaled to 0..1 by its brightest value,
    normalised as in training, channels first."""
    small = resample.reduce_box(rgb, (U2NET_SIZE, U2NET_SIZE)).astype(np.float32)
    small = (small / max(float(small.max()), 1.0) - _MEAN) / _STD
    tensor: Array = small.transpose(2, 0, 1)[None].astype(np.float32)
    return tensor


def segment_person(rgb: Array, *, full: bool = False, tensor: Array | None = None) -> Array | None:
    """Where the person is in an RGB uint8 image, by U²-Net-p or (``full``) the full U²-Net: float32
    0..1 at the image's size; None for the full model where it is not installed. ``tensor``: the
    image's :func:`u2net_input`, where the caller has it already."""
    session = _built(full)
    if session is None:
        return None
    height, width = rgb.shape[:2]
    tensor = u2net_input(rgb) if tensor is None else tensor
    with _run_lock:
        output = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
    low, high = float(output.min()), float(output.max())
    mask = (output - low) / (high - low) if high > low else np.zeros_like(output)
    return resample.resize_linear(mask, (width, height))


def warm_faces() -> None:
    """Load the face models and run each once, so that the first check pays for neither."""
    grey = np.full((U2NET_SIZE, U2NET_SIZE, 3), 128, dtype=np.uint8)
    detect_faces(grey, 0)
    detect_faces(grey, 1)
    _tflite(FACE_MESH_FILE).run(np.full((1, facemesh.SIZE, facemesh.SIZE, 3), 0.5, dtype=np.float32))


def warm_cutout() -> None:
    """Load the cut-out models and run U²-Net-p once (grey, not black: zeros make denormal numbers,
    which slow the network a hundredfold); the full U²-Net, which only backgrounds that are not
    plain walls need, is loaded but not run (a run costs 0.3 s of wall time on two cores in 8 bits,
    0.7 s in float16); the hand models, which every ID photo runs, are loaded."""
    segment_person(np.full((U2NET_SIZE, U2NET_SIZE, 3), 128, dtype=np.uint8))
    _built(True)
    _load_hands()
    release_freed_memory()


def _load_hands() -> None:
    """The palm detector and the hand landmark model, loaded (about 0.05 s), where installed."""
    if not hand_models_present():
        return
    _tflite(PALM_FILE)
    _tflite(HAND_FILE)


def build_cutout_soon() -> threading.Thread:
    """Start building both cut-out models' sessions in a thread, for a process about to make one
    photo (``photobot idphoto``): onnxruntime lets go of Python's lock while it builds, so the
    builds overlap the photo's decode and face check instead of following them. Not a daemon: the
    process waits for the builds before it ends, since onnxruntime aborts the process if it ends
    while a session is being built. The caller joins the thread before it returns (a Ctrl-C in that
    join reaches the caller; in the interpreter's own wait at exit it led to that abort)."""
    builder = threading.Thread(target=_build_cutout, name="build-cutout")
    builder.start()
    return builder


def _build_cutout() -> None:
    # The full U²-Net first: it takes longer than U²-Net-p to build and is needed after it. (Not
    # the hand models: LiteRT's note on loading them would reach the terminal after a refusal.)
    try:
        _built(True)
        _built(False)
    except Exception:  # noqa: BLE001 - the photo's own call builds it again and reports the error
        return


#: Freed blocks up to this size stay in the process for the next allocation (see reuse_freed_memory).
KEEP_FREED_BYTES = 64 * 2**20


def reuse_freed_memory() -> bool:
    """Keep freed blocks of up to ``KEEP_FREED_BYTES`` in the heap instead of handing them back to the
    system (whether glibc took it: see heap.map_from). glibc unmaps a freed block from 128 KB up (a
    little more once it has seen such blocks freed), and onnxruntime, without its arena, allocates
    every layer's output anew: each U²-Net run faulted its memory in again, page by page. A cold
    `photobot idphoto` behind a busy background: 0.52 to 0.38 s of system time, 1.53 to 1.44 s in
    all, at 26 MB more at its peak."""
    return heap.map_from(KEEP_FREED_BYTES, trim_from=2 * KEEP_FREED_BYTES)


def release_freed_memory() -> None:
    """Give back to the system what the process freed and glibc keeps: after the full U²-Net's build
    (the model as read, then laid out again for its convolutions: about 250 MB for the form stored in
    float16; the engine's worker warms the cut-out models in a thread, whose heap nothing else uses,
    so the worker then held 540 MB instead of 300 MB after warming, and peaked at 910 MB instead of
    680 MB on its first busy-background photo), and once a worker is idle after its photos (see
    worker.IDLE_TRIM_SECONDS). 10 ms; glibc only."""
    heap.give_back()
