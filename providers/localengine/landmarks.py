"""The face's landmarks (MediaPipe Face Mesh with irises) and what they tell: tilt, turn, nod, eyes, mouth.

Face Mesh ships in ``mediapipe==0.10.21`` (``face_landmark_with_attention.tflite``, run by
facemesh.py). It runs on a square region around the face that BlazeFace found, so a small face in
a large photo is seen at the mesh's own resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from providers.localengine import models
from providers.localengine.arrays import Array
from providers.localengine.blazeface import Detection

# Face Mesh indices (canonical face model; "left" and "right" as seen in the picture).
IRIS_LEFT, IRIS_RIGHT = 468, 473
EYE_OUTER_LEFT, EYE_INNER_LEFT, EYE_TOP_LEFT, EYE_BOTTOM_LEFT = 33, 133, 159, 145
EYE_INNER_RIGHT, EYE_OUTER_RIGHT, EYE_TOP_RIGHT, EYE_BOTTOM_RIGHT = 362, 263, 386, 374
CHIN = 152
FACE_SIDE_LEFT, FACE_SIDE_RIGHT = 234, 454
MOUTH_LEFT, MOUTH_RIGHT, LIP_INNER_TOP, LIP_INNER_BOTTOM = 61, 291, 13, 14
CHEEK_LEFT, CHEEK_RIGHT, NOSE_BRIDGE, NOSE_TOP = 50, 280, 6, 168
#: The lips' inner outline, from the left corner over the upper lip and back under the lower one.
LIP_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
#: The top of the forehead on the face's outline (where the hair starts on most faces).
FOREHEAD_TOP = 10
#: The face's outline, forehead to chin (the canonical face model's silhouette), in order.
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
#: The mesh looks at a square this many face-box heights wide around the face.
REGION = 2.2


@dataclass(frozen=True)
class Landmarks:
    """The mesh's points and what they measure; each measure worked out once (the checks ask for
    the roll, the eyes' centre and the face's width many times)."""

    #: (478, 3): x and y in the photo's pixels, z (depth) on the scale of x.
    points: Array

    def _xy(self, index: int) -> Array:
        return self.points[index, :2]

    @property
    def eye_left(self) -> Array:
        return self._xy(IRIS_LEFT)

    @property
    def eye_right(self) -> Array:
        return self._xy(IRIS_RIGHT)

    @cached_property
    def eye_centre(self) -> Array:
        return (self.eye_left + self.eye_right) / 2

    @property
    def chin(self) -> Array:
        return self._xy(CHIN)

    @cached_property
    def face_width(self) -> float:
        """Between where the face meets the ears (GA 461 measures face width there)."""
        return float(np.linalg.norm(self._xy(FACE_SIDE_RIGHT) - self._xy(FACE_SIDE_LEFT)))

    @property
    def head_height(self) -> float:
        """Chin to crown, hair excluded: the eyes sit halfway between chin and crown in adults, so
        the crown is as far above the eye line as the chin is below it."""
        return 2 * float(np.linalg.norm(self.chin - self.eye_centre))

    @property
    def crown(self) -> Array:
        """The top of the skull, hair excluded: as far above the eye centre as the chin is below it."""
        crown: Array = 2 * self.eye_centre - self.chin
        return crown

    @cached_property
    def roll(self) -> float:
        """Degrees the eye line is tilted from level (positive: the right eye lower)."""
        dx, dy = self.eye_right - self.eye_left
        return math.degrees(math.atan2(dy, dx))

    @cached_property
    def _normal(self) -> Array:
        """The unit normal of the plane through both outer eye corners and the mouth corners."""
        p = self.points
        across = p[EYE_OUTER_RIGHT] - p[EYE_OUTER_LEFT]
        down = (p[MOUTH_LEFT] + p[MOUTH_RIGHT]) / 2 - (p[EYE_OUTER_LEFT] + p[EYE_OUTER_RIGHT]) / 2
        normal = np.cross(across, down)
        unit: Array = normal / np.linalg.norm(normal)
        return unit

    @property
    def yaw(self) -> float:
        """Degrees the face is turned left or right from facing the camera."""
        return math.degrees(math.asin(float(np.clip(self._normal[0], -1, 1))))

    @property
    def pitch(self) -> float:
        """Degrees the face is turned up or down from facing the camera."""
        return math.degrees(math.asin(float(np.clip(self._normal[1], -1, 1))))

    def _ratio(self, top: int, bottom: int, left: int, right: int) -> float:
        return float(
            np.linalg.norm(self._xy(top) - self._xy(bottom))
            / max(float(np.linalg.norm(self._xy(left) - self._xy(right))), 1e-6)
        )

    @cached_property
    def eye_openness(self) -> float:
        """Lid gap over eye width, of the less open eye (about 0.25-0.4 open, under 0.1 closed)."""
        return min(
            self._ratio(EYE_TOP_LEFT, EYE_BOTTOM_LEFT, EYE_OUTER_LEFT, EYE_INNER_LEFT),
            self._ratio(EYE_TOP_RIGHT, EYE_BOTTOM_RIGHT, EYE_INNER_RIGHT, EYE_OUTER_RIGHT),
        )

    @cached_property
    def _levelling(self) -> Array:
        """The turn that makes the eye line level."""
        angle = math.radians(self.roll)
        return np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])

    def levelled(self, index: int) -> Array:
        """Landmark ``index`` (x, y) with the eye line made level about the eyes' centre."""
        point: Array = self._levelling @ (self._xy(index) - self.eye_centre)
        return point

    @cached_property
    def smile_lift(self) -> float:
        """How far the mouth's corners sit above the middle of the lips, over the mouth's width (a smile
        lifts them: 0.018-0.18 on smiling portraits; speech leaves them level or lower)."""
        middle = (self.levelled(LIP_INNER_TOP)[1] + self.levelled(LIP_INNER_BOTTOM)[1]) / 2
        corners = (self.levelled(MOUTH_LEFT)[1] + self.levelled(MOUTH_RIGHT)[1]) / 2
        width = float(np.linalg.norm(self._xy(MOUTH_RIGHT) - self._xy(MOUTH_LEFT)))
        return float(middle - corners) / max(width, 1e-6)

    @cached_property
    def mouth_openness(self) -> float:
        """Inner lip gap over mouth width (0 closed; a laugh or speech shows teeth above ~0.12)."""
        return self._ratio(LIP_INNER_TOP, LIP_INNER_BOTTOM, MOUTH_LEFT, MOUTH_RIGHT)


def find_landmarks(
    rgb: Array,
    box: tuple[float, float, float, float],
    scale: float = 1.0,
    seen: Detection | None = None,
    *,
    quick: bool = False,
) -> Landmarks | None:
    """Face Mesh landmarks of the face in ``box`` (x, y, width, height, in ``rgb``'s pixels), in
    pixels multiplied by ``scale`` (for a reduced copy of the photo), or None if the mesh finds no
    face. Where the short-range detector has ``seen`` the face in the whole photo already (a
    portrait, in the quick check before charging: see faces.PORTRAIT_FACE), the mesh reads the
    region about that detection, as MediaPipe's Face Mesh does; else the detector looks again in
    the square about ``box``, where a small face is more pixels. ``quick``: the mesh's square cut out
    by Pillow (models.mesh_landmarks)."""
    height, width = rgb.shape[:2]
    if seen is not None:
        whole = models.mesh_landmarks(rgb, seen, quick=quick)
        if whole is None:
            return None
        return Landmarks(whole * np.array([width * scale, height * scale, width * scale], dtype=np.float64))
    x, y, w, h = box
    side = REGION * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    region = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    found = models.mesh_landmarks(region, quick=quick)
    if found is None:
        return None
    rh, rw = region.shape[:2]
    points = found * np.array([rw, rh, rw], dtype=np.float64) + np.array([x0, y0, 0], dtype=np.float64)
    return Landmarks(points * scale)
