"""BlazeFace, MediaPipe's face detector, with its pre- and post-processing as MediaPipe 0.10.21's
graphs do it (``mediapipe/modules/face_detection/face_detection.pbtxt`` and its calculators): the
photo letterboxed into the model's square, the SSD anchors, the boxes and six keypoints decoded
from them, and overlapping detections blended by their scores (weighted non-maximum suppression).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from providers.localengine import resample
from providers.localengine.arrays import Array
from providers.localengine.tflite import TfliteModel

#: Boxes that overlap more than this (intersection over union) are one face.
SUPPRESSION_IOU = 0.3
_NUM_KEYPOINTS = 6
_SCORE_CLIP = 100.0


@dataclass(frozen=True)
class DetectorSpec:
    """How one of the two BlazeFace models sees a photo (face_detection_{short,full}_range.pbtxt)."""

    size: int
    strides: tuple[int, ...]
    interpolated_scale_aspect_ratio: float


SHORT_RANGE = DetectorSpec(128, (8, 16, 16, 16), 1.0)
FULL_RANGE = DetectorSpec(192, (4,), 0.0)


@dataclass(frozen=True)
class Detection:
    """A face as shares of the photo's width and height: its box, and six keypoints (the eyes as
    seen in the picture, left then right; nose tip; mouth; the ears)."""

    score: float
    xmin: float
    ymin: float
    width: float
    height: float
    keypoints: Array  # (6, 2)


@lru_cache(maxsize=2)
def anchors(spec: DetectorSpec) -> Array:
    """Anchor centres (N, 2) as shares of the model's input (SsdAnchorsCalculator with fixed-size
    anchors: every anchor is 1 x 1, so only the centres matter)."""
    centres: list[Array] = []
    layer = 0
    while layer < len(spec.strides):
        per_cell = 0
        last = layer
        # Layers with the same stride share one grid, their anchors side by side in each cell.
        while last < len(spec.strides) and spec.strides[last] == spec.strides[layer]:
            per_cell += 1 + (spec.interpolated_scale_aspect_ratio > 0)
            last += 1
        cells = math.ceil(spec.size / spec.strides[layer])
        ys, xs = np.mgrid[0:cells, 0:cells].astype(np.float32)
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(grid, per_cell, axis=1).reshape(-1, 2))
        layer = last
    return np.concatenate(centres).astype(np.float32)


def crop(
    rgb: Array, centre: tuple[float, float], size: tuple[float, float], rotation: float, side: int, *, zero: bool
) -> Array:
    """The rectangle of ``size`` (pixels) about ``centre``, turned by ``rotation`` radians, scaled to
    a ``side`` x ``side`` uint8 square as MediaPipe's ImageToTensorCalculator does on the CPU (its
    OpenCV calls redone to the bit: bilinear, outside the photo black with ``zero``, else its edge
    repeated)."""
    corners = resample.rotated_rect_corners(centre, size, math.degrees(rotation))
    target = np.array([[0, side], [0, 0], [side, 0], [side, side]], dtype=np.float32)
    matrix = resample.perspective_from_points(corners, target)
    return resample.warp_perspective(rgb, matrix, (side, side), zero_outside=zero)


def _letterbox(rgb: Array, size: int) -> tuple[Array, tuple[float, float, float, float]]:
    """The photo scaled into a square of ``size``, centred, black around it, as -1..1 floats; and the
    square's centre and size in the photo's pixels (to map detections back)."""
    height, width = rgb.shape[:2]
    side_w, side_h = (float(width), float(width)) if height < width else (float(height), float(height))
    cx, cy = 0.5 * width, 0.5 * height
    square = crop(rgb, (cx, cy), (side_w, side_h), 0.0, size, zero=True)
    tensor = square.astype(np.float32)
    tensor *= np.float32(2 / 255)
    tensor -= np.float32(1)
    return tensor[None], (cx, cy, side_w, side_h)


def _iou(box: Array, boxes: Array) -> Array:
    """Intersection over union of ``box`` (xmin, ymin, xmax, ymax) with each of ``boxes``."""
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[2:], boxes[:, 2:])
    sides = np.clip(high - low, 0, None)
    inter = sides[:, 0] * sides[:, 1]
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    overlaps = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    # Boxes that only touch do not intersect (Rectangle::Intersects).
    return np.where((high > low).all(axis=1), overlaps, 0)


def weighted_nms(scores: Array, boxes: Array, points: Array) -> list[tuple[float, Array, Array]]:
    """Each group of boxes that overlap the best remaining one, blended by score into one
    (NonMaxSuppressionCalculator, WEIGHTED), best first."""
    order = np.argsort(-scores, kind="stable")
    found = []
    while len(order):
        best = order[0]
        similar = _iou(boxes[best], boxes[order]) > SUPPRESSION_IOU
        group, order = order[similar], order[~similar]
        weights = scores[group][:, None]
        total = float(weights.sum())
        box = (boxes[group] * weights).sum(axis=0) / total
        keys = (points[group] * weights[:, :, None]).sum(axis=0) / total
        found.append((float(scores[best]), box, keys))
    return found


def detect(model: TfliteModel, spec: DetectorSpec, rgb: Array, min_score: float) -> list[Detection]:
    """The faces BlazeFace finds in an RGB uint8 image, best first."""
    tensor, (cx, cy, side_w, side_h) = _letterbox(rgb, spec.size)
    raw_boxes, raw_scores = model.run(tensor)
    raw = raw_boxes.reshape(-1, 4 + 2 * _NUM_KEYPOINTS)
    scores = 1 / (1 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -_SCORE_CLIP, _SCORE_CLIP)))
    keep = scores >= min_score
    if not keep.any():
        return []
    centres = anchors(spec)[keep]
    raw, scores = raw[keep], scores[keep]
    size = np.float32(spec.size)
    middle = raw[:, :2] / size + centres
    half = raw[:, 2:4] / size / 2
    boxes = np.concatenate([middle - half, middle + half], axis=1)
    points = raw[:, 4:].reshape(-1, _NUM_KEYPOINTS, 2) / size + centres[:, None, :]
    height, width = rgb.shape[:2]
    # From the square back to the photo, as shares of its width and height.
    origin = np.array([(cx - side_w / 2) / width, (cy - side_h / 2) / height], dtype=np.float32)
    scale = np.array([side_w / width, side_h / height], dtype=np.float32)
    detections = []
    for score, box, keys in weighted_nms(scores, boxes, points):
        low, high = box[:2] * scale + origin, box[2:] * scale + origin
        detections.append(
            Detection(
                score,
                float(low[0]),
                float(low[1]),
                float(high[0] - low[0]),
                float(high[1] - low[1]),
                (keys * scale + origin).astype(np.float64),
            )
        )
    return detections
