"""The reduced frame the cut-out's edge work runs in (providers/localengine/pipeline._working_frame):
what lands at a point of the finished photo lands at the matching point of the reduced one."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine import resample
from providers.localengine.pipeline import EDGE_SIDE, _working_frame


def _centroid(plane: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : plane.shape[0], 0 : plane.shape[1]]
    total = float(plane.sum())
    return float((xs * plane).sum()) / total, float((ys * plane).sum()) / total


@pytest.mark.parametrize("size", [(1051, 1499), (898, 1205), (1799, 1200)])
def test_a_point_lands_where_it_lands_in_the_finished_photo_scaled(size) -> None:
    # A round blob in a photo, mapped by a rotation and scale into the finished photo and into the
    # reduced frame: its centre lands at x' + 1/2 = k (x + 1/2) on each axis.
    yy, xx = np.mgrid[0:800, 0:800]
    blob = np.exp(-((xx - 431.3) ** 2 + (yy - 377.8) ** 2) / (2 * 40.0**2)).astype(np.float32)
    angle = math.radians(3.0)
    linear = 1.7 * np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    offset = np.array([size[0] / 2 - 700.0, size[1] / 2 - 650.0])
    full = resample.warp_affine(blob, np.hstack([linear, offset[:, None]]), size)
    work_linear, work_offset, work = _working_frame(linear, offset, size)
    assert max(work) == EDGE_SIDE
    reduced = resample.warp_affine(blob, np.hstack([work_linear, work_offset[:, None]]), work)
    (fx, fy), (wx, wy) = _centroid(full), _centroid(reduced)
    kx, ky = work[0] / size[0], work[1] / size[1]
    assert wx == pytest.approx(kx * (fx + 0.5) - 0.5, abs=0.02)
    assert wy == pytest.approx(ky * (fy + 0.5) - 0.5, abs=0.02)


def test_a_finished_photo_no_larger_is_its_own_frame() -> None:
    linear, offset = np.eye(2), np.array([3.0, 4.0])
    work_linear, work_offset, work = _working_frame(linear, offset, (413, 531))
    assert work == (413, 531) and work_linear is linear and work_offset is offset
