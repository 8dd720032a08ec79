"""Where the finished photo reaches past the photo's bottom edge (providers/localengine/beyond.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine import beyond


def test_below_the_photo_a_collar_stays_white_beside_the_jacket_and_a_pattern_loses_its_stripes() -> None:
    # 240 px wide; the bottom 40 rows lie past the photo's edge, where the warp repeated its last row:
    # a dark jacket with fine stripes (period 4), a white shirt 30 px wide.
    image = np.zeros((120, 240, 3), dtype=np.float32)
    image[:, :, :] = np.where(np.arange(240) % 4 < 2, 10.0, 50.0)[None, :, None]
    image[:, 80:110] = 250.0
    alpha = np.ones((120, 240), dtype=np.float32)
    below = np.zeros((120, 240), dtype=bool)
    below[80:] = True
    smoothed = beyond.smooth_below(image, alpha, below)
    bottom = smoothed[110:]
    assert bottom[:, 90:100].min() > 240  # the shirt stays white
    jacket = bottom[:, 130:230]
    assert jacket.max() - jacket.min() < 5  # no stripes
    assert 20 < jacket.mean() < 40
    np.testing.assert_array_equal(smoothed[:70], image[:70])  # the photo itself stays
