from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.ops.images import ImageRejected, normalise
from bot.telegram.delivery import as_photo
from tests.conftest import portrait_jpeg
from tests.fakes.telegram_api import photo_refusal


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


def test_a_big_endian_sixteen_bit_tiff_is_read_not_called_corrupt():
    """A 16-bit TIFF in Motorola byte order (a scanner's, Photoshop's on a Mac) opens as I;16B,
    which Pillow's point() refuses: it was answered "corrupt". Its grey levels come through."""
    ramp = b"".join(value.to_bytes(2, "big") for value in range(0, 65536, 256)) * 400
    out = io.BytesIO()
    Image.frombytes("I;16B", (256, 400), ramp).save(out, "TIFF")
    result = normalise(out.getvalue())
    with Image.open(io.BytesIO(result.data)) as img:
        assert img.size == (256, 400)
        greys = [img.getpixel((x, 200))[0] for x in (0, 64, 128, 192, 255)]
    assert all(abs(got - want) <= 3 for got, want in zip(greys, (0, 64, 128, 192, 255), strict=True)), greys


def test_large_images_are_scaled_to_the_provider_limit():
    result = normalise(portrait_jpeg(5000, 3000), max_side=4096)
    assert max(result.width, result.height) == 4096


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"plain text, not an image", "not_an_image"),
        (portrait_jpeg()[:1500], "corrupt"),
        (portrait_jpeg()[:-2000], "corrupt"),  # cut in its last scans: a plain JPEG is still decoded whole
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


def test_a_huge_rgba_png_is_refused_from_its_header():
    """7070×7070 RGBA is 200 MB decoded: refused before a pixel is decoded (a PNG cannot be decoded
    at a reduced scale)."""
    from bot.ops.images import probe

    data = _png("RGBA", size=(7070, 7070))
    for check in (probe, normalise):
        with pytest.raises(ImageRejected) as info:
            check(data)
        assert info.value.code == "too_many_pixels"


def test_a_large_jpeg_is_decoded_at_a_reduced_scale():
    from bot.ops.images import probe

    big = portrait_jpeg(9000, 3000)
    found = probe(big)
    assert found.size == (9000, 3000) and found.decoded == (4500, 1500)
    assert found.cost == 4500 * 1500 * 4 * 2
    result = normalise(big, max_side=4096)
    assert (result.width, result.height) == (4096, 1365)
    with Image.open(io.BytesIO(result.data)) as stored:
        assert stored.size == (4096, 1365)


def test_a_large_exif_rotated_photo_is_scaled_then_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", (5000, 2500), "white").save(out, "PNG", exif=exif)
    result = normalise(out.getvalue(), max_side=4096)
    assert (result.width, result.height) == (2048, 4096)


def test_an_exif_of_millions_of_values_costs_its_orientation_only():
    """A small TIFF whose EXIF holds two million values (TIFF and PNG allow it; a JPEG's EXIF is
    64 KB at most): only the orientation is read and applied. Reading and writing back every
    value took about a gigabyte and seconds (361 MB of Python objects and 7.5 s here); the Python
    objects it makes are measured."""
    import tracemalloc

    from tests.hostile_files import exif_of_millions_tiff

    data = exif_of_millions_tiff()
    tracemalloc.start()
    try:
        result = normalise(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.width, result.height) == (300, 400)
    assert peak < 100 * 1024 * 1024  # the input's copies; every value read and written back: 361 MB


def test_a_tiff_declaring_tiles_far_larger_than_itself_is_refused_unread():
    """151 bytes of a 200×200 TIFF declaring 40960×40960 tiles: libtiff allocated a whole tile,
    1.6 GB, before it found the data short. Refused from its header."""
    from bot.ops.images import probe
    from tests.hostile_files import huge_tiles_tiff

    tiff = huge_tiles_tiff()
    for check in (probe, normalise):
        with pytest.raises(ImageRejected) as info:
            check(tiff)
        assert info.value.code == "corrupt"


def _claiming(data: bytes, marker: bytes, size: tuple[int, int]) -> bytes:
    """A JPEG whose frame header (``marker``) claims ``size``: what a header-only check sees."""
    at = data.find(marker)
    patched = bytearray(data)
    patched[at + 5 : at + 9] = size[1].to_bytes(2, "big") + size[0].to_bytes(2, "big")
    return bytes(patched)


def test_a_progressive_jpeg_is_priced_by_its_coefficients_and_refused_past_them():
    """A progressive JPEG's decoder holds every DCT coefficient at full size (2 bytes each),
    whatever the scale: a 14100×14100 one of 2.3 MB peaked at 1.2 GB against its 94 MB of pixels
    at a quarter. Refused from its header past MAX_COEFFICIENT_BYTES; a baseline JPEG as large is
    not (its coefficients stream)."""
    from bot.ops.images import probe

    small = io.BytesIO()
    Image.new("RGB", (300, 300), (90, 120, 200)).save(small, "JPEG", progressive=True, subsampling=0)
    progressive = _claiming(small.getvalue(), b"\xff\xc2", (14100, 14100))
    for check in (probe, normalise):
        with pytest.raises(ImageRejected) as info:
            check(progressive)
        assert info.value.code == "too_many_pixels"
    assert probe(_claiming(small.getvalue(), b"\xff\xc2", (4000, 3000))).cost >= 4000 * 3000 * 3 * 2
    baseline = io.BytesIO()
    Image.new("RGB", (300, 300), (90, 120, 200)).save(baseline, "JPEG", subsampling=0)
    assert probe(_claiming(baseline.getvalue(), b"\xff\xc0", (14100, 14100))).cost < 256 * 1024 * 1024


def test_a_webp_counts_its_decoders_copy_of_the_pixels():
    """libwebp holds a copy of the pixels beside Pillow's (a 5600×5600 one peaked at 2.8 times its
    pixels): a WebP of 4200×4200 (70 MB of pixels) costs two copies, over MAX_DECODE_BYTES."""
    out = io.BytesIO()
    Image.new("RGB", (4200, 4200), (90, 120, 200)).save(out, "WEBP", quality=50)
    with pytest.raises(ImageRejected) as info:
        normalise(out.getvalue())
    assert info.value.code == "too_many_pixels"


async def test_the_decode_budget_runs_big_decodes_one_at_a_time_and_one_per_user():
    import asyncio

    from bot.ops.limits import DecodeBudget

    budget = DecodeBudget(100)
    order: list[str] = []
    gates = {name: asyncio.Event() for name in ("big", "a1", "b1")}
    started = {name: asyncio.Event() for name in gates}

    async def decode(user: int, name: str, cost: int) -> None:
        async with budget.reserve(user, cost):
            order.append(f"{name}+")
            if name in gates:
                started[name].set()
                await gates[name].wait()
            order.append(f"{name}-")

    async def waiting(count: int) -> None:
        while len(budget._changed._waiters) < count:  # a yield, not a timed wait
            await asyncio.sleep(0)

    big = asyncio.ensure_future(decode(1, "big", 150))
    await started["big"].wait()
    after_big = [asyncio.ensure_future(decode(2, "big2", 150)), asyncio.ensure_future(decode(3, "small", 10))]
    await waiting(2)
    assert order == ["big+"] and budget.used == 150  # costlier than the budget: alone
    gates["big"].set()
    await asyncio.gather(big, *after_big)
    assert order[:2] == ["big+", "big-"] and budget.used == 0

    order.clear()
    a1 = asyncio.ensure_future(decode(7, "a1", 10))
    await started["a1"].wait()
    a2, b1 = asyncio.ensure_future(decode(7, "a2", 10)), asyncio.ensure_future(decode(8, "b1", 10))
    await started["b1"].wait()
    assert order == ["a1+", "b1+"]  # another user's fits beside; the same user's second waits
    gates["a1"].set()
    gates["b1"].set()
    await asyncio.gather(a1, a2, b1)
    assert order.index("a2+") > order.index("a1-") and budget.used == 0


def test_a_preview_is_reduced_whatever_the_size_of_the_photo():
    """A free preview is a reduced, watermarked copy: of a 413×531 visa photo at most 360 px, and of
    a 144×192 exam photo, no larger than a preview, 70 % of it (before, returned at its exact size)."""
    from bot.ops.images import watermarked

    for size, longest in (((413, 531), 360), ((144, 192), 134)):
        photo = io.BytesIO()
        Image.new("RGB", size, (200, 180, 160)).save(photo, "JPEG", quality=95)
        with Image.open(io.BytesIO(watermarked(photo.getvalue()))) as preview:
            assert max(preview.size) == longest


def test_a_result_over_telegrams_ten_mb_for_a_photo_is_shown_as_a_smaller_jpeg():
    """A provider's result may be a PNG of up to network.max_download_bytes: one of 13 MB, though
    of ordinary sides, was refused as a photo (PHOTO_SAVE_FILE_INVALID) and the user got no photo;
    its transparency goes on white, as a photo's."""
    noisy = Image.frombytes("RGBA", (1800, 1800), random.Random(7).randbytes(1800 * 1800 * 4))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert photo_refusal(out.getvalue()) == "Bad Request: PHOTO_SAVE_FILE_INVALID"
    photo = as_photo(out.getvalue())
    assert photo_refusal(photo) is None
    with Image.open(io.BytesIO(photo)) as img:
        assert (img.format, img.size) == ("JPEG", (1800, 1800))
    ordinary = portrait_jpeg()
    assert as_photo(ordinary) is ordinary  # a file Telegram takes goes as it is
