"""Resizing and warping images in NumPy and Pillow, as the engine needs them (OpenCV is not a
dependency of the run install).

Where the engine's verdicts hang on exact pixels the operation does what OpenCV did to the bit: the
warps that feed the face models (bilinear in 1/32 of a pixel with 15-bit integer weights, the
transform solved and inverted in OpenCV's order of operations) and remap. The quick check before
charging cuts Face Mesh's turned square out by Pillow instead (:func:`turned_crop`): the same points
read, rounded in floating point. Elsewhere it is the same
operation in floating point (area resizes by block sums, the mask's enlargement and the finished
photo's warp with Pillow), which differs from OpenCV's by rounding, and, for the bicubic warp, by
Pillow's sharper kernel (a = -1 against OpenCV's -0.75).

Images are HxW or HxWxC arrays; points are (x, y) in pixels, pixel centres at whole numbers.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from providers.localengine.arrays import Array

# Bilinear sampling as OpenCV's warps and remap do it on 8-bit images: coordinates rounded to
# 1/_TAB of a pixel, four integer weights summing to 1 << _COEF_BITS.
_TAB_BITS = 5
_TAB = 1 << _TAB_BITS
_COEF_BITS = 15


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
        out = resize_linear(out, size)
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
    """``image`` (float, HxW or HxWxC, each channel apart) resized to ``size`` (width, height) by
    bilinear interpolation between the nearest pixel centres, edges repeated, without smoothing
    when reducing (OpenCV's INTER_LINEAR), float32."""
    source = np.asarray(image, dtype=np.float32)
    if source.ndim == 3:
        return _stack([_resize_plane(plane, size) for plane in _channels(source)], source)
    return _resize_plane(source, size)


def _resize_plane(source: Array, size: tuple[int, int]) -> Array:
    width, height = size
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
    data = _pillow_affine(inverse, left, top)
    resample = Image.Resampling.BICUBIC if cubic else Image.Resampling.BILINEAR
    planes = [
        np.array(
            Image.fromarray(np.ascontiguousarray(plane), "F").transform(
                (width, height), Image.Transform.AFFINE, data, resample=resample
            )
        )
        for plane in _channels(source)
    ]
    return _stack(planes, source)


def _pillow_affine(inverse: Array, shift_x: float, shift_y: float) -> tuple[float, ...]:
    """Pillow's AFFINE data for the 2x3 ``inverse`` map (output pixel to image point, pixel centres
    at whole numbers) read from a source whose (0, 0) is the image's (-``shift_x``, -``shift_y``):
    Pillow maps each output pixel's centre (x + 1/2) to the source's continuous coordinates, whose
    pixel centres are at + 1/2, so the same map, shifted."""
    (a, b, c), (d, e, f) = (float(v) for v in inverse[0]), (float(v) for v in inverse[1])
    return a, b, c + (shift_x + 0.5 - 0.5 * (a + b)), d, e, f + (shift_y + 0.5 - 0.5 * (d + e))


def turned_crop(image: Array, corners: Array, side: int) -> Array:
    """The part of an RGB uint8 ``image`` within ``corners`` (4 x 2, as :func:`rotated_rect_corners`
    gives them: bottom-left, top-left, top-right, bottom-right) as a ``side`` x ``side`` uint8
    square, bilinear by Pillow (rounding apart, the points OpenCV's warp reads), the edge pixels
    repeated past the image's edges. Only the window the square reads is copied (and padded where
    it lies past the edges): Face Mesh's turned square in about half the exact warp's CPU."""
    origin = corners[1].astype(np.float64)
    across = (corners[2] - corners[1]).astype(np.float64) / side
    down = (corners[0] - corners[1]).astype(np.float64) / side
    rows, columns = image.shape[:2]
    low = np.floor(corners.min(axis=0)).astype(int) - 2
    high = np.ceil(corners.max(axis=0)).astype(int) + 3
    # The window: what the square reads of the image (at least its nearest edge pixel), and as many
    # copies of its edge as it reads past the image's sides.
    start, pad = [], []
    for axis, n in ((0, columns), (1, rows)):
        first = min(max(int(low[axis]), 0), n - 1)
        last = max(min(int(high[axis]), n), first + 1)
        before, after = max(0, first - int(low[axis])), max(0, int(high[axis]) - last)
        start.append((first, last, before))
        pad.append((before, after))
    (x_first, x_last, left), (y_first, y_last, top) = start
    window = image[y_first:y_last, x_first:x_last]
    if any(before or after for before, after in pad):
        window = np.pad(window, (pad[1], pad[0], (0, 0)), mode="edge")
    # An output pixel u reads the image at origin + u * across + v * down; the window starts at
    # (x_first - left, y_first - top) of the image.
    inverse = np.column_stack([across, down, origin])
    data = _pillow_affine(inverse, left - x_first, top - y_first)
    with Image.fromarray(np.ascontiguousarray(window), "RGB") as source:
        turned = source.transform((side, side), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return np.asarray(turned)
