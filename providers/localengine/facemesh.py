"""Face Mesh with irises as MediaPipe 0.10.21's ``FaceMesh(static_image_mode=True, max_num_faces=1,
refine_landmarks=True)`` computes it (``mediapipe/modules/face_landmark/*.pbtxt``): the short-range
BlazeFace finds the face, a square region about it is turned so that the eyes are level, the
landmark model (``face_landmark_with_attention.tflite``) reads that region at 192 pixels, and its
lips, eyes and irises replace or extend the 468 points of the mesh.
"""

from __future__ import annotations

import math

import numpy as np

from providers.localengine import blazeface, resample
from providers.localengine.arrays import Array
from providers.localengine.tflite import TfliteModel

SIZE = 192
#: The region is the detection's box made square on its longer side and widened this much.
REGION_SCALE = 1.5
#: The model's face flag (after a sigmoid) below this: no face in the region.
MIN_PRESENCE = 0.5

# The model's outputs after the mesh (lips, eyes, irises): the mesh's points each one replaces
# (tensors_to_face_landmarks_with_attention.pbtxt); the irises are points 468-477.
LIPS = (
    *(61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409),
    *(78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415),
    *(76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408),
    *(62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407),
)
LEFT_EYE = (
    *(33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    *(130, 25, 110, 24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190),
    *(226, 31, 228, 229, 230, 231, 232, 233, 244, 113, 225, 224, 223, 222, 221, 189),
    *(35, 124, 46, 53, 52, 65, 143, 111, 117, 118, 119, 120, 121, 128, 245),
    *(156, 70, 63, 105, 66, 107, 55, 193),
)
RIGHT_EYE = (
    *(263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
    *(359, 255, 339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414),
    *(446, 261, 448, 449, 450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413),
    *(265, 353, 276, 283, 282, 295, 372, 340, 346, 347, 348, 349, 350, 357, 465),
    *(383, 300, 293, 334, 296, 336, 285, 417),
)
#: An iris's depth is the mean depth of its eye's contour (the first 16 points of the eye's list).
EYE_CONTOUR = 16


def _normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def region(detection: blazeface.Detection, width: int, height: int) -> tuple[float, float, float, float, float]:
    """The region the landmark model reads: centre (x, y), width and height as shares of the photo,
    and rotation in radians (FaceDetectionFrontDetectionToRoi)."""
    (x0, y0), (x1, y1) = detection.keypoints[0] * (width, height), detection.keypoints[1] * (width, height)
    rotation = _normalize_radians(-math.atan2(-(y1 - y0), x1 - x0))
    cx, cy = detection.xmin + detection.width / 2, detection.ymin + detection.height / 2
    side = max(detection.width * width, detection.height * height)
    return cx, cy, side / width * REGION_SCALE, side / height * REGION_SCALE, rotation


def _refined(outputs: list[Array]) -> Array:
    """The 478 points (x, y, z) in the model's 192-pixel square, as shares of it."""
    mesh, lips, left_eye, right_eye, left_iris, right_iris = (o.astype(np.float64) for o in outputs[:6])
    points = np.zeros((478, 3))
    points[:468] = mesh.reshape(468, 3)
    for indices, values in ((LIPS, lips), (LEFT_EYE, left_eye), (RIGHT_EYE, right_eye)):
        points[list(indices), :2] = values.reshape(-1, 2)
    for first, values, eye in ((468, left_iris, LEFT_EYE), (473, right_iris, RIGHT_EYE)):
        points[first : first + 5, :2] = values.reshape(5, 2)
        points[first : first + 5, 2] = points[list(eye[:EYE_CONTOUR]), 2].mean()
    points /= SIZE
    return points


def landmarks(
    detector: TfliteModel, mesh: TfliteModel, rgb: Array, min_detection: float, *, quick: bool = False
) -> Array | None:
    """The 478 landmarks (x, y as shares of the image's width and height, z on the scale of x) of the
    best face the short-range detector finds in an RGB uint8 image, or None."""
    found = blazeface.detect(detector, blazeface.SHORT_RANGE, rgb, min_detection)
    return landmarks_at(mesh, rgb, found[0], quick=quick) if found else None


def _square(rgb: Array, place: tuple[float, float, float, float, float], *, quick: bool) -> Array:
    """The region at ``place`` (:func:`region`) as the landmark model reads it: (1, SIZE, SIZE, 3)
    of 0..1."""
    height, width = rgb.shape[:2]
    cx, cy, w, h, rotation = place
    centre, size = (cx * width, cy * height), (w * width, h * height)
    if quick:
        square = resample.turned_crop(rgb, resample.rotated_rect_corners(centre, size, math.degrees(rotation)), SIZE)
    else:
        square = blazeface.crop(rgb, centre, size, rotation, SIZE, zero=False)
    tensor = square.astype(np.float32)
    tensor /= np.float32(255)
    return tensor[None]


def face_flag(mesh: TfliteModel, rgb: Array, detection: blazeface.Detection) -> float:
    """The landmark model's face flag (before its sigmoid: how sure it is of a face) in the region
    of ``detection``, cut out quickly."""
    place = region(detection, rgb.shape[1], rgb.shape[0])
    return float(mesh.run(_square(rgb, place, quick=True))[6].reshape(-1)[0])


def landmarks_at(mesh: TfliteModel, rgb: Array, detection: blazeface.Detection, *, quick: bool = False) -> Array | None:
    """:func:`landmarks` of the face the short-range ``detection`` (shares of the image) found, or
    None where the landmark model sees no face there. The region is cut out as MediaPipe cuts it,
    to the bit, or (``quick``) by Pillow in about half the CPU, rounding apart: the landmarks move by
    a few hundredths of a pixel, the pose by a few tenths of a degree."""
    place = region(detection, rgb.shape[1], rgb.shape[0])
    cx, cy, w, h, rotation = place
    outputs = mesh.run(_square(rgb, place, quick=quick))
    if 1 / (1 + math.exp(-float(outputs[6].reshape(-1)[0]))) < MIN_PRESENCE:
        return None
    points = _refined(outputs)
    # From the turned region back to the image (LandmarkProjectionCalculator).
    x, y = points[:, 0] - 0.5, points[:, 1] - 0.5
    cos, sin = math.cos(rotation), math.sin(rotation)
    projected = np.empty_like(points)
    projected[:, 0] = (cos * x - sin * y) * w + cx
    projected[:, 1] = (sin * x + cos * y) * h + cy
    projected[:, 2] = points[:, 2] * w
    return projected
