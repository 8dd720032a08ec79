"""What lies behind the person (pipeline.background_of): a plain wall, one of several colours, a busy
one. It decides whether the full U²-Net runs beside U²-Net-p, and whether pockets are read. And
whether the person's mask lost the sides of the head (pipeline.sides_lost)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine.pipeline import UNEVEN_BACKGROUND, PersonMask, background_of, sides_lost


def _scene(behind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``behind`` (HxWx3) with a person (a block in the lower middle) in front of it."""
    height, width = behind.shape[:2]
    region = behind.astype(np.uint8)
    mask = np.zeros((height, width), dtype=np.float32)
    mask[height // 3 :, width // 3 : 2 * width // 3] = 1.0
    region[mask > 0] = (180, 140, 120)
    return region, mask


def test_a_shaded_wall_is_plain_a_two_colour_backdrop_uneven_and_text_busy() -> None:
    height, width = 300, 240
    yy, xx = np.mgrid[0:height, 0:width]
    shaded = np.stack([150 + 40 * xx / width] * 3, axis=2)  # a grey wall lit from one side
    wall = background_of(*_scene(shaded))
    assert wall.plain and not wall.busy and wall.spread < UNEVEN_BACKGROUND
    two = np.where((xx + yy < 260)[..., None], (30.0, 40.0, 90.0), (70.0, 120.0, 200.0))  # navy, a blue band
    backdrop = background_of(*_scene(two))
    assert not backdrop.busy and not backdrop.plain and backdrop.spread > UNEVEN_BACKGROUND
    text = shaded.copy()
    text[::6] = 20.0  # lines of dark print
    assert background_of(*_scene(text)).busy
    region, mask = _scene(shaded)
    mask[:] = 1.0  # nothing behind the person to read
    crowded = background_of(region, mask)
    assert crowded.busy and not crowded.plain


def test_an_outline_narrower_than_the_face_at_the_eyes_lost_the_sides_of_the_head() -> None:
    """A mask at half the photo's scale (step 2) whose pixel c covers photo columns 10 + 2c and
    11 + 2c: a head 120 photo pixels across at the eye line, around a face 100 wide where it meets
    the ears; then the hair lost, the outline 84 wide and off-centre."""
    values = np.zeros((100, 150), dtype=np.float32)
    values[20:100, 45:105] = 1.0  # 60 mask pixels: 120 in the photo
    mask = PersonMask(values, (10, 0), (2.0, 2.0))
    eyes = np.array([160.5, 100.5])  # between mask columns 75 and 76, in mask row 50
    assert mask.mask_point(160.5, 100.5) == (75.0, 50.0)
    assert mask.mask_point(*(float(v) for v in mask.photo_point(75, 50))) == (75.0, 50.0)
    assert sides_lost(mask, eyes, 100.0) == 0.0
    values[:, 45:56] = 0.0
    values[:, 98:105] = 0.0  # 42 mask pixels left (56-97): 84 in the photo
    assert sides_lost(mask, eyes, 100.0) == pytest.approx(0.16)
    values[48:52, 70:80] = 0.0  # a gap in the mask at the eyes (glasses, a reflection) changes nothing
    assert sides_lost(mask, eyes, 100.0) == pytest.approx(0.16)
    # Only a face's width either side counts: a blob 51 mask pixels from the eyes does not widen it.
    values[50, 126:130] = 1.0
    assert sides_lost(mask, eyes, 100.0) == pytest.approx(0.16)
    values[50, 120:124] = 1.0  # 44-48 mask pixels from the eyes: within a face's width
    assert sides_lost(mask, eyes, 100.0) == 0.0
    values[50, 120:130] = 0.0
    values[:, 0:60] = 1.0  # a head cut by the photo's side: it cannot be told
    assert sides_lost(mask, eyes, 100.0) == 0.0
    values[:] = 0.0
    assert sides_lost(mask, eyes, 100.0) == 1.0
