from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.images import ImageRejected, normalise
from tests.conftest import portrait_jpeg


def _png(mode: str, size=(300, 400), color=None) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (400, 300), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    result = normalise(out.getvalue())
    assert (result.width, result.height) == (300, 400)


def test_a_plain_jpeg_is_kept_byte_for_byte():
    photo = portrait_jpeg()
    result = normalise(photo)
    assert result.data == photo and (result.width, result.height) == (800, 1000)


def test_metadata_never_reaches_a_provider():
    """A photo with EXIF (camera, GPS position), an ICC profile or a comment is re-encoded without them."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (52.0, 31.0, 12.0)}  # GPSInfo: latitude
    with Image.open(io.BytesIO(portrait_jpeg())) as img:
        for extra in ({"exif": exif}, {"icc_profile": b"\0" * 128}, {"comment": b"taken at home"}):
            out = io.BytesIO()
            img.save(out, "JPEG", quality=90, **extra)
            result = normalise(out.getvalue())
            with Image.open(io.BytesIO(result.data)) as clean:
                assert result.data != out.getvalue()
                assert [marker for marker, _ in clean.applist] == ["APP0"]
                assert not clean.getexif() and "comment" not in clean.info


def test_png_with_transparency_becomes_rgb_on_white():
    result = normalise(_png("RGBA", color=(255, 0, 0, 0)))
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.format == "JPEG" and img.mode == "RGB"
        assert all(v > 240 for v in img.getpixel((5, 5)))


def test_cmyk_and_sixteen_bit_are_converted():
    out = io.BytesIO()
    Image.new("CMYK", (300, 300), (0, 255, 255, 0)).save(out, "JPEG")
    assert normalise(out.getvalue()).width == 300
    assert normalise(_png("I;16", color=40000)).height == 400


def test_large_images_are_scaled_to_the_provider_limit():
    result = normalise(portrait_jpeg(5000, 3000), max_side=4096)
    assert max(result.width, result.height) == 4096


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"plain text, not an image", "not_an_image"),
        (portrait_jpeg()[:1500], "corrupt"),
        (portrait_jpeg(50, 50), "too_small"),
    ],
)
def test_unusable_input_is_refused(data, code):
    with pytest.raises(ImageRejected) as info:
        normalise(data)
    assert info.value.code == code


def test_decompression_bomb_is_refused():
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")
    with pytest.raises(ImageRejected) as info:
        normalise(out.getvalue())
    assert info.value.code == "too_many_pixels"
