"""A hand at or against the face, found by MediaPipe's palm detector and confirmed by its hand
landmark model: offices refuse a face that a hand touches or covers (a chin on a hand, a V-sign
beside the eyes, a hand on the brow).

Both models ship in the mediapipe 0.10.21 wheel (``mediapipe/modules/palm_detection/
palm_detection_full.tflite``, ``mediapipe/modules/hand_landmark/hand_landmark_full.tflite``) and
run with LiteRT as MediaPipe's Hands (static images) runs them:

- ``palm_detection/palm_detection_cpu.pbtxt``: the photo letterboxed into 192 pixels (0..1, black
  beyond it); SSD anchors of strides 8, 16, 16, 16 (two a cell and layer, all 1 x 1); boxes and
  seven keypoints decoded from them (x first), scores through a sigmoid (clipped at 100), at least
  0.5; overlapping boxes blended by score (weighted non-maximum suppression, IoU 0.3);
- ``hand_landmark/palm_detection_detection_to_roi.pbtxt``: the box's centre and size, turned so
  that the wrist (keypoint 0) lies under the middle finger's knuckle (keypoint 2), moved half its
  height towards the fingers, made square on its longer side and widened 2.6 times;
- ``hand_landmark/hand_landmark_cpu.pbtxt``: that square at 224 pixels (0..1, the photo's edge
  repeated beyond it); 21 points (x, y in the square's pixels) projected back, and a hand flag
  that the model gives as a probability already (TensorsToFloats, no activation).

The palm detector alone also fires on faces, ears and necks; the landmark model's flag tells
those (0.0-0.2) from real hands (0.6-1.0): a palm counts only where the flag is at least
MIN_PRESENCE, MediaPipe's own threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from providers.localengine import blazeface
from providers.localengine.arrays import Array
from providers.localengine.tflite import TfliteModel

PALM = blazeface.DetectorSpec(192, (8, 16, 16, 16), 1.0)
MIN_PALM_SCORE = 0.5
PALM_KEYPOINTS = 7
PALM_ROI_SCALE = 2.6
PALM_ROI_SHIFT = -0.5
HAND_SIZE = 224
HAND_POINTS = 21
MIN_PRESENCE = 0.5
#: Palms farther than this many face widths from the face's box are not confirmed (their hand
#: cannot reach the face; the landmark model costs about 4 ms a palm).
PALM_REACH = 1.0

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Roi:
    """A square region of the photo in pixels: centre, side, and turn in radians."""

    cx: float
    cy: float
    side: float
    rotation: float

    def crop(self, rgb: Array, size: int) -> Array:
        """The region at ``size`` pixels as a (1, size, size, 3) tensor of 0..1 (edges repeated)."""
        square = blazeface.crop(rgb, (self.cx, self.cy), (self.side, self.side), self.rotation, size, zero=False)
        tensor = square.astype(np.float32)
        tensor /= np.float32(255)
        return tensor[None]

    def project(self, points: Array) -> Array:
        """Points (N, 2) as shares of the region, in the photo's pixels (LandmarkProjectionCalculator:
        a square region makes its normalised formula the same in pixels)."""
        x, y = points[:, 0] - 0.5, points[:, 1] - 0.5
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        return np.stack([(cos * x - sin * y) * self.side + self.cx, (sin * x + cos * y) * self.side + self.cy], axis=1)


@dataclass(frozen=True)
class Palm:
    """A palm in the photo's pixels: score, box (x0, y0, x1, y1) and keypoints (wrist; index, middle,
    ring and pinky knuckles; thumb base, thumb joint)."""

    score: float
    box: Array
    keypoints: Array

    def roi(self) -> Roi:
        """The square the hand landmark model reads (palm_detection_detection_to_roi.pbtxt)."""
        width, height = float(self.box[2] - self.box[0]), float(self.box[3] - self.box[1])
        wrist, middle = self.keypoints[0], self.keypoints[2]
        # DetectionsToRectsCalculator: the turn that points wrist -> middle knuckle up (90 degrees).
        angle = math.pi / 2 - math.atan2(-(float(middle[1]) - float(wrist[1])), float(middle[0]) - float(wrist[0]))
        rotation = angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))
        # RectTransformationCalculator: shift_y of the height along the turned vertical, then square_long, scale.
        cx, cy = (float(self.box[0]) + float(self.box[2])) / 2, (float(self.box[1]) + float(self.box[3])) / 2
        cx -= height * PALM_ROI_SHIFT * math.sin(rotation)
        cy += height * PALM_ROI_SHIFT * math.cos(rotation)
        return Roi(cx, cy, max(width, height) * PALM_ROI_SCALE, rotation)


@dataclass(frozen=True)
class Hand:
    """The hand landmark model's 21 points (photo pixels) and hand flag (0..1) on a region."""

    points: Array
    presence: float
    roi: Roi


def detect_palms(model: TfliteModel, rgb: Array) -> list[Palm]:
    """The palms in an RGB uint8 photo, best first."""
    height, width = rgb.shape[:2]
    side = float(max(width, height))
    square = blazeface.crop(rgb, (width / 2, height / 2), (side, side), 0.0, PALM.size, zero=True)
    tensor = square.astype(np.float32)
    tensor /= np.float32(255)
    raw_boxes, raw_scores = model.run(tensor[None])
    raw = raw_boxes.reshape(-1, 4 + 2 * PALM_KEYPOINTS).astype(np.float64)
    scores = 1 / (1 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -100, 100)))
    keep = scores >= MIN_PALM_SCORE
    if not keep.any():
        return []
    centres = blazeface.anchors(PALM)[keep]
    raw, scores = raw[keep], scores[keep]
    middle = raw[:, :2] / PALM.size + centres
    half = raw[:, 2:4] / PALM.size / 2
    boxes = np.concatenate([middle - half, middle + half], axis=1)
    points = raw[:, 4:].reshape(-1, PALM_KEYPOINTS, 2) / PALM.size + centres[:, None, :]
    # From the letterboxed square back to the photo's pixels.
    origin = np.array([width / 2 - side / 2, height / 2 - side / 2])
    return [
        Palm(score, box * side + np.tile(origin, 2), keys * side + origin)
        for score, box, keys in blazeface.weighted_nms(scores, boxes, points)
    ]


def hand_at(model: TfliteModel, rgb: Array, roi: Roi) -> Hand:
    """The hand landmark model on ``roi``: its points and flag, whatever the flag; no hand (no
    points, flag 0) in a region under a pixel wide, which cannot be cut out (a palm box of no size)."""
    if not roi.side >= 1:  # NaN too
        return Hand(np.empty((0, 2)), 0.0, roi)
    landmarks, flag, _handedness, _world = model.run(roi.crop(rgb, HAND_SIZE))
    points = roi.project(landmarks.reshape(HAND_POINTS, 3)[:, :2].astype(np.float64) / HAND_SIZE)
    return Hand(points, float(flag.reshape(-1)[0]), roi)


def _gap(other: Array, box: Box) -> float:
    """The distance (pixels) between two boxes (x0, y0, x1, y1); 0 where they overlap."""
    dx = max(box[0] - float(other[2]), 0.0, float(other[0]) - box[2])
    dy = max(box[1] - float(other[3]), 0.0, float(other[1]) - box[3])
    return math.hypot(dx, dy)


def distance(points: Array, box: Box) -> float:
    """How far the nearest of ``points`` (N, 2) lies from ``box`` (x0, y0, x1, y1); 0 inside it."""
    dx = np.maximum(np.maximum(box[0] - points[:, 0], 0), points[:, 0] - box[2])
    dy = np.maximum(np.maximum(box[1] - points[:, 1], 0), points[:, 1] - box[3])
    return float(np.hypot(dx, dy).min())


def hands_near_face(palms: TfliteModel, landmarks: TfliteModel, rgb: Array, face: Box) -> list[tuple[Hand, float]]:
    """The palms within PALM_REACH face widths of the ``face`` box (x0, y0, x1, y1, pixels), each
    with the landmark model's hand and how far (face widths) its nearest point is from the box."""
    width = face[2] - face[0]
    found: list[tuple[Hand, float]] = []
    if not width > 0:
        return found
    for palm in detect_palms(palms, rgb):
        if _gap(palm.box, face) > PALM_REACH * width:
            continue
        hand = hand_at(landmarks, rgb, palm.roi())
        if len(hand.points):
            found.append((hand, distance(hand.points, face) / width))
    return found


def hand_gap(palms: TfliteModel, landmarks: TfliteModel, rgb: Array, face: Box) -> float | None:
    """How far (face widths) the nearest confirmed hand is from the ``face`` box, or None where no
    hand is near: a hand is at the face from findings.AT_FACE down."""
    near = [gap for hand, gap in hands_near_face(palms, landmarks, rgb, face) if hand.presence >= MIN_PRESENCE]
    return min(near, default=None)
