"""Measuring a finished ID photo with a landmark model independent of the engine's.

The engine places heads with MediaPipe (BlazeFace, Face Mesh, U²-Net). This measures the result
with dlib's 68-point shape predictor (a regression-tree model trained on iBUG 300-W, shipped in
the ``face-recognition-models`` package) behind dlib's HOG face detector:

- chin: point 8; eye centres: the mean of points 36-41 and 42-47; roll: the line between them;
- face width: points 0 and 16, where the jaw line meets the ears;
- top of the hair: the first row, over the middle of the face, that is not the background colour
  (the background is known: the engine filled it);
- crown without hair: no landmark model finds the skull under the hair. It is estimated by the
  anthropometric rule that in adults the eyes sit halfway between chin and crown (vertex), i.e.
  the crown is as far above the eye line as the chin is below it.

Clean edges are measured with a third model, MediaPipe's selfie segmentation, which the engine
does not cut out with (:func:`cutout`):

- leftovers: pixels that are not the background colour yet lie outside the person (widened by a
  sixtieth of the width, and by the ears, where earrings hang that the model leaves out);
- missing: pixels well inside the person that are the background colour (a lost shoulder);
- halo: in the top half, the ring of pixels between the hair and the background whose colour is
  neither the hair's next to it, nor the background's, nor a mix of the two (a fringe of the old
  background's colour); the ears are left out (a lit rim of an ear is skin), and the face inside
  its jaw line and brows (the whites of the eyes are a white background's colour).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from providers.placement import FaceMeasures, measured_shares

#: A pixel this far (max over channels) from the background colour is not background.
BACKGROUND_DISTANCE = 40
#: A second face of at least this share of the largest one's area makes a photo of several faces;
#: a smaller one is a false detection (dlib finds faces in curls and patterns).
SECOND_FACE_SHARE = 0.25


@dataclass(frozen=True)
class Measured:
    shares: dict[str, float]
    roll: float


@lru_cache(maxsize=1)
def _dlib() -> tuple[Any, Any]:
    import dlib
    import face_recognition_models

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(
        face_recognition_models.pose_predictor_model_location()
    )


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def _background(colour: str) -> np.ndarray:
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def measure(data: bytes, bg_color: str) -> Measured:
    """Where the head is in a finished ID photo on a solid ``bg_color`` background."""
    rgb = _rgb(data)
    height, width = rgb.shape[:2]
    detector, predictor = _dlib()
    found = list(detector(rgb, 1))
    # dlib's detector also sees small faces in curls and shirt patterns (a fresh real photo's 1109
    # photo crashed the benchmark): the ID photo's face is the large one, and a second of a
    # similar size is a second face.
    largest = max((face.area() for face in found), default=0)
    faces = [face for face in found if face.area() >= SECOND_FACE_SHARE * largest]
    if len(faces) != 1:
        raise AssertionError(f"dlib finds {len(faces)} faces in the ID photo")
    shape = predictor(rgb, faces[0])
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
    eye = (left + right) / 2
    chin = float(points[8][1])
    face_width = float(np.linalg.norm(points[16] - points[0]))
    distance = np.abs(rgb.astype(np.float32) - _background(bg_color)).max(axis=2)
    columns = slice(int(max(0, eye[0] - 0.3 * face_width)), int(min(width, eye[0] + 0.3 * face_width)))
    rows = np.nonzero((distance[:, columns] > BACKGROUND_DISTANCE).any(axis=1))[0]
    hair = float(rows[0]) if len(rows) else 0.0
    crown = eye[1] - (chin - eye[1])
    face = FaceMeasures(
        eye_x=float(eye[0]), eye_y=float(eye[1]), chin=chin, crown=crown, hair=min(hair, crown), face_width=face_width
    )
    roll = math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))
    return Measured(shares=measured_shares(face, (width, height)), roll=roll)


@dataclass(frozen=True)
class CutOut:
    """Shares of the photo: left of the old background, lost of the person; and the share of the
    hair's edge that has a halo."""

    leftover: float
    missing: float
    halo: float
    #: Where the leftovers, the missing parts and the halo are (HxW bool each), for pictures.
    marks: tuple[np.ndarray, np.ndarray, np.ndarray]


def _disc(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _ears_and_face(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ears' surroundings down past the chin (earrings hang there), from the eye line and from
    the brows (where the ears begin), and the face inside its jaw line and brows, as three masks;
    dlib runs once for all."""
    import cv2

    height, width = rgb.shape[:2]
    below_eyes, below_brows = np.zeros((height, width), bool), np.zeros((height, width), bool)
    face = np.zeros((height, width), np.uint8)
    detector, predictor = _dlib()
    faces = detector(rgb, 1)
    if not faces:
        return below_eyes, below_brows, face.astype(bool)
    points = np.array([(p.x, p.y) for p in predictor(rgb, faces[0]).parts()], dtype=np.float64)
    cv2.fillConvexPoly(face, cv2.convexHull(points[:27].round().astype(np.int32)), 1)
    face_width = points[16, 0] - points[0, 0]
    bottom = int(min(height, points[8, 1] + 0.1 * face_width))
    for mask, top in ((below_eyes, points[36:48, 1].mean()), (below_brows, points[17:27, 1].min())):
        for side, outwards in ((points[0, 0], -1), (points[16, 0], 1)):
            x0, x1 = sorted((side - outwards * 0.05 * face_width, side + outwards * 0.15 * face_width))
            mask[int(max(0, top)) : bottom, int(max(0, x0)) : int(min(width, x1))] = True
    return below_eyes, below_brows, face.astype(bool)


def _halo(rgb: np.ndarray, background: np.ndarray, ears: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, int]:
    """The ring's pixels off the line between the hair's colour and the background's, and how many
    were judged. The ears (``ears``) are left out: a lit rim of an ear is skin, not a fringe; so is
    the face (``face``): on a white background the whites of the eyes are the background's colour,
    and the irises around them were judged a fringe."""
    import cv2

    height, width = rgb.shape[:2]
    pixels = rgb.astype(np.float32)
    distance = np.abs(pixels - background).max(axis=2)
    plain = distance <= 12
    radius = max(2, round(width / 150))
    near_plain = cv2.dilate(plain.astype(np.uint8), _disc(radius)).astype(bool)
    solid = (distance > BACKGROUND_DISTANCE) & ~cv2.dilate(near_plain.astype(np.uint8), _disc(radius)).astype(bool)
    ring = ~plain & near_plain
    ring[height // 2 :] = False
    ring &= ~ears & ~face
    window = (4 * radius + 1, 4 * radius + 1)
    weight = cv2.blur(solid.astype(np.float32), window)
    inside = cv2.blur(pixels * solid[..., None], window) / np.maximum(weight, 1e-6)[..., None]
    judged = ring & (weight > 0.05)
    towards = background - inside
    share = np.clip(((pixels - inside) * towards).sum(axis=2) / np.maximum((towards * towards).sum(axis=2), 1e-6), 0, 1)
    off_line = np.abs(pixels - (inside + share[..., None] * towards)).max(axis=2) > BACKGROUND_DISTANCE
    return judged & off_line, int(judged.sum())


def cutout(data: bytes, bg_color: str) -> CutOut:
    """How clean the cut-out of an ID photo on a solid ``bg_color`` is (see the module's words)."""
    import cv2

    rgb = _rgb(data)
    width = rgb.shape[1]
    background = _background(bg_color)
    seen = _person(rgb)
    radius = max(2, round(width / 60))
    below_eyes, ears, face = _ears_and_face(rgb)
    person = cv2.dilate(seen.astype(np.uint8), _disc(radius)).astype(bool) | below_eyes
    distance = np.abs(rgb.astype(np.float32) - background).max(axis=2)
    leftover = (distance > BACKGROUND_DISTANCE) & ~person
    core = cv2.erode(seen.astype(np.uint8), _disc(radius)).astype(bool)
    missing = core & (distance <= 25)
    halo, judged = _halo(rgb, background, ears, face)
    return CutOut(
        leftover=float(leftover.mean()),
        missing=float(missing.mean()),
        halo=float(halo.sum()) / max(judged, 1),
        marks=(leftover, missing, halo),
    )


@lru_cache(maxsize=1)
def _selfie_model() -> Any:
    from providers.localengine.files import tflite_path
    from providers.localengine.install import SELFIE_FILE
    from providers.localengine.tflite import TfliteModel

    return TfliteModel.of(tflite_path(SELFIE_FILE).read_bytes())


def _person(rgb: np.ndarray) -> np.ndarray:
    """Where MediaPipe's selfie segmentation (general model, 256x256) sees a person, as its
    SelfieSegmentationCpu graph computes the mask (the whole photo stretched to the model's square,
    the mask stretched back bilinearly), run with LiteRT; not a model the engine cuts out with."""
    import cv2

    from providers.localengine.blazeface import crop

    height, width = rgb.shape[:2]
    square = crop(rgb, (width / 2, height / 2), (width, height), 0.0, 256, zero=True)
    (mask,) = _selfie_model().run((square.astype(np.float32) / np.float32(255))[None])
    return cv2.resize(mask.reshape(256, 256), (width, height)) > 0.5


def stray_share(data: bytes, bg_color: str) -> float:
    """Share of the top half of the photo that is not background and not the person (remnants of
    the old background beside the head)."""
    import cv2

    rgb = _rgb(data)
    height, width = rgb.shape[:2]
    person = _person(rgb)
    radius = max(2, round(0.03 * width))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    person = cv2.dilate(person.astype(np.uint8), kernel).astype(bool)
    foreign = np.abs(rgb.astype(np.float32) - _background(bg_color)).max(axis=2) > BACKGROUND_DISTANCE
    top = slice(0, height // 2)
    return float((foreign[top] & ~person[top]).mean())
