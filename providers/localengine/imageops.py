"""The small image operations the engine needs, in NumPy and Pillow (OpenCV, 170 MB installed, is not
a dependency of the run install): colour, filters, morphology on masks, drawing. Resizing and
warping are in ``resample``.

Where the engine's verdicts hang on exact pixels the operation does what OpenCV did to the bit: luma,
8-bit Lab's L*, Sobel, Laplacian, the 3x3 chamfer distances (as morphology with the distance's own
octagon), OpenCV's filled circles and elliptic elements, 8-connected components. Elsewhere it is the
same operation in floating point (box means by running sums), which differs from OpenCV's by rounding.

Images are HxW or HxWxC arrays; points are (x, y) in pixels, pixel centres at whole numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from providers.localengine.arrays import Array

#: How a filter sees past the image's edge: ``reflect`` repeats the edge pixel (``cba|abc``),
#: ``reflect101`` does not (``cb|abc``, OpenCV's default).
Border = Literal["reflect", "reflect101"]

# The 3x3 chamfer distance of OpenCV's distanceTransform(DIST_L2, 3): a step across costs 0.955, a
# diagonal step 1.3693, both in 16-bit fixed point.
_CHAMFER_SHIFT = 16
_CHAMFER_STEP = round(0.955 * (1 << _CHAMFER_SHIFT))
_CHAMFER_DIAGONAL = round(1.3693 * (1 << _CHAMFER_SHIFT))


# -- colour -------------------------------------------------------------------------------------------


def gray(rgb: Array) -> Array:
    """The luma (uint8 HxW) of an RGB uint8 image, BT.601 in 14-bit fixed point as OpenCV rounds it."""
    luma = rgb[..., 0] * np.uint32(4899)
    luma += rgb[..., 1] * np.uint32(9617)
    luma += rgb[..., 2] * np.uint32(1868)
    luma += 1 << 13
    luma >>= 14
    out: Array = luma.astype(np.uint8)
    return out


@lru_cache(maxsize=1)
def _lab_tables() -> tuple[Array, Array]:
    """OpenCV's tables for 8-bit Lab: sRGB to linear light in 1/8 steps of 0-255, and f(Y) (the
    cube root, linear near black) in 15-bit fixed point over Y in those steps."""
    x = np.arange(256, dtype=np.float32) / np.float32(255)
    linear = np.where(x <= 0.04045, x / np.float32(12.92), ((x.astype(np.float64) + 0.055) / 1.055) ** 2.4)
    gamma = np.clip(np.rint(np.float32(255 * 8) * linear.astype(np.float32)), 0, 65535).astype(np.int64)
    y = np.arange(256 * 3 // 2 * 8, dtype=np.float32) / np.float32(255 * 8)
    root = np.where(y < np.float32(0.008856), y * np.float32(7.787) + np.float32(0.13793103448275862), np.cbrt(y))
    cube_root = np.clip(np.rint(np.float32(1 << 15) * root.astype(np.float32)), 0, 65535).astype(np.int64)
    return gamma, cube_root


def lightness(rgb: Array) -> Array:
    """CIE L* (float32, 0-100) of an RGB uint8 image (sRGB, D65), as OpenCV's 8-bit RGB2Lab computes
    its L (in fixed point, in steps of 100/255)."""
    gamma, cube_root = _lab_tables()
    luminance = gamma[rgb[..., 0]] * 871 + gamma[rgb[..., 1]] * 2929 + gamma[rgb[..., 2]] * 296
    f = cube_root[(luminance + (1 << 11)) >> 12]
    steps = np.clip((296 * f - (16 * 255 * (1 << 15) + 50) // 100 + (1 << 14)) >> 15, 0, 255)
    out: Array = steps.astype(np.float32) * np.float32(100 / 255)
    return out


# -- filters ------------------------------------------------------------------------------------------


def _pad_axis(image: Array, before: int, after: int, axis: int, border: Border) -> Array:
    """``image`` padded along ``axis`` by reflection, with one more zero in front (for running sums)."""
    n = image.shape[axis]
    index = np.arange(-before, n + after)
    if border == "reflect":
        period = 2 * n
        index = np.mod(index, period)
        index = np.where(index >= n, period - 1 - index, index)
    else:
        period = max(2 * n - 2, 1)
        index = np.abs(np.mod(index + period // 2, period) - period // 2) if n > 1 else np.zeros_like(index)
    shape = list(image.shape)
    shape[axis] = n + before + after + 1
    padded = np.empty(shape, dtype=np.float32)
    head = [slice(None)] * image.ndim
    head[axis] = slice(0, 1)
    padded[tuple(head)] = 0
    body = [slice(None)] * image.ndim
    body[axis] = slice(1 + before, 1 + before + n)
    padded[tuple(body)] = image
    for start, stop, source in ((1, 1 + before, index[:before]), (1 + before + n, None, index[before + n :])):
        if len(source):
            part = [slice(None)] * image.ndim
            part[axis] = slice(start, stop)
            padded[tuple(part)] = np.take(image, source, axis=axis)
    return padded


def _running_sum(padded: Array, axis: int) -> None:
    """Cumulative sums along ``axis``, in place. Along the first axis NumPy's cumsum walks each column
    with the stride of a row, several times slower on a large image than adding whole rows."""
    if axis == 0:
        for row in range(1, padded.shape[0]):
            np.add(padded[row], padded[row - 1], out=padded[row])
    else:
        np.cumsum(padded, axis=axis, out=padded)


def _window_sums(image: Array, size: int, axis: int, border: Border) -> Array:
    """Sums over windows of ``size`` pixels (odd) centred on each pixel along ``axis``."""
    radius = size // 2
    n = image.shape[axis]
    padded = _pad_axis(image, radius, radius, axis, border)
    _running_sum(padded, axis)
    high = [slice(None)] * image.ndim
    low = [slice(None)] * image.ndim
    high[axis] = slice(size, size + n)
    low[axis] = slice(0, n)
    sums: Array = padded[tuple(high)] - padded[tuple(low)]
    return sums


def box_mean(image: Array, width: int, height: int | None = None, border: Border = "reflect101") -> Array:
    """The mean over a ``width`` x ``height`` window (odd sides) around each pixel, float32, each
    channel apart; past the edges the image is reflected (``border``). Running sums: the cost does
    not grow with the window."""
    height = width if height is None else height
    if width * height == 1:
        return np.array(image, dtype=np.float32)
    out = np.asarray(image, dtype=np.float32)  # the running sums read it into arrays of their own
    if width > 1:
        out = _window_sums(out, width, 1, border)
    if height > 1:
        out = _window_sums(out, height, 0, border)
    out *= np.float32(1 / (width * height))
    return out


def _filter3(image: Array, rows: Sequence[float], columns: Sequence[float]) -> Array:
    """A separable 3x3 filter (correlation), reflect101 borders, float32."""
    padded = np.pad(np.asarray(image, dtype=np.float32), 1, mode="reflect")
    across = columns[0] * padded[:, :-2] + columns[1] * padded[:, 1:-1] + columns[2] * padded[:, 2:]
    out: Array = (rows[0] * across[:-2] + rows[1] * across[1:-1] + rows[2] * across[2:]).astype(np.float32)
    return out


def sobel_x(image: Array) -> Array:
    """The horizontal 3x3 Sobel derivative (OpenCV's Sobel(dx=1, dy=0)), float32."""
    return _filter3(image, (1, 2, 1), (-1, 0, 1))


def sobel_y(image: Array) -> Array:
    """The vertical 3x3 Sobel derivative (OpenCV's Sobel(dx=0, dy=1)), float32."""
    return _filter3(image, (-1, 0, 1), (1, 2, 1))


def laplacian(image: Array) -> Array:
    """The 4-neighbour Laplacian (OpenCV's Laplacian with ksize=1), float32, reflect101 borders."""
    padded = np.pad(np.asarray(image, dtype=np.float32), 1, mode="reflect")
    out: Array = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * padded[1:-1, 1:-1]
    return out


# -- morphology on bool masks -------------------------------------------------------------------------


def _any_within(mask: Array, radius: int, axis: int) -> Array:
    n = mask.shape[axis]
    pad = [(0, 0)] * mask.ndim
    pad[axis] = (radius + 1, radius)
    counts = np.pad(mask, pad).astype(np.int32)
    _running_sum(counts, axis)
    high = [slice(None)] * mask.ndim
    low = [slice(None)] * mask.ndim
    high[axis] = slice(2 * radius + 1, 2 * radius + 1 + n)
    low[axis] = slice(0, n)
    near: Array = counts[tuple(high)] > counts[tuple(low)]
    return near


def dilate_square(mask: Array, radius: int) -> Array:
    """Within ``radius`` pixels of ``mask`` along both axes (a square), bool."""
    if radius < 1:
        return mask.astype(bool)
    return _any_within(_any_within(mask.astype(bool), radius, 1), radius, 0)


def erode_square(mask: Array, radius: int) -> Array:
    """Where the whole square of ``radius`` around a pixel is in ``mask`` (past the edges counts as
    in, as OpenCV erodes), bool."""
    return ~dilate_square(~mask.astype(bool), radius)


def _runs(mask: Array) -> tuple[Array, Array, Array]:
    """The mask's runs along its rows: row, first column and the column past the last."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.flatnonzero(padded.ravel()[1:] != padded.ravel()[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    rows = starts // (width + 2)
    return rows, starts - rows * (width + 2) - 1, ends - rows * (width + 2) - 1


def _paint(shape: tuple[int, ...], rows: Array, starts: Array, ends: Array) -> Array:
    """A bool mask of ``shape`` (height, width) with the given runs set (they may overlap or stick out)."""
    height, width = shape[:2]
    keep = (rows >= 0) & (rows < height)
    rows, starts, ends = rows[keep], np.clip(starts[keep], 0, width), np.clip(ends[keep], 0, width)
    keep = ends > starts
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    steps = np.zeros(height * (width + 1) + 1, dtype=np.int32)
    np.add.at(steps, rows * (width + 1) + starts, 1)
    np.add.at(steps, rows * (width + 1) + ends, -1)
    painted: Array = np.cumsum(steps[:-1], dtype=np.int32).reshape(height, width + 1)[:, :width] > 0
    return painted


def _grow_runs(shape: tuple[int, ...], runs: tuple[Array, Array, Array], half_widths: Array) -> Array:
    rows, starts, ends = runs
    reach = len(half_widths) // 2
    offsets = np.arange(-reach, reach + 1)
    used = half_widths >= 0
    offsets, widths = offsets[used], half_widths[used].astype(np.int64)
    if not len(rows) or not len(offsets):
        return np.zeros(shape, dtype=bool)
    grown_rows = (rows[None, :] + offsets[:, None]).ravel()
    grown_starts = (starts[None, :] - widths[:, None]).ravel()
    grown_ends = (ends[None, :] + widths[:, None]).ravel()
    return _paint(shape, grown_rows, grown_starts, grown_ends)


def dilate_rows(mask: Array, half_widths: Array) -> Array:
    """``mask`` dilated by a shape symmetric about its centre, given as the half-width of each of its
    rows (``half_widths[k]`` for the row ``k - len // 2`` off the centre; negative: an empty row).
    Works on the mask's runs: the cost grows with their number, not with the pixels."""
    mask = mask.astype(bool)
    return _grow_runs(mask.shape, _runs(mask), half_widths)


@lru_cache(maxsize=64)
def _disc_rows(radius: int) -> Array:
    """The half-widths of OpenCV's elliptic structuring element of (2 radius + 1) pixels across."""
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    widths = np.rint(radius * np.sqrt(np.maximum(radius * radius - offsets * offsets, 0.0) / (radius * radius)))
    rows: Array = widths.astype(np.int64)
    return rows


def dilate_disc(mask: Array, radius: int) -> Array:
    """``mask`` dilated by OpenCV's elliptic structuring element of (2 ``radius`` + 1) pixels."""
    if radius < 1:
        return mask.astype(bool)
    return dilate_rows(mask, _disc_rows(radius))


@lru_cache(maxsize=64)
def _chamfer_rows(distance: float) -> Array:
    """The half-widths of the ball of ``distance`` in OpenCV's 3x3 chamfer metric (an octagon)."""
    reach = int(distance / 0.95) + 1
    offsets = np.abs(np.arange(-reach, reach + 1))
    across, down = np.meshgrid(offsets, offsets)
    diagonal = np.minimum(across, down)
    cost = (diagonal * _CHAMFER_DIAGONAL + (np.maximum(across, down) - diagonal) * _CHAMFER_STEP).astype(np.float32)
    inside = cost * np.float32(1 / (1 << _CHAMFER_SHIFT)) <= np.float32(distance)
    widths: Array = np.where(inside.any(axis=1), inside.sum(axis=1) // 2, -1)
    return widths


def within_distance(mask: Array, distance: float) -> Array:
    """Where the distance to ``mask`` is at most ``distance``, in the 3x3 chamfer metric of OpenCV's
    distanceTransform(DIST_L2, 3): ``distanceTransform(~mask) <= distance``, as morphology."""
    if distance < 0:
        return np.zeros(mask.shape, dtype=bool)
    return dilate_rows(mask, _chamfer_rows(float(distance)))


def _run_labels(mask: Array) -> tuple[Array, Array, Array, Array, int]:
    """The runs of ``mask`` (rows, starts, ends), the 8-connected component of each as the index of
    its first run, and the width of a row's key (``rows * key + column`` orders the runs)."""
    rows, starts, ends = _runs(mask)
    width = mask.shape[1]
    # Runs that touch, diagonally too: a run of row y + 1 meets those of row y that start before its
    # end + 1 and end after its start - 1.
    key = width + 2
    start_keys, end_keys = rows * key + starts, rows * key + ends
    above = rows - 1
    first = np.searchsorted(end_keys, above * key + starts, side="left")
    last = np.searchsorted(start_keys, above * key + ends, side="right")
    counts = np.maximum(last - first, 0)
    lower = np.repeat(np.arange(len(rows)), counts)
    upper = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    labels = np.arange(len(rows))
    while True:
        low = np.minimum(labels[lower], labels[upper])
        hooked = labels.copy()
        np.minimum.at(hooked, labels[lower], low)
        np.minimum.at(hooked, labels[upper], low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, labels):
            break
        labels = hooked
    return rows, starts, ends, labels, key


def _component_runs(mask: Array, row: int, column: int) -> tuple[Array, Array, Array]:
    """The runs of the 8-connected component of ``mask`` that holds (``row``, ``column``), which
    must be in the mask: the mask's runs labelled, joining those that touch in the next row."""
    rows, starts, ends, labels, key = _run_labels(mask)
    seed = int(np.searchsorted(rows * key + starts, row * key + column, side="right")) - 1
    chosen = labels == labels[seed]
    return rows[chosen], starts[chosen], ends[chosen]


def components(mask: Array, limit: int | None = None) -> list[Array]:
    """The 8-connected components of ``mask``, each a bool mask, the largest first (ties in the order
    of their first pixel); at most ``limit`` of them, the largest."""
    mask = mask.astype(bool)
    if not mask.any():
        return []
    rows, starts, ends, labels, _ = _run_labels(mask)
    sizes = np.bincount(labels, weights=ends - starts)
    order = [int(label) for label in np.argsort(-sizes, kind="stable") if sizes[label] > 0][:limit]
    chosen = [labels == label for label in order]
    return [_paint(mask.shape, rows[runs], starts[runs], ends[runs]) for runs in chosen]


def small_parts_apart(mask: Array, seed: Array, share: float) -> Array:
    """The 8-connected components of ``mask`` that hold no pixel of ``seed`` and are smaller than
    ``share`` of those that do (by pixel count), as one bool mask."""
    mask = mask.astype(bool)
    if not mask.any():
        return mask
    rows, starts, ends, labels, _ = _run_labels(mask)
    sizes = np.bincount(labels, weights=ends - starts, minlength=len(rows))
    # Seed pixels in each run, from the seed's running count along its row.
    counts = np.zeros((mask.shape[0], mask.shape[1] + 1), dtype=np.int32)
    np.cumsum(seed, axis=1, out=counts[:, 1:])
    seeded = np.zeros(len(rows), dtype=bool)
    seeded[labels[counts[rows, ends] > counts[rows, starts]]] = True
    small = ~seeded & (sizes < share * sizes[seeded].sum())
    chosen = small[labels]
    return _paint(mask.shape, rows[chosen], starts[chosen], ends[chosen])


def component_at(mask: Array, row: int, column: int, grow: int = 0) -> Array:
    """The 8-connected component of ``mask`` that holds (``row``, ``column``), bool, dilated by
    OpenCV's elliptic element of (2 ``grow`` + 1) pixels; all false where that pixel is not in the
    mask."""
    mask = mask.astype(bool)
    if not mask[row, column]:
        return np.zeros(mask.shape, dtype=bool)
    runs = _component_runs(mask, row, column)
    if grow < 1:
        return _paint(mask.shape, *runs)
    return _grow_runs(mask.shape, runs, _disc_rows(grow))


# -- drawing ------------------------------------------------------------------------------------------


def fill_polygon(shape: tuple[int, ...], points: Array) -> Array:
    """A bool HxW mask of the polygon through ``points`` (N x 2, x and y), edges included."""
    image = Image.new("1", (shape[1], shape[0]), 0)
    corners = [(float(x), float(y)) for x, y in np.round(points)]
    draw = ImageDraw.Draw(image)
    draw.polygon(corners, fill=1)
    draw.line([*corners, corners[0]], fill=1)
    return np.array(image, dtype=bool)


@lru_cache(maxsize=64)
def _circle_rows(radius: int) -> Array:
    """The half-widths of a filled circle as OpenCV draws it (its midpoint algorithm)."""
    widths = np.full(2 * radius + 1, -1, dtype=np.int64)
    err, dx, dy, plus, minus = 0, radius, 0, 1, 2 * radius - 1
    while dx >= dy:
        for row, half in ((dy, dx), (dx, dy)):
            widths[radius + row] = max(widths[radius + row], half)
            widths[radius - row] = max(widths[radius - row], half)
        dy += 1
        err += plus
        plus += 2
        step = -1 if err > 0 else 0
        err -= minus & step
        dx += step
        minus -= step & 2
    return widths


def fill_disc(shape: tuple[int, ...], centre: tuple[int, int], radius: int) -> Array:
    """A bool HxW mask of a filled circle of ``radius`` about ``centre`` (x, y), as OpenCV draws one."""
    radius = max(0, radius)
    height, width = shape[:2]
    half = np.full(height, -1, dtype=np.int64)  # each row's half-width, -1 where the disc is not
    rows = np.arange(max(0, centre[1] - radius), min(height, centre[1] + radius + 1))
    half[rows] = _circle_rows(radius)[rows - centre[1] + radius]
    inside: Array = np.abs(np.arange(width) - centre[0]) <= half[:, None]
    return inside
