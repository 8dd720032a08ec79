"""Finding the one face an ID photo (or any face service) needs, and saying why a photo won't do."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import ExifTags, Image, ImageOps

from providers.localengine import models

MIN_IMAGE_SIDE = 300
MIN_FACE_HEIGHT = 80
#: A second face at least this share of the main face's area makes the photo ambiguous.
SECOND_FACE_SHARE = 0.25
MIN_SCORE = 0.6
#: :func:`check_face` looks at a copy about this many pixels on its longest side: the detectors
#: see 128 or 192 pixels anyway, and decoding a photo at full size cost more than detecting.
CHECK_SIDE = 480


class FaceCheckError(Exception):
    """The photo cannot work; ``code`` names why (``face.<code>`` in the bot's texts)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class FaceReport:
    """The main face in pixels: its box, and the centre between the eyes."""

    x: float
    y: float
    width: float
    height: float
    eye_center_x: float
    eye_center_y: float
    faces: int

    @property
    def chin(self) -> float:
        # BlazeFace's box ends at the chin (within a few per cent of the mesh's chin point).
        return self.y + self.height


def _report(detection: object, width: int, height: int, faces: int) -> FaceReport:
    box = detection.location_data.relative_bounding_box
    keypoints = detection.location_data.relative_keypoints
    eye_x = (keypoints[0].x + keypoints[1].x) / 2 * width
    eye_y = (keypoints[0].y + keypoints[1].y) / 2 * height
    return FaceReport(box.xmin * width, box.ymin * height, box.width * width, box.height * height, eye_x, eye_y, faces)


def find_face(rgb: np.ndarray, size: tuple[int, int] | None = None) -> FaceReport:
    """The single usable face, or FaceCheckError: image_too_small, no_face, several_faces,
    face_too_small or face_cut_off. ``size`` is the photo's (width, height) when ``rgb`` is a
    reduced copy of it; the report is in the photo's pixels."""
    width, height = size or (rgb.shape[1], rgb.shape[0])
    if min(height, width) < MIN_IMAGE_SIDE:
        raise FaceCheckError("image_too_small")
    detections = [d for d in models.detect_faces(rgb, 1) if d.score[0] >= MIN_SCORE]
    if not detections:  # the short-range model finds close-up selfies the full-range one misses
        detections = [d for d in models.detect_faces(rgb, 0) if d.score[0] >= MIN_SCORE]
    if not detections:
        raise FaceCheckError("no_face")

    def area(d: object) -> float:
        box = d.location_data.relative_bounding_box
        return box.width * box.height

    detections.sort(key=area, reverse=True)
    main = detections[0]
    others = [d for d in detections[1:] if area(d) >= SECOND_FACE_SHARE * area(main)]
    if others:
        raise FaceCheckError("several_faces")
    face = _report(main, width, height, 1 + len(others))
    if face.height < MIN_FACE_HEIGHT:
        raise FaceCheckError("face_too_small")
    margin = 0.02
    if face.x < -margin * width or face.y < -margin * height or face.x + face.width > (1 + margin) * width \
            or face.chin > (1 + margin) * height:
        raise FaceCheckError("face_cut_off")
    # Room for the hair above the face box: a forehead at the very top means a cut-off head.
    if face.y < 0.15 * face.height:
        raise FaceCheckError("face_cut_off")
    return face


def decode(image: bytes, reduce_to: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """An RGB uint8 array of the photo, and the photo's full (width, height); EXIF orientation
    applied to both. With ``reduce_to``, a JPEG is decoded at a half, quarter or eighth of its
    size while its longest side stays at least that (libjpeg scales while decoding, so this costs
    a fraction of a full decode; other formats decode at full size)."""
    with Image.open(io.BytesIO(image)) as img:
        width, height = img.size
        if img.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8):
            width, height = height, width
        reduce = max(width, height) / reduce_to if reduce_to else 1
        if reduce >= 2:
            img.draft("RGB", (math.ceil(img.size[0] / reduce), math.ceil(img.size[1] / reduce)))
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB")), (width, height)


def check_face(image: bytes) -> FaceReport:
    """Run :func:`find_face` on a reduced decode of ``image`` (the bot's check before charging)."""
    rgb, size = decode(image, reduce_to=CHECK_SIDE)
    return find_face(rgb, size)
