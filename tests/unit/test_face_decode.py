"""The face check's reduced decode (providers/localengine/faces.py): libjpeg scales a JPEG by a half,
a quarter or an eighth while decoding it, and the check asks for the smallest that keeps enough
pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

pytest.importorskip("simplejpeg", reason="the photobot[local] extra is not installed")

from providers.localengine.faces import decode, draft_scale


@pytest.mark.parametrize(
    ("size", "at_least", "scale"),
    [
        ((947, 1280), 600, 2),  # a photo as Telegram sends it: half
        ((947, 1280), 640, 2),  # half still keeps 640
        ((947, 1280), 641, 1),
        ((2983, 4032), 600, 4),  # 12 megapixels: a quarter
        ((2983, 4032), 504, 8),  # an eighth
        ((1199, 900), 600, 2),  # 1199 / 2 rounds up to 600
        ((1198, 900), 600, 1),
        ((5, 4000), 500, 8),
    ],
)
def test_the_scale_keeps_the_longest_side_at_least_as_asked(size: tuple[int, int], at_least: int, scale: int) -> None:
    assert draft_scale(size, at_least) == scale


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


def _photo_like_jpeg(width: int, height: int, orientation: int = 1, **save: object) -> bytes:
    """Noise over a colour ramp (every IDCT coefficient and both chroma planes at work)."""
    rng = np.random.default_rng(7)
    ramp = np.add.outer(np.arange(height) * 200 // height, np.arange(width) * 55 // width)
    pixels = np.stack([ramp, ramp[::-1], 255 - ramp], axis=-1) + rng.integers(0, 40, (height, width, 3))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(out, "JPEG", exif=exif.tobytes(), **save)
    return out.getvalue()


def _as_pillow_decodes(data: bytes, scale: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        if scale > 1:
            img.draft("RGB", (img.size[0] // scale, img.size[1] // scale))
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("reduce_to", "scale"), [(None, 1), (259, 2), (130, 4), (65, 8)])
def test_a_jpeg_decodes_to_the_same_pixels_as_pillow_gives_at_every_scale_and_orientation(
    orientation: int, reduce_to: int | None, scale: int
) -> None:
    # simplejpeg decodes colour JPEGs; the engine's verdicts were set on Pillow's pixels.
    data = _photo_like_jpeg(517, 389, orientation, quality=87)
    rgb, _full = decode(data, reduce_to)
    assert np.array_equal(rgb, _as_pillow_decodes(data, scale))


@pytest.mark.parametrize(
    "save",
    [{"progressive": True}, {"subsampling": 0}, {"subsampling": 1}],
    ids=["progressive", "4:4:4", "4:2:2"],
)
def test_other_kinds_of_colour_jpeg_decode_as_pillow_decodes_them(save: dict[str, object]) -> None:
    data = _photo_like_jpeg(400, 300, **save)
    assert np.array_equal(decode(data, 200)[0], _as_pillow_decodes(data, 2))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_a_grey_or_cmyk_jpeg_is_decoded_by_pillow_as_rgb(mode: str) -> None:
    out = io.BytesIO()
    Image.new(mode, (320, 240), 90 if mode == "L" else (10, 20, 30, 40)).save(out, "JPEG")
    rgb, full = decode(out.getvalue())
    assert full == (320, 240) and rgb.shape == (240, 320, 3)
    assert np.array_equal(rgb, np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB")))


def test_a_truncated_jpeg_is_refused_as_pillow_refuses_it() -> None:
    data = _photo_like_jpeg(400, 300)
    with pytest.raises(OSError, match="truncated"):
        decode(data[: len(data) // 2])
