from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bot.ops.images import fit_file_size, set_dpi
from tests.conftest import portrait_jpeg


def _dpi(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return tuple(round(v) for v in img.info["dpi"])


@pytest.mark.parametrize(("window", "size"), [((20, 50), (413, 531)), ((100, 500), (413, 531)), ((10, 30), (295, 413))])
def test_file_size_window_by_quality(window, size):
    photo = portrait_jpeg(*size, quality=98)
    result = fit_file_size(photo, window[0] * 1024, window[1] * 1024, dpi=300)
    assert result.outcome == "ok"
    assert window[0] * 1024 <= len(result.data) <= window[1] * 1024
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == size  # the window was reached by quality alone
    assert _dpi(result.data) == (300, 300)


def test_file_size_window_reaches_the_minimum_without_padding():
    result = fit_file_size(portrait_jpeg(413, 531, quality=60), 20 * 1024, 50 * 1024, dpi=300)
    assert result.outcome == "ok" and 20 * 1024 <= len(result.data) <= 50 * 1024
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (413, 531)


def test_a_window_too_small_for_the_pixels_shrinks_the_dimensions():
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 255, (1500, 1051, 3), dtype=np.uint8))
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    result = fit_file_size(out.getvalue(), 10 * 1024, 30 * 1024, dpi=300)
    assert result.outcome == "downscaled" and len(result.data) <= 30 * 1024 and result.width < 1051


def test_a_picture_below_the_window_is_not_padded():
    flat = io.BytesIO()
    Image.new("RGB", (295, 413), "white").save(flat, "JPEG")
    result = fit_file_size(flat.getvalue(), 100 * 1024, 500 * 1024, dpi=300)
    assert result.outcome == "below_min" and len(result.data) < 100 * 1024


def test_set_dpi_keeps_the_pixels_byte_for_byte():
    photo = portrait_jpeg(413, 531)
    changed = set_dpi(photo, 350)
    assert _dpi(changed) == (350, 350) and len(changed) == len(photo)
    assert changed[18:] == photo[18:]
    with Image.open(io.BytesIO(photo)) as a, Image.open(io.BytesIO(changed)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
    stripped = b"\xff\xd8" + photo[20:]  # no APP0 at all
    assert _dpi(set_dpi(stripped, 600)) == (600, 600)
