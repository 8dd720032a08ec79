"""The checks an office makes that the pose and the placement do not cover: even light on both sides
of the face, exposure, glasses, the inside of the mouth seen between parted lips, and something on
top of the head (hair over the eyes is in hair.py). Each is a number measured around the face's
landmarks, cheap (a few hundred pixels), and judged against limits tuned on the real-photo
benchmark (bench/idphoto_real.py, where each check's counts are reported).
"""

from __future__ import annotations

import numpy as np

from providers.localengine import imageops, resample
from providers.localengine.arrays import Array
from providers.localengine.landmarks import (
    CHEEK_LEFT,
    CHEEK_RIGHT,
    EYE_INNER_LEFT,
    EYE_INNER_RIGHT,
    FACE_OVAL,
    FOREHEAD_TOP,
    LIP_INNER,
    NOSE_BRIDGE,
    NOSE_TOP,
    Landmarks,
)

#: The cheeks are compared over discs this share of the face's width across.
CHEEK_DISC = 0.07
#: A pixel at or above this (0-255, any channel) is burnt out.
BURNT = 250
#: The glasses' bridge is looked for this share of the face's width above and below the nose bridge.
BRIDGE_REACH = 0.1
#: The top of the head is read from this share of the way from the face's top (Face Mesh's forehead
#: point) to the crown up to the crown, this share of the face's width either side of the middle,
#: at HEAD_GRID x HEAD_GRID points.
HEAD_FROM = 0.3
HEAD_HALF_WIDTH = 0.3
HEAD_GRID = 32
#: A pixel between the lips darker than this share of the brighter cheek's lightness (CIE L*) is
#: the inside of the mouth.
CAVITY_DARK = 0.65


def face_crop(rgb: Array, marks: Landmarks) -> tuple[Array, Array]:
    """The face's bounding box of ``rgb`` (a view, not a copy), and the offset of its corner (x,
    y, 0) to subtract from the landmarks to have them in its pixels."""
    oval = marks.points[list(FACE_OVAL), :2]
    x0, y0 = (max(0, int(v)) for v in oval.min(axis=0))
    x1, y1 = (int(v) + 1 for v in oval.max(axis=0))
    return rgb[y0:y1, x0:x1], np.array([x0, y0, 0.0])


def disc_mean(rgb: Array, centre: Array, radius: float) -> float:
    """The mean CIE L* of ``rgb`` over the disc of ``radius`` about ``centre`` (OpenCV's filled
    circle, cut by the picture's edges): only the disc's square is read and converted."""
    cx, cy, r = round(float(centre[0])), round(float(centre[1])), max(1, round(radius))
    x0, y0 = max(0, cx - r), max(0, cy - r)
    square = rgb[y0 : max(y0, cy + r + 1), x0 : max(x0, cx + r + 1)]
    values = imageops.lightness(square[imageops.fill_disc(square.shape, (cx - x0, cy - y0), r)])
    return float(values.mean()) if values.size else 0.0


def cheeks(rgb: Array, marks: Landmarks) -> tuple[float, float]:
    """The mean CIE L* of each cheek (a disc of CHEEK_DISC of the face's width about Face Mesh's
    cheek points, left then right as seen): what :func:`light_difference` compares and
    :func:`mouth_cavity` measures the mouth's inside against, read once for both."""
    radius = CHEEK_DISC * marks.face_width
    left, right = (disc_mean(rgb, marks.points[side, :2], radius) for side in (CHEEK_LEFT, CHEEK_RIGHT))
    return left, right


def light_difference(cheeks: tuple[float, float]) -> float:
    """How much brighter one cheek is than the other (:func:`cheeks`), in CIE L* (0-100): faces lit
    from one side measure 32-42 on the real-photo benchmark, evenly lit ones under 25."""
    left, right = cheeks
    return abs(left - right)


def burnt_out(rgb: Array, marks: Landmarks) -> float:
    """Share of the face (inside its outline) that is burnt out by the light."""
    face, corner = face_crop(rgb, marks)
    inside = imageops.fill_polygon(face.shape[:2], (marks.points - corner)[list(FACE_OVAL), :2])
    area = int(np.count_nonzero(inside))  # NumPy's count is a NumPy integer
    if not area:
        return 0.0
    # Channel by channel: NumPy's max over the last, 3-long axis is twenty times slower.
    hot = face >= BURNT
    return int(np.count_nonzero((hot[..., 0] | hot[..., 1] | hot[..., 2]) & inside)) / area


def glasses_bridge(rgb: Array, marks: Landmarks) -> float:
    """How strongly a horizontal line crosses the nose between the eyes (the bridge of a pair of
    glasses), against the texture around it: the strongest row of vertical gradients over their
    median row. Bare noses measure 1.5-5.5, glasses 7-15."""
    points = marks.points
    inner = sorted((float(points[EYE_INNER_LEFT, 0]), float(points[EYE_INNER_RIGHT, 0])))
    span = inner[1] - inner[0]
    middle = sum(inner) / 2
    rows = (float(points[NOSE_TOP, 1]), float(points[NOSE_BRIDGE, 1]))
    reach = BRIDGE_REACH * marks.face_width
    y0, y1 = max(0, round(min(rows) - reach)), round(max(rows) + reach)
    x0, x1 = max(0, round(middle - 0.18 * span)), round(middle + 0.18 * span)
    patch = imageops.gray(rgb[y0:y1, x0:x1]).astype(np.float32)
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return 0.0
    strength = np.abs(imageops.sobel_y(patch)).mean(axis=1)
    return float(strength.max() / (np.median(strength) + 1e-3))


def head_contrast(rgb: Array, marks: Landmarks) -> float:
    """The spread of lightness (CIE L*, standard deviation) on top of the head, between the top of
    the forehead and the crown: hair, even grey hair on a dark ground, or a bald head vary little
    there; a cap's visor under its white crown, a badge or sunglasses pushed up vary a lot. A plain
    hat, a hood or a scarf in one colour does not, and is not seen by this measure."""
    top, crown = marks.points[FOREHEAD_TOP, :2], marks.crown
    up = crown - top
    across = np.array([-up[1], up[0]]) / max(float(np.linalg.norm(up)), 1e-6) * HEAD_HALF_WIDTH * marks.face_width
    rows = np.linspace(HEAD_FROM, 1.0, HEAD_GRID)[:, None, None]
    columns = np.linspace(-1.0, 1.0, HEAD_GRID)[None, :, None]
    grid = (top + rows * up + columns * across).astype(np.float32)
    patch = resample.sample_bilinear(rgb, grid[..., 0], grid[..., 1])
    return float(imageops.lightness(patch).std())


def mouth_cavity(rgb: Array, marks: Landmarks, cheek: float) -> float | None:
    """The share of the opening between the lips that is the dark inside of the mouth (darker than
    CAVITY_DARK of ``cheek``, the brighter cheek's L*): teeth apart (a laugh, speech) show it; a
    smile shows teeth that meet, and lips apart at rest a thin dark line. Read only where the lips
    are apart (faces.measured): closed lips leave no opening, just their own edge. None where
    it cannot be read: the mouth outside the picture, too few pixels, the cheeks black."""
    lips = marks.points[list(LIP_INNER), :2]
    x0, y0 = (max(0, int(v)) for v in lips.min(axis=0))
    x1, y1 = (int(v) + 2 for v in lips.max(axis=0))
    patch = rgb[y0:y1, x0:x1]
    if patch.shape[0] < 2 or patch.shape[1] < 2:
        return None
    opening = patch[imageops.fill_polygon(patch.shape[:2], lips - (x0, y0))]
    if not opening.size or cheek <= 0:
        return None
    return float(np.count_nonzero(imageops.lightness(opening) < CAVITY_DARK * cheek)) / len(opening)
