"""Finding the one face an ID photo (or any face service) needs, and saying why a photo won't do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from providers.localengine import models

MIN_IMAGE_SIDE = 300
MIN_FACE_HEIGHT = 80
#: A second face at least this share of the main face's area makes the photo ambiguous.
SECOND_FACE_SHARE = 0.25
MIN_SCORE = 0.6


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


def find_face(rgb: np.ndarray) -> FaceReport:
    """The single usable face, or FaceCheckError: image_too_small, no_face, several_faces,
    face_too_small or face_cut_off."""
    height, width = rgb.shape[:2]
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


def check_face(image: bytes) -> FaceReport:
    """Decode ``image`` and run :func:`find_face` (for the bot's checks before charging)."""
    from providers.localengine.pipeline import decode

    return find_face(decode(image))
