"""Hair over the eyebrows and the eyes, from the lightness around each eyebrow.

Along each eyebrow (Face Mesh's upper and lower brow edges, and the upper lid below it) three
bands are read: the brow itself, a band of forehead just above it, and the lid between brow and
eye. On a bare face the forehead and the lid are skin, about as light as the cheek below that eye;
hair that falls over the brow makes the band above it as dark as the brow, and hair that reaches
the eye the lid too. Each band is placed on the scale from that eye's brow (0) to its cheek (1),
which holds for dark and light skin, dark and light hair, and a face lit from one side. Blond
hair over blond brows on light skin hardly differs from the skin and is not seen.

The outer quarter of each brow is left out: there the brow meets the temple, which long hair
covers on many faces that an office accepts. A few hundred pixels are read: they are sampled from
the photo first and only they are converted to CIE L*, which keeps the cost at about a millisecond
of CPU however large the face (0.9 ms median, 1.4 ms at most over the real-photo benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from providers.localengine import imageops, resample
from providers.localengine.arrays import Array
from providers.localengine.landmarks import CHEEK_LEFT, CHEEK_RIGHT, Landmarks
from providers.localengine.office import CHEEK_DISC

#: Face Mesh indices, outer end to inner end, for the eye on the left and on the right of the
#: picture: the brow's upper edge, its lower edge, and the upper lid (every other point).
BROWS = (
    ((70, 63, 105, 66, 107), (46, 53, 52, 65, 55), (246, 160, 159, 158, 173), CHEEK_LEFT),
    ((300, 293, 334, 296, 336), (276, 283, 282, 295, 285), (466, 387, 386, 385, 398), CHEEK_RIGHT),
)
#: Points read along a brow, and across each band; the cheek is read at CHEEK_GRID x CHEEK_GRID
#: points over its disc's square (those inside the disc count).
ALONG, ACROSS = 16, 5
CHEEK_GRID = 7
#: The share of a brow's length, from its outer end, that is not read (the temple).
OUTER = 0.25
#: A band is covered where it is this close to the brow's darkness, on the brow (0) to cheek (1)
#: scale: bare foreheads measure 0.7-1.5 on the real-photo benchmark, fringes over the brow -0.3-0.4.
COVERED = 0.45
#: The lid is covered (hair at the eye) where it is this dark, and the forehead above it covered too:
#: shadowed deep-set eyes and make-up darken the lid of bare faces, but not the forehead above.
LID_COVERED = 0.3
#: Below this brow-to-cheek difference (CIE L*) the brow hardly shows against the skin, and
#: nothing can be told from it.
MIN_CONTRAST = 8.0


@dataclass(frozen=True)
class HairOverEyes:
    """Of the more covered eye: the share of its brow's length covered by hair (0-1), and the share
    where the hair reaches down over the lid to the eye."""

    brows: float = 0.0
    eyes: float = 0.0


def _grid(upper: Array, lower: Array, lid: Array, cheek: Array, radius: float) -> Array:
    """Where to read, as (3 * ACROSS + CHEEK_GRID, max(ALONG, CHEEK_GRID), 2) points: the forehead
    band above the brow, the brow, and the lid band below it, each ACROSS rows of ALONG points from
    the brow's outer to its inner end; then the square around the cheek's disc."""
    t = np.linspace(0, len(upper) - 1, ALONG)
    index = np.arange(len(upper))

    def along(points: Array) -> Array:
        return np.stack([np.interp(t, index, points[:, 0]), np.interp(t, index, points[:, 1])], axis=1)

    top, bottom, eye = along(upper), along(lower), along(lid)
    up = upper.mean(axis=0) - lid.mean(axis=0)  # from the eye to the brow: its length is the brow's height
    share = np.linspace(0, 1, ACROSS)[:, None, None]
    bands = np.concatenate(
        [
            top + (0.15 + 0.4 * share) * up,  # forehead above the brow
            bottom + (0.25 + 0.5 * share) * (top - bottom),  # the brow
            eye + (0.35 + 0.4 * share) * (bottom - eye),  # the lid, below the brow
        ]
    )
    offsets = np.linspace(-radius, radius, CHEEK_GRID)
    square = cheek + np.stack(np.meshgrid(offsets, offsets), axis=-1)
    width = max(ALONG, CHEEK_GRID)
    grid = np.zeros((3 * ACROSS + CHEEK_GRID, width, 2))
    grid[: 3 * ACROSS, :ALONG] = bands
    grid[3 * ACROSS :, :CHEEK_GRID] = square
    return grid


def hair_over_eyes(rgb: Array, marks: Landmarks) -> HairOverEyes:
    """How far hair covers the eyebrows and the eyes (see the module's docstring)."""
    radius = CHEEK_DISC * marks.face_width
    offsets = np.linspace(-1, 1, CHEEK_GRID)
    in_disc = np.hypot(*np.meshgrid(offsets, offsets)) <= 1
    inner = slice(round(OUTER * ALONG), ALONG)
    points = marks.points[:, :2]
    # Both eyes' points are read and converted at once, then judged one eye at a time.
    grids = np.stack(
        [
            _grid(points[list(upper)], points[list(lower)], points[list(lid)], points[cheek], radius)
            for upper, lower, lid, cheek in BROWS
        ]
    ).astype(np.float32)
    lightness = imageops.lightness(resample.sample_bilinear(rgb, grids[..., 0], grids[..., 1]))
    bands = np.median(lightness[:, : 3 * ACROSS, :ALONG].reshape(len(BROWS), 3, ACROSS, ALONG), axis=2)
    brows, eyes = 0.0, 0.0
    for (forehead, brow, lid_band), around in zip(bands, lightness, strict=True):
        skin = float(around[3 * ACROSS :, :CHEEK_GRID][in_disc].mean())
        dark = float(np.median(brow[inner]))
        contrast = skin - dark
        if contrast < MIN_CONTRAST:
            continue
        above = (forehead[inner] - dark) / contrast < COVERED
        below = above & ((lid_band[inner] - dark) / contrast < LID_COVERED)
        brows, eyes = max(brows, float(above.mean())), max(eyes, float(below.mean()))
    return HairOverEyes(brows=brows, eyes=eyes)
