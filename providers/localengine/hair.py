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


#: BROWS as index arrays, both eyes at once: (eye, line, point) for the brow's upper and lower
#: edges and the lid, and (eye,) for the cheeks.
_LINES = np.array([lines[:3] for lines in BROWS])
_CHEEKS = np.array([lines[3] for lines in BROWS])
#: Where the ALONG points fall between a line's landmarks (np.interp's segments and the share of
#: the way along each), and the share of the way across each band.
_ALONG_AT = np.linspace(0, _LINES.shape[2] - 1, ALONG)
_SEGMENT = np.minimum(_ALONG_AT.astype(np.int64), _LINES.shape[2] - 2)
_SHARE = np.linspace(0, 1, ACROSS)[:, None, None]
#: The cheek's grid points inside its disc.
_UNIT = np.linspace(-1, 1, CHEEK_GRID)
_IN_DISC = np.hypot(*np.meshgrid(_UNIT, _UNIT)) <= 1
_INNER = slice(round(OUTER * ALONG), ALONG)


def _along(lines: Array) -> Array:
    """ALONG points evenly along each line of landmarks (..., points, 2), outer to inner end: what
    np.interp gives along each line's index, to the bit, for all lines and both coordinates at
    once."""
    start, end = lines[..., _SEGMENT, :], lines[..., _SEGMENT + 1, :]
    points: Array = (end - start) * (_ALONG_AT - _SEGMENT)[:, None] + start
    points[..., -1, :] = lines[..., -1, :]
    return points


def _grid(points: Array, radius: float) -> Array:
    """Where to read, for both eyes: (eye, 3 * ACROSS + CHEEK_GRID, max(ALONG, CHEEK_GRID), 2)
    points: the forehead band above the brow, the brow, and the lid band below it, each ACROSS rows
    of ALONG points from the brow's outer to its inner end; then the square around the cheek's disc."""
    lines = points[_LINES]
    top, bottom, eye = (_along(lines[:, line])[:, None] for line in range(3))
    # From the eye to the brow: its length is the brow's height.
    up = (lines[:, 0].mean(axis=1) - lines[:, 2].mean(axis=1))[:, None, None]
    offsets = np.linspace(-radius, radius, CHEEK_GRID)
    square = points[_CHEEKS][:, None, None] + np.stack(np.meshgrid(offsets, offsets), axis=-1)
    grid = np.zeros((len(BROWS), 3 * ACROSS + CHEEK_GRID, max(ALONG, CHEEK_GRID), 2))
    grid[:, :ACROSS, :ALONG] = top + (0.15 + 0.4 * _SHARE) * up  # forehead above the brow
    grid[:, ACROSS : 2 * ACROSS, :ALONG] = bottom + (0.25 + 0.5 * _SHARE) * (top - bottom)  # the brow
    grid[:, 2 * ACROSS : 3 * ACROSS, :ALONG] = eye + (0.35 + 0.4 * _SHARE) * (bottom - eye)  # the lid
    grid[:, 3 * ACROSS :, :CHEEK_GRID] = square
    return grid


def hair_over_eyes(rgb: Array, marks: Landmarks) -> HairOverEyes:
    """How far hair covers the eyebrows and the eyes (see the module's docstring)."""
    grids = _grid(marks.points[:, :2], CHEEK_DISC * marks.face_width).astype(np.float32)
    lightness = imageops.lightness(resample.sample_bilinear(rgb, grids[..., 0], grids[..., 1]))
    # The median of ACROSS (odd) values is the middle one.
    rows = lightness[:, : 3 * ACROSS, :ALONG].reshape(len(BROWS), 3, ACROSS, ALONG)
    bands = np.sort(rows, axis=2)[:, :, ACROSS // 2]
    brows, eyes = 0.0, 0.0
    for (forehead, brow, lid_band), around in zip(bands, lightness, strict=True):
        skin = float(around[3 * ACROSS :, :CHEEK_GRID][_IN_DISC].mean())
        dark = float(np.median(brow[_INNER]))
        contrast = skin - dark
        if contrast < MIN_CONTRAST:
            continue
        above = (forehead[_INNER] - dark) / contrast < COVERED
        below = above & ((lid_band[_INNER] - dark) / contrast < LID_COVERED)
        brows, eyes = max(brows, float(above.mean())), max(eyes, float(below.mean()))
    return HairOverEyes(brows=brows, eyes=eyes)
