"""The small image operations the engine needs, in NumPy and Pillow (OpenCV, 170 MB installed, is not
a dependency of the run install).

Where the engine's verdicts hang on exact pixels the operation does what OpenCV did to the bit: the
warps that feed the face models (bilinear in 1/32 of a pixel with 15-bit integer weights, the
transform solved and inverted in OpenCV's order of operations), remap, luma, 8-bit Lab's L*, Sobel,
Laplacian, the 3x3 chamfer distances (as morphology with the distance's own octagon), OpenCV's
filled circles and elliptic elements, 8-connected components. Elsewhere it is the same operation in
floating point (box means by running sums, area resizes by block sums, the mask's enlargement and
the finished photo's warp with Pillow), which differs from OpenCV's by rounding, and, for the
bicubic warp, by Pillow's sharper kernel (a = -1 against OpenCV's -0.75).

Images are HxW or HxWxC arrays; points are (x, y) in pixels, pixel centres at whole numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from providers.localengine.arrays import Array

#: How a filter sees past the image's edge: ``reflect`` repeats the edge pixel (``cba|abc``),
#: ``reflect101`` does not (``cb|abc``, OpenCV's default).
Border = Literal["reflect", "reflect101"]

# Bilinear sampling as OpenCV's warps and remap do it on 8-bit images: coordinates rounded to
# 1/_TAB of a pixel, four integer weights summing to 1 << _COEF_BITS.
_TAB_BITS = 5
_TAB = 1 << _TAB_BITS
_COEF_BITS = 15
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


def _component_runs(mask: Array, row: int, column: int) -> tuple[Array, Array, Array]:
    """The runs of the 8-connected component of ``mask`` that holds (``row``, ``column``), which
    must be in the mask: the mask's runs labelled, joining those that touch in the next row."""
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
    seed = int(np.searchsorted(start_keys, row * key + column, side="right")) - 1
    chosen = labels == labels[seed]
    return rows[chosen], starts[chosen], ends[chosen]


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


# -- resampling ---------------------------------------------------------------------------------------


def _channels(image: Array) -> list[Array]:
    return [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]


def _stack(planes: list[Array], like: Array) -> Array:
    out: Array = planes[0] if like.ndim == 2 else np.stack(planes, axis=-1)
    return out


def _span_sums(image: Array, starts: Array, dtype: type) -> Array:
    """``np.add.reduceat(image, starts, axis=0, dtype=dtype)`` for increasing ``starts``, to the bit:
    reduceat adds to a span's first row the sum of the others, which NumPy adds one after the other
    while they are fewer than 8 (pairwise beyond). Here a row of every span at a time (reduceat along
    the rows costs several times more); spans of more than 8 rows are left to reduceat."""
    counts = np.diff(starts, append=len(image))
    longest = int(counts.max())
    if longest > 8:
        return np.add.reduceat(image, starts, axis=0, dtype=dtype)
    sums: Array = image[starts].astype(dtype)
    if longest > 1:
        shape = (-1,) + (1,) * (image.ndim - 1)
        rest = image[np.minimum(starts + 1, len(image) - 1)].astype(dtype)
        for k in range(2, longest):
            np.add(rest, image[np.minimum(starts + k, len(image) - 1)], out=rest, where=(counts > k).reshape(shape))
        np.add(sums, rest, out=sums, where=(counts > 1).reshape(shape))
    return sums


def _area_rows(image: Array, n_out: int) -> Array:
    """The mean over each of ``n_out`` equal spans of rows of ``image`` (fewer than its rows), rows
    that a span's ends cut weighted by the part inside it; float32. Block by block: whole rows
    summed (8-bit pixels in 16 bits, exactly), then the cut rows' parts taken off and added."""
    n_in = image.shape[0]
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    whole = np.minimum(np.floor(edges).astype(np.int64), n_in)
    cut = (edges - whole).astype(np.float32).reshape([n_out + 1] + [1] * (image.ndim - 1))
    exact = image.dtype == np.uint8 and n_in / n_out < 256
    # Each span's whole rows (a span has at least one: fewer rows come out than go in).
    blocks = _span_sums(image[: whole[-1]], whole[:-1], np.uint16 if exact else np.float32)
    sums = blocks.astype(np.float32, copy=False)
    sums -= image[whole[:-1]] * cut[:-1]
    tail = np.where((whole[1:] < n_in).reshape(cut[1:].shape), cut[1:], np.float32(0))
    sums += image[np.minimum(whole[1:], n_in - 1)] * tail
    sums *= np.float32(n_out / n_in)
    return sums


def _area_columns(image: Array, n_out: int) -> Array:
    """:func:`_area_rows` across the columns, from running sums along the rows (float32)."""
    n_in = image.shape[1]
    running = np.zeros((image.shape[0], n_in + 1, *image.shape[2:]), dtype=np.float32)
    np.cumsum(image, axis=1, dtype=np.float32, out=running[:, 1:])
    edges = np.arange(n_out + 1, dtype=np.float64) * (n_in / n_out)
    whole = np.minimum(np.floor(edges).astype(np.int64), n_in - 1)
    cut = (edges - whole).astype(np.float32).reshape([1, n_out + 1] + [1] * (image.ndim - 2))
    # The running sum at a fractional position: the whole pixels before it and the cut part of the next.
    at = running[:, whole] + (running[:, whole + 1] - running[:, whole]) * cut
    means: Array = (at[:, 1:] - at[:, :-1]) * np.float32(n_out / n_in)
    return means


def reduce_box(image: Array, size: tuple[int, int]) -> Array:
    """An 8-bit image (HxW or HxWx3) reduced to ``size`` (width, height) by Pillow's box filter, each
    pixel about the mean of the area it covers: a tenth of :func:`resize_area`'s CPU on a phone
    photo, within a few levels of it (Pillow rounds between its two passes). For what the cut-out
    models read, where no verdict hangs on the exact pixels. An axis that grows is interpolated as
    :func:`resize_area` does (a box filter would repeat pixels)."""
    if size[0] > image.shape[1] or size[1] > image.shape[0]:
        return resize_area(image, size)
    reduced = Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.Resampling.BOX)
    return np.asarray(reduced)


def resize_area(image: Array, size: tuple[int, int]) -> Array:
    """``image`` reduced to ``size`` (width, height), each pixel the mean of the area it covers
    (OpenCV's INTER_AREA); an axis that grows is interpolated (:func:`resize_linear`). uint8 stays
    uint8 (rounded), anything else becomes float32."""
    width, height = size
    out = np.asarray(image)
    if height < out.shape[0]:
        out = _area_rows(out, height)
    if width < out.shape[1]:
        out = _area_columns(out, width)
    if (out.shape[1], out.shape[0]) != (width, height):
        planes = [resize_linear(p, size) for p in _channels(out.astype(np.float32))]
        out = _stack(planes, out)
    result: Array = (
        np.clip(np.rint(out), 0, 255).astype(np.uint8) if image.dtype == np.uint8 else out.astype(np.float32)
    )
    return result


def _linear_taps(n_in: int, n_out: int) -> tuple[Array, Array, Array]:
    """Two source pixels and the second's weight for each output pixel, pixel centres aligned."""
    centres = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    low = np.floor(centres)
    weight = (centres - low).astype(np.float32)
    low_index = low.astype(np.int64)
    weight = np.where(low_index < 0, np.float32(0), weight)
    weight = np.where(low_index >= n_in - 1, np.float32(0), weight)
    first = np.clip(low_index, 0, n_in - 1)
    return first, np.clip(low_index + 1, 0, n_in - 1), weight


def resize_linear(image: Array, size: tuple[int, int]) -> Array:
    """``image`` (float, HxW) resized to ``size`` (width, height) by bilinear interpolation between
    the nearest pixel centres, edges repeated, without smoothing when reducing (OpenCV's
    INTER_LINEAR), float32."""
    width, height = size
    source = np.asarray(image, dtype=np.float32)
    if width >= source.shape[1] and height >= source.shape[0]:
        enlarged = Image.fromarray(np.ascontiguousarray(source), "F").resize(size, Image.Resampling.BILINEAR)
        return np.array(enlarged)  # writable, as the callers expect
    left, right, across = _linear_taps(source.shape[1], width)
    rows = source[:, left] * (1 - across) + source[:, right] * across
    top, bottom, down = _linear_taps(source.shape[0], height)
    out: Array = (rows[top] * (1 - down)[:, None] + rows[bottom] * down[:, None]).astype(np.float32)
    return out


def _cubic_weights(t: Array) -> Array:
    """OpenCV's bicubic weights (A = -0.75) for the four pixels around fractions ``t``, N x 4."""
    a = -0.75
    x = t[:, None] + np.array([1.0, 0.0, -1.0, -2.0])
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    weights: Array = np.where(x <= 1, near, far)
    weights[:, 3] = 1 - weights[:, :3].sum(axis=1)
    return weights


def resize_cubic(image: Array, size: tuple[int, int]) -> Array:
    """``image`` (float, HxW) enlarged to ``size`` (width, height) by OpenCV's bicubic interpolation
    (edges repeated), float32."""
    width, height = size
    source = np.asarray(image, dtype=np.float64)
    for axis, n_out in ((1, width), (0, height)):
        n_in = source.shape[axis]
        centres = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        low = np.floor(centres)
        taps = np.clip(low.astype(np.int64)[:, None] + np.arange(-1, 3), 0, n_in - 1)
        weights = _cubic_weights(centres - low)
        if axis == 1:
            source = (source[:, taps] * weights[None]).sum(axis=2)
        else:
            source = (source[taps] * weights[:, :, None]).sum(axis=1)
    out: Array = source.astype(np.float32)
    return out


def sample_bilinear(image: Array, xs: Array, ys: Array, *, zero_outside: bool = False) -> Array:
    """An RGB uint8 ``image`` sampled at the points (``xs``, ``ys``) of any shape, bilinear in 1/32
    of a pixel with 15-bit integer weights as OpenCV's remap and warps do; past the edges the edge
    pixel repeats, or black with ``zero_outside``. uint8, the points' shape x 3."""
    fx = np.rint(np.asarray(xs, dtype=np.float64) * _TAB).astype(np.int32)
    fy = np.rint(np.asarray(ys, dtype=np.float64) * _TAB).astype(np.int32)
    return _bilinear_fixed(image, fx, fy, zero_outside)


def _bilinear_fixed(image: Array, fx: Array, fy: Array, zero_outside: bool) -> Array:
    """:func:`sample_bilinear` at points given in 1/32 of a pixel (int32; ``fx`` and ``fy`` may be a
    row and a column that broadcast to the points' shape)."""
    height, width, channels = image.shape
    fx, fy = np.broadcast_arrays(fx, fy)
    shape = fx.shape
    fx, fy = fx.ravel(), fy.ravel()
    left, right, w_left, w_right = _taps(fx, width, zero_outside)
    top, bottom, w_top, w_bottom = _taps(fy, height, zero_outside)
    # OpenCV's 15-bit weights are (32 - t) or t across times (32 - t) or t down, over 32: its sum,
    # (s x 32 + 2**14) >> 15, is (s + 2**9) >> 10 here. The weights factor, so the two pairs of
    # neighbours are blended across first (exact in 16 bits), then down. Per channel, the values of
    # a point side by side in one long line, which NumPy multiplies far faster than pixels of 3.
    flat = image.reshape(-1, channels)
    top, bottom = top * width, bottom * width

    def across(line: Array) -> Array:
        blend: Array = np.take(flat, line + left, axis=0).ravel() * np.repeat(w_left, channels)
        blend += np.take(flat, line + right, axis=0).ravel() * np.repeat(w_right, channels)
        return blend

    total = across(top) * np.repeat(w_top.astype(np.uint32), channels)
    total += across(bottom) * np.repeat(w_bottom.astype(np.uint32), channels)
    total += 1 << (2 * _TAB_BITS - 1)
    total >>= 2 * _TAB_BITS
    out: Array = total.astype(np.uint8).reshape(*shape, channels)
    return out


def _invert3(m: Array) -> list[list[float]]:
    """The inverse of a 3x3 matrix by its adjugate, in OpenCV's order of operations (invert() of a
    3x3 double matrix): its crops depend on the last bit where a point falls half-way between two
    1/32 steps, as a letterbox's points do."""
    a = [[float(v) for v in row] for row in m]
    det = (
        a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
    )
    d = 1.0 / det
    return [
        [
            (a[1][1] * a[2][2] - a[1][2] * a[2][1]) * d,
            (a[0][2] * a[2][1] - a[0][1] * a[2][2]) * d,
            (a[0][1] * a[1][2] - a[0][2] * a[1][1]) * d,
        ],
        [
            (a[1][2] * a[2][0] - a[1][0] * a[2][2]) * d,
            (a[0][0] * a[2][2] - a[0][2] * a[2][0]) * d,
            (a[0][2] * a[1][0] - a[0][0] * a[1][2]) * d,
        ],
        [
            (a[1][0] * a[2][1] - a[1][1] * a[2][0]) * d,
            (a[0][1] * a[2][0] - a[0][0] * a[2][1]) * d,
            (a[0][0] * a[1][1] - a[0][1] * a[1][0]) * d,
        ],
    ]


def warp_perspective(image: Array, matrix: Array, size: tuple[int, int], *, zero_outside: bool) -> Array:
    """An RGB uint8 ``image`` warped by the 3x3 ``matrix`` (photo to output) into ``size`` (width,
    height), as OpenCV's warpPerspective with INTER_LINEAR does it (see :func:`sample_bilinear`),
    its coordinates computed as it computes them: per block of 64 columns a start, then a step."""
    width, height = size
    m = _invert3(matrix)
    block = min(1024 // min(16, height), width)
    starts = np.arange(0, width, block, dtype=np.float64)
    steps = np.arange(width, dtype=np.float64) - np.repeat(starts, block)[:width]
    rows = np.arange(height, dtype=np.float64)[:, None]
    if m[0][1] == m[1][0] == m[2][0] == m[2][1] == 0:
        # Neither turned nor in perspective (a letterbox): x hangs on the column alone and y on the
        # row alone (the other's terms are zeros), so each is worked out once, not once a pixel.
        fx, _ = _fixed_coordinates(m, (starts, block, steps), rows[:1])
        _, fy = _fixed_coordinates(m, (starts[:1], block, steps[:1]), rows)
        return _bilinear_separable(image, fx[0], fy[:, 0], zero_outside)
    fx, fy = _fixed_coordinates(m, (starts, block, steps), rows)
    return _bilinear_fixed(image, fx, fy, zero_outside)


def _taps(fixed: Array, n: int, zero_outside: bool) -> tuple[Array, Array, Array, Array]:
    """Along one axis, for points in 1/32 of a pixel: the two neighbours (clipped to the ``n``
    pixels) and their weights (32 - t and t; 0 for a neighbour past the edge with ``zero_outside``)."""
    low = fixed >> _TAB_BITS
    t = (fixed & (_TAB - 1)).astype(np.uint16)
    first, second = _TAB - t, t
    if zero_outside:
        first = first * ((low >= 0) & (low < n))
        second = second * ((low >= -1) & (low < n - 1))
    # np.minimum and np.maximum, not np.clip: its Python wrapper costs more than the work here.
    first_index = np.minimum(np.maximum(low, 0), n - 1)
    second_index = np.minimum(np.maximum(low + 1, 0), n - 1)
    return first_index, second_index, first.astype(np.uint16), second.astype(np.uint16)


def _bilinear_separable(image: Array, fx: Array, fy: Array, zero_outside: bool) -> Array:
    """:func:`_bilinear_fixed` on the grid of the columns ``fx`` by the rows ``fy`` (1/32 of a pixel,
    1-D). The integer weights are a row's times a column's, so the sum is the same when the rows read
    are first blended down (whole rows copied, exact in 16 bits) and those then across: a tenth of
    the gathers. The rows are long lines of values (a pixel's channels side by side), which NumPy
    multiplies far faster than pixels of 3. Rows and columns that read nothing but black past the
    edges (a letterbox's bands) are left black without being worked out."""
    height, width, channels = image.shape
    top, bottom, w_top, w_bottom = _taps(fy, height, zero_outside)
    left, right, w_left, w_right = _taps(fx, width, zero_outside)
    out = np.zeros((len(fy), len(fx), channels), dtype=np.uint8)
    live_rows, live_columns = np.flatnonzero(w_top | w_bottom), np.flatnonzero(w_left | w_right)
    if not len(live_rows) or not len(live_columns):
        return out
    rows = slice(live_rows[0], live_rows[-1] + 1)
    columns = slice(live_columns[0], live_columns[-1] + 1)
    lines = image.reshape(height, width * channels)
    down = lines[top[rows]] * w_top[rows, None]
    down += lines[bottom[rows]] * w_bottom[rows, None]
    down = down.reshape(-1, width, channels)
    n = len(down)
    total = np.take(down, left[columns], axis=1).reshape(n, -1) * np.repeat(w_left[columns].astype(np.uint32), channels)
    total += np.take(down, right[columns], axis=1).reshape(n, -1) * np.repeat(
        w_right[columns].astype(np.uint32), channels
    )
    total += 1 << (2 * _TAB_BITS - 1)
    total >>= 2 * _TAB_BITS
    out[rows, columns] = total.reshape(n, -1, channels)
    return out


def _fixed_coordinates(m: list[list[float]], columns: tuple[Array, int, Array], rows: Array) -> tuple[Array, Array]:
    """Where :func:`warp_perspective` (the inverse matrix ``m``) reads the output's pixels, in 1/32
    of a pixel: ``columns`` given as the starts of their blocks, the blocks' width and each column's
    step from its block's start; ``rows`` a column. A block's start is worked out once a row, then
    spread over its columns."""
    starts, block, steps = columns

    def per_pixel(row: list[float]) -> Array:
        at_start = row[0] * starts + row[1] * rows + row[2]
        out: Array = np.repeat(at_start, block, axis=1)[:, : len(steps)]
        out += row[0] * steps
        return out

    w: Array | float
    # A turned crop's perspective terms are rounding noise (1e-18): where they cannot move the
    # divisor off m[2][2] by an eighth of its last bit anywhere, it is that constant, and the points are
    # the same without a division per pixel.
    reach = abs(m[2][0]) * (float(starts[-1]) + float(steps.max())) + abs(m[2][1]) * float(rows.max())
    if m[2][2] != 0 and reach < float(np.spacing(abs(m[2][2]))) / 8:
        w = _TAB / m[2][2]
    else:
        w = per_pixel(m[2])
        nonzero = w != 0
        np.divide(_TAB, w, out=w, where=nonzero)
        w[~nonzero] = 0
    limit = float(np.iinfo(np.int32).max)
    fixed = []
    for row in m[:2]:
        value = per_pixel(row)
        value *= w
        np.clip(value, -limit - 1, limit, out=value)
        fixed.append(np.rint(value, out=value).astype(np.int32))
    return fixed[0], fixed[1]


def perspective_from_points(source: Array, target: Array) -> Array:
    """The 3x3 perspective transform that maps four ``source`` points (4 x 2) onto ``target``: the
    8x8 system solved as OpenCV's getPerspectiveTransform solves it (LU with partial pivoting, in
    its order of operations)."""
    src = [(float(x), float(y)) for x, y in source]
    dst = [(float(u), float(v)) for u, v in target]
    a = [[0.0] * 8 for _ in range(8)]
    b = [0.0] * 8
    for i in range(4):
        (x, y), (u, v) = src[i], dst[i]
        a[i][0] = a[i + 4][3] = x
        a[i][1] = a[i + 4][4] = y
        a[i][2] = a[i + 4][5] = 1.0
        # Products of the float32 points, in float32 as OpenCV multiplies them.
        fx, fy, fu, fv = (np.float32(value) for value in (x, y, u, v))
        a[i][6], a[i][7] = float(-fx * fu), float(-fy * fu)
        a[i + 4][6], a[i + 4][7] = float(-fx * fv), float(-fy * fv)
        b[i], b[i + 4] = u, v
    for i in range(8):
        pivot = max(range(i, 8), key=lambda j: (abs(a[j][i]), -j))
        if pivot != i:
            a[i][i:], a[pivot][i:] = a[pivot][i:], a[i][i:]
            b[i], b[pivot] = b[pivot], b[i]
        d = -1 / a[i][i]
        for j in range(i + 1, 8):
            alpha = a[j][i] * d
            for k in range(i + 1, 8):
                a[j][k] += alpha * a[i][k]
            b[j] += alpha * b[i]
    for i in range(7, -1, -1):
        total = b[i]
        for k in range(i + 1, 8):
            total -= a[i][k] * b[k]
        b[i] = total / a[i][i]
    return np.array([*b, 1.0]).reshape(3, 3)


def rotated_rect_corners(centre: tuple[float, float], size: tuple[float, float], degrees: float) -> Array:
    """The corners (4 x 2) of a ``size`` (width, height) rectangle about ``centre`` turned by
    ``degrees``: bottom-left, top-left, top-right, bottom-right before turning (OpenCV's boxPoints)."""
    # In float32, as OpenCV computes them (the crops of the face models are compared with it).
    angle = math.radians(degrees)
    half = np.float32(0.5)
    b, a = np.float32(math.cos(angle)) * half, np.float32(math.sin(angle)) * half
    cx, cy = np.float32(centre[0]), np.float32(centre[1])
    w, h = np.float32(size[0]), np.float32(size[1])
    first = (cx - a * h - b * w, cy + b * h - a * w)
    second = (cx + a * h - b * w, cy - b * h - a * w)
    two = np.float32(2)
    corners = [first, second, (two * cx - first[0], two * cy - first[1]), (two * cx - second[0], two * cy - second[1])]
    return np.array(corners, dtype=np.float32)


def warp_affine(image: Array, matrix: Array, size: tuple[int, int], *, cubic: bool = False) -> Array:
    """A float ``image`` (HxW or HxWxC) warped by the 2x3 affine ``matrix`` (image to output) into
    ``size`` (width, height), bilinear or (``cubic``) bicubic, the edge pixels repeated beyond the
    image's edges; float32. Pillow resamples each channel in float ('F')."""
    width, height = size
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(full)[:2]
    # Where the output reads, in the image's pixels. Pillow repeats the edge pixels for the taps of
    # a point inside the image (to half a pixel past its edge centres) and gives 0 beyond: where the
    # output reads further out the image is first padded with its edge.
    corners = np.array([[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]], dtype=float)
    reads = corners @ inverse.T
    rows, columns = image.shape[:2]

    def beyond(distance: float) -> int:
        return math.ceil(distance) + 1 if distance > -0.5 else 0

    left, top = beyond(-reads[:, 0].min()), beyond(-reads[:, 1].min())
    right, bottom = beyond(reads[:, 0].max() - (columns - 1)), beyond(reads[:, 1].max() - (rows - 1))
    source = np.asarray(image, dtype=np.float32)
    if left or top or right or bottom:
        pad = [(top, bottom), (left, right)] + [(0, 0)] * (source.ndim - 2)
        source = np.pad(source, pad, mode="edge")
    # Pillow maps each output pixel's centre (x + 1/2) to the input's continuous coordinates, whose
    # pixel centres are at + 1/2: the same matrix, shifted.
    a, b, c = inverse[0]
    d, e, f = inverse[1]
    c += left + 0.5 - 0.5 * (a + b)
    f += top + 0.5 - 0.5 * (d + e)
    resample = Image.Resampling.BICUBIC if cubic else Image.Resampling.BILINEAR
    planes = [
        np.array(
            Image.fromarray(np.ascontiguousarray(plane), "F").transform(
                (width, height), Image.Transform.AFFINE, (a, b, c, d, e, f), resample=resample
            )
        )
        for plane in _channels(source)
    ]
    return _stack(planes, source)
