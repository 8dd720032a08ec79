"""The office checks' measures (providers/localengine/office.py) on drawn pictures whose answer is
known: they read only the face's box, and only the pixels they need of it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine import imageops, office
from providers.localengine.landmarks import FACE_OVAL, Landmarks


def _face_in(box: tuple[int, int, int, int]) -> Landmarks:
    """Landmarks whose outline runs round the rectangle ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    points = np.zeros((478, 3))
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    for i, index in enumerate(FACE_OVAL):
        corner, along = divmod(i * 4 / len(FACE_OVAL), 1.0)
        (ax, ay), (bx, by) = corners[int(corner)], corners[(int(corner) + 1) % 4]
        points[index, :2] = ax + along * (bx - ax), ay + along * (by - ay)
    return Landmarks(points)


def test_burnt_out_is_the_share_of_the_outline_with_a_channel_at_250() -> None:
    rgb = np.full((60, 80, 3), 120, dtype=np.uint8)
    rgb[:, :, 2] = 255  # ... blue at 255 everywhere (burnt in one channel)...
    rgb[:, 40:, 2] = 249  # ... but on the right half of the picture
    rgb[:5] = 255  # and white above the face, which is not counted
    marks = _face_in((20, 10, 59, 49))  # 40 x 40 pixels, edges included
    assert office.burnt_out(rgb, marks) == pytest.approx(20 / 40)
    rgb[:, :, 2] = 249
    assert office.burnt_out(rgb, marks) == 0.0


def test_a_cheek_disc_cut_by_the_edge_is_the_mean_of_its_pixels_inside() -> None:
    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    disc = imageops.fill_disc(rgb.shape, (2, 27), 6)  # past the left and the lower edge
    expected = float(imageops.lightness(rgb)[disc].mean())
    assert office.disc_mean(rgb, np.array([2.4, 26.6]), 6.2) == pytest.approx(expected, abs=1e-4)
