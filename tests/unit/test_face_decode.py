"""The face check's reduced decode (providers/localengine/faces.py): libjpeg scales a JPEG by a half,
a quarter or an eighth while decoding it, and the check asks for the smallest that keeps enough
pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine.faces import decode, draft_size


@pytest.mark.parametrize(
    ("size", "at_least", "asked"),
    [
        ((947, 1280), 600, (473, 640)),  # a photo as Telegram sends it: half
        ((947, 1280), 640, (473, 640)),  # half still keeps 640
        ((947, 1280), 641, None),
        ((2983, 4032), 600, (745, 1008)),  # 12 megapixels: a quarter
        ((2983, 4032), 504, (372, 504)),  # an eighth
        ((1199, 900), 600, (599, 450)),  # 1199 / 2 rounds up to 600
        ((1198, 900), 600, None),
        ((5, 4000), 500, (1, 500)),  # never a request of 0 pixels
    ],
)
def test_the_draft_keeps_the_longest_side_at_least_as_asked(
    size: tuple[int, int], at_least: int, asked: tuple[int, int] | None
) -> None:
    assert draft_size(size, at_least) == asked


def _jpeg(width: int, height: int, orientation: int = 1) -> bytes:
    ramp = np.add.outer(np.arange(height) * 255 // height, np.arange(width) * 255 // width) // 2
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.stack([ramp] * 3, axis=-1).astype(np.uint8)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "reduce_to", "decoded"),
    [
        ((947, 1280), 600, (474, 640)),
        ((947, 1280), 640, (474, 640)),  # Pillow keeps the full size for a request of 474 x 640
        ((947, 1280), 960, (947, 1280)),
        ((2983, 4032), 600, (746, 1008)),
        ((640, 480), None, (640, 480)),
    ],
)
def test_a_photo_is_decoded_at_the_smallest_scale_that_keeps_enough_pixels(
    size: tuple[int, int], reduce_to: int | None, decoded: tuple[int, int]
) -> None:
    rgb, full = decode(_jpeg(*size), reduce_to)
    assert full == size and (rgb.shape[1], rgb.shape[0]) == decoded and rgb.shape[2] == 3


def test_a_photo_on_its_side_is_decoded_upright_and_reported_so() -> None:
    # Stored 1280 x 947 and turned by EXIF (6: a quarter turn clockwise) to 947 x 1280.
    rgb, full = decode(_jpeg(1280, 947, orientation=6), 600)
    assert full == (947, 1280) and rgb.shape == (640, 474, 3)
