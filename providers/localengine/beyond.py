"""Where the finished photo reaches past the photo's edges: what it shows there, and when too much of
it would be made up.

Past the bottom edge (a photo cut at the chest) the body goes on: the warp repeats the edge rows,
and the person's colours there are blurred along the edge into a plain continuation of the clothes
(:func:`smooth_below`). Past the sides below the chin (a square frame around a portrait photo)
the edge column, repeated, showed what it holds there as grey streaks at shoulder height: a strip
of the old wall beside the hair, or the soft, half-background top of a shoulder. There the
person's outline at the edge goes on outwards along the slope of the shoulder just inside it;
below it the colour of the solid clothing at the edge, smoothed from row to row (a patterned cloth
would make stripes); above it nothing of the person, so the new background shows (:func:`widen`).

Both are made up, so both have a limit (:func:`check`): a photo that ends at the neck is refused
(``shoulders_cut_off``), and so is one too narrow for the frame (``too_narrow``): more than
``MAX_WIDENED`` of the finished photo made up beside one side, or more than ``MAX_UNSURE`` beside
a side whose edge the mask does not surely hold as the person below the shoulder (the models were
unsure of the clothes there, and no colour can be trusted to go on with: a jacket half lost to
the background, lace, hair falling past the edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from providers.localengine import imageops
from providers.localengine.arrays import Array
from providers.localengine.faces import FaceCheckError

#: Share of the finished photo that may show the person beyond the photo's bottom edge (repeated
#: edge rows): more, and the photo is refused as cut off below the chin. On the real-photo
#: benchmark a photo ending at the chest needs 0-2 % (unseen), one ending at the neck 8-17 % (stripes).
MAX_INVENTED = 0.05
#: Share of the finished photo that may show shoulders made up beyond one of the photo's sides, and
#: beyond a side whose edge is not surely the person (see the module). On the real-photo benchmark,
#: as a square 51x51 mm photo, up to 3.5 % beside one side (suits, plain tops, a bare shoulder) look
#: like the person's own shoulders, 4.5-5 % make a slab beside them, and beside unsure edges
#: 0.9-3 % make blocks of hair or lace colour.
MAX_WIDENED = 0.04
MAX_UNSURE = 0.005
#: Mask value above which a pixel is the person: for what is joined to the face, the hair's top and
#: the finished outline (pipeline.py), and here where the outline is found and the clothing's colour
#: taken.
SOLID = 0.5
#: The share of the edge below the shoulder that the mask holds as the person (over ``SOLID``) from
#: which the edge is surely the person. On the real-photo benchmark the clothes at the edge measure
#: 0.87-1; lace, a jacket half lost to the background and hair falling past the edge 0.19-0.80.
SURE_EDGE = 0.85
#: The band inside the edge where the shoulder's outline is read, and the narrower one where its
#: colour is, as shares of the face's width.
BAND = 0.25
COLOUR_BAND = 0.06
#: The outline's slope outwards (rows down per column out): a shoulder falls outwards; flatter or
#: rising (a raised shoulder, a stray of the mask) it is taken as this, steeper as an arm's.
MIN_SLOPE = 0.3
MAX_SLOPE = 2.0
#: The clothing's colour is taken from this share of the face's width below the shoulder's top, and
#: smoothed from row to row over this share of it.
TOP = 0.05
SMOOTH = 0.5
#: How wide, as a share of the finished photo's width, the person's colours are blurred along the
#: bottom edge where the body goes on past it (:func:`smooth_below`): enough to take a pattern's
#: stripes out, little enough that a white collar stays white beside a dark jacket. At a sixth, the
#: suit, the shirt and the neck of ``img_1771`` (real-photo benchmark) ran into one grey-brown bar.
BELOW_BLUR = 1 / 24


@dataclass(frozen=True)
class Window:
    """What the warp reads: the photo's pixels over a part of it (``source``, HxWx3, its first pixel
    at ``origin``, x and y, in the photo), and the person's mask over the same part at the mask's own
    resolution (``person``; ``corner``: where its first pixel's centre lies in the photo; ``step``:
    the photo's pixels per mask pixel, x and y)."""

    source: Array
    origin: tuple[float, float]
    person: Array
    corner: tuple[float, float]
    step: tuple[float, float]

    def matrices(self, linear: Array, offset: Array) -> tuple[Array, Array]:
        """The 2x3 matrices that take ``source`` and ``person`` into the finished photo, where
        ``linear`` and ``offset`` take the photo."""
        scale = np.array(self.step, dtype=np.float64)
        return (
            np.hstack([linear, (offset + linear @ np.array(self.origin))[:, None]]).astype(np.float32),
            np.hstack([linear * scale, (offset + linear @ np.array(self.corner))[:, None]]).astype(np.float32),
        )


@dataclass(frozen=True)
class Widened:
    """The window widened beyond the photo's sides, and whether the edge the shoulders went on from
    is surely the person on each side (left, right)."""

    window: Window
    sure: tuple[bool, bool]


def widen(window: Window, chin_row: int, columns: tuple[int, int], face_width: float) -> Widened:
    """``window`` widened by ``columns`` of the photo's pixels (left, right) beyond the photo's sides,
    which its edges are: the shoulders continued below the mask's ``chin_row`` (see the module)."""
    left, right = columns
    sx, sy = window.step
    source, person, sure = window.source, window.person, [True, True]
    origin, corner = window.origin, window.corner
    if left:
        colour, mask, sure[0] = _beyond_left(window, chin_row, left, face_width)
        source, person = np.concatenate([colour, source], axis=1), np.concatenate([mask, person], axis=1)
        origin, corner = (origin[0] - left, origin[1]), (corner[0] - mask.shape[1] * sx, corner[1])
    if right:
        # The same, in the window mirrored: its corner as far from the right edge as the mask's last
        # pixel centre is.
        edge = window.origin[0] + window.source.shape[1] - 1
        last = window.corner[0] + (window.person.shape[1] - 1) * sx
        flipped = window.source[:, ::-1], window.person[:, ::-1]
        mirrored = Window(flipped[0], (0.0, window.origin[1]), flipped[1], (edge - last, window.corner[1]), (sx, sy))
        colour, mask, sure[1] = _beyond_left(mirrored, chin_row, right, face_width)
        source = np.concatenate([source, colour[:, ::-1]], axis=1)
        person = np.concatenate([person, mask[:, ::-1]], axis=1)
    return Widened(Window(source, origin, person, corner, (sx, sy)), (sure[0], sure[1]))


def _beyond_left(window: Window, chin_row: int, columns: int, face_width: float) -> tuple[Array, Array, bool]:
    """What to put left of the photo's left edge, the first column of ``window``: ``columns`` of the
    photo's pixels, the mask's as many as cover them (with one more), and whether the edge is surely
    the person below the shoulder. The outline is found in the mask, in the window's pixels."""
    source, person = window.source, window.person
    sx, sy = window.step
    # Where the mask's pixel centres lie among the window's photo pixels.
    mask_x = window.corner[0] - window.origin[0]
    mask_y = window.corner[1] - window.origin[1]
    added = math.ceil(columns / sx) + 1
    colour = np.repeat(source[:, :1], columns, axis=1)  # the wall beside the head, under no person
    band = min(person.shape[1], max(2, round(BAND * face_width / sx)))
    solid: Array = person[:, :band] > SOLID
    solid[:chin_row] = False
    found = np.asarray(solid.any(axis=0))
    if not found[0]:
        return colour, np.zeros((person.shape[0], added), dtype=np.float32), True  # the person ends inside
    across = np.flatnonzero(found)
    xs = mask_x + across * sx
    tops = mask_y + np.argmax(solid, axis=0)[across] * sy
    fitted = -np.polyfit(xs, tops, 1)[0] if len(across) > 1 else MIN_SLOPE
    slope = float(np.clip(fitted, MIN_SLOPE, MAX_SLOPE))
    # Where that line meets the edge, as the band's outline says (the edge column alone may stick out).
    start = float(np.median(tops + slope * xs))
    # The mask's new columns, each a row of the photo's pixels below the outline.
    mask_xs = mask_x - sx * np.arange(added, 0, -1, dtype=np.float64)
    mask_ys = mask_y + sy * np.arange(person.shape[0], dtype=np.float64)[:, None]
    mask = np.clip((mask_ys - start - slope * np.maximum(-mask_xs, 0.0)) / sy + 0.5, 0.0, 1.0)
    # The colour, from the clothes in a narrow band of the edge, a little below the shoulder's top
    # (which is soft, half the old wall), each photo pixel weighted by the mask pixel it lies in.
    near = min(source.shape[1], max(1, round(COLOUR_BAND * face_width)))
    rows = np.clip(np.rint((np.arange(source.shape[0]) - mask_y) / sy).astype(int), 0, person.shape[0] - 1)
    bands = np.clip(np.rint((np.arange(near) - mask_x) / sx).astype(int), 0, person.shape[1] - 1)
    weights = person[rows[:, None], bands[None, :]]
    top = min(start, float(tops[0]))
    clothing = _clothing(source[:, :near], weights, round(top + TOP * face_width), face_width)
    photo_rows = np.arange(source.shape[0], dtype=np.float64)[:, None]
    outline = start + slope * np.arange(columns, 0, -1, dtype=np.float64)[None, :]
    colour = np.where((photo_rows >= outline - 2 * sy)[..., None], clothing[:, None, :], colour)
    edge = person[max(0, math.floor((top - mask_y) / sy)) :, : max(1, round(near / sx))]
    return colour.astype(np.float32), mask.astype(np.float32), bool((edge > SOLID).mean() >= SURE_EDGE)


def _clothing(source: Array, person: Array, top: int, face_width: float) -> Array:
    """The colour of each row's clothing (Hx3) in the band ``source``, from ``top`` down, weighted
    by the ``person``'s mask (over the same pixels) where it holds the person, smoothed from row to
    row; a row with none takes the next one's."""
    weights = np.where(person > SOLID, person, 0.0)
    weights[:top] = 0.0
    if not weights.any():
        return np.broadcast_to(source.mean(axis=(0, 1)), (source.shape[0], 3)).astype(np.float32)
    weight = weights.sum(axis=1).astype(np.float32)
    sums = (source * weights[..., None]).sum(axis=1)
    side = max(3, round(SMOOTH * face_width)) | 1
    smooth = imageops.box_mean(np.concatenate([sums, weight[:, None]], axis=1)[:, None, :], 1, side)[:, 0, :]
    known = np.flatnonzero(smooth[:, 3] > 1e-3)
    nearest = known[np.clip(np.searchsorted(known, np.arange(len(smooth))), 0, len(known) - 1)]
    colours: Array = smooth[nearest, :3] / smooth[nearest, 3:]
    return colours.astype(np.float32)


@dataclass(frozen=True)
class Outside:
    """Where the finished photo lies beyond the photo's left and right edges (below its bottom
    edge excepted) and beyond its bottom edge, each HxW bool."""

    left: Array
    right: Array
    below: Array

    @classmethod
    def of(cls, linear: Array, offset: Array, shape: tuple[int, ...], size: tuple[int, int]) -> Outside:
        """The finished photo of ``size`` (width, height) that ``linear`` and ``offset`` map the
        photo of ``shape`` into."""
        width, height = size
        ys, xs = np.mgrid[0:height, 0:width]
        points = np.stack([xs.ravel(), ys.ravel()]).astype(np.float64) - offset[:, None]
        source_x, source_y = (np.linalg.inv(linear) @ points).reshape(2, height, width)
        below = source_y > shape[0] - 1
        return cls(left=(source_x < 0) & ~below, right=(source_x > shape[1] - 1) & ~below, below=below)


def check(outside: Outside, person: Array, sure: tuple[bool, bool]) -> None:
    """Refuses a photo that would need too much of the ``person`` (HxW bool, the finished photo)
    made up beyond its edges (see the module); ``sure``: whether each side's edge is surely the
    person."""
    if float((outside.below & person).mean()) > MAX_INVENTED:
        raise FaceCheckError("shoulders_cut_off")
    for side, sure_edge in zip((outside.left, outside.right), sure, strict=True):
        if float((side & person).mean()) > (MAX_WIDENED if sure_edge else MAX_UNSURE):
            raise FaceCheckError("too_narrow")


def smooth_below(image: Array, alpha: Array, below: Array) -> Array:
    """Where the person goes on past the photo's bottom edge the warp repeats the edge rows, which
    turns any pattern there (a collar, a striped shirt, hair) into stripes: there the person's
    colours (weighted by ``alpha``, so that the old wall beside the body does not run into it) are
    blurred along the edge (``BELOW_BLUR``) into a plain continuation of the clothes."""
    if not below.any():
        return image
    width = image.shape[1]
    side = max(3, round(BELOW_BLUR * width)) | 1
    weighted = np.concatenate([image * alpha[..., None], alpha[..., None]], axis=2)
    sums = imageops.box_mean(imageops.box_mean(weighted, side, 1), side, 1)
    smooth = np.where(sums[..., 3:] > 1e-3, sums[..., :3] / np.maximum(sums[..., 3:], 1e-3), image)
    fade = imageops.box_mean(below.astype(np.float32), 9)[..., None]
    blended: Array = image * (1 - fade) + smooth * fade
    return blended
