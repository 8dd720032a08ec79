"""A bad-input corpus, generated here: each file is processed correctly or refused with a clear
message; never a crash, and a refusal costs nothing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.bot.flows import order_repair
from tests.conftest import portrait_jpeg


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def _photo(size: tuple[int, int] = (600, 800)) -> Image.Image:
    return Image.open(io.BytesIO(portrait_jpeg(*size)))


def _animated_gif() -> bytes:
    frames = [_photo().convert("P"), Image.new("P", (600, 800), 3)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def _heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _save(_photo(), "HEIF", quality=80)


def _sixteen_bit_png() -> bytes:
    gray = _photo().convert("L").point(lambda v: v * 256, "I")
    return _save(gray.convert("I;16"), "PNG")


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90° clockwise, the face upright
    return _save(_photo((600, 800)).transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif)


def _transparent_png() -> bytes:
    img = _photo().convert("RGBA")
    img.putalpha(Image.new("L", img.size, 200))
    return _save(img, "PNG")


#: (name, file, mime, what the user sees)
CORPUS = [
    ("text", b"these are not pixels", "text/plain", "does not look like a picture"),
    ("empty", b"", "image/jpeg", "That file is empty"),
    ("truncated jpeg", portrait_jpeg()[:3000], "image/jpeg", "damaged or incomplete"),
    ("decompression bomb", _save(Image.new("1", (20000, 20000)), "PNG"), "image/png", "far too large to process"),
    ("1x1", _save(Image.new("RGB", (1, 1)), "PNG"), "image/png", "too small to work with"),
    (
        "12000x12000",
        _save(Image.new("L", (12000, 12000)), "PNG", compress_level=9),
        "image/png",
        "far too large to process",
    ),
    ("animated gif", _animated_gif(), "image/gif", "Got your photo (600×800)"),
    ("webp", _save(_photo(), "WEBP"), "image/webp", "Got your photo (600×800)"),
    ("heic", _heic(), "image/heic", "Got your photo (600×800)"),
    ("cmyk jpeg", _save(_photo().convert("CMYK"), "JPEG"), "image/jpeg", "Got your photo (600×800)"),
    ("16-bit png", _sixteen_bit_png(), "image/png", "Got your photo (600×800)"),
    ("png with transparency", _transparent_png(), "image/png", "Got your photo (600×800)"),
    ("exif-rotated jpeg", _exif_rotated(), "image/jpeg", "Got your photo (600×800)"),
]


@pytest.mark.parametrize(("name", "payload", "mime", "answer"), CORPUS, ids=[c[0] for c in CORPUS])
async def test_bad_input_corpus(bot, telegram, picwish, name, payload, mime, answer):
    user = telegram.user()
    await user.send_document(payload, f"input.{mime.split('/')[1]}", mime)
    reply = await user.next_message(answer, timeout=20)
    if answer.startswith("Got your photo"):  # processed: the photo can be ordered as usual
        await user.press(reply, "ID photo")
        await user.edited(reply, "Choose a category")
    await user.send_text("/balance")
    await user.next_message("You have 30 credits")
    assert picwish.creates == []
    assert await bot.db.fetchall("SELECT id FROM jobs") == []


async def test_an_oversized_file_is_refused_without_downloading(bot, telegram):
    user = telegram.user()
    big = b"\xff\xd8" + b"\0" * (21 * 1024 * 1024)
    await user.send_document(big, "huge.jpg", "image/jpeg")
    await user.next_message("too large (the limit is 20 MB)")
    assert not any(method == "getFile" for method, _ in telegram.calls)


async def test_the_processed_photo_is_upright_rgb_jpeg(bot, telegram):
    user = telegram.user()
    await user.send_document(_exif_rotated(), "rotated.jpg", "image/jpeg")
    await user.next_message("Got your photo (600×800)")
    (path,) = list((bot.media.root / "inputs").iterdir())
    with Image.open(path) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (600, 800)


async def test_a_file_refused_at_a_summary_leaves_the_order_to_confirm(bot, telegram, hili):
    """A text file sent by mistake while a summary waits is refused, and the summary's Confirm
    still places that order (before, the refused file dropped it: "This order has expired")."""
    user = telegram.user()
    summary = await order_repair(user)
    await user.send_document(b"not a picture", "notes.txt", "text/plain")
    await user.next_message("does not look like a picture")
    await user.press(summary, "Confirm")
    await user.edited(summary, "Your order is in")
    await user.next_message(kind="document", timeout=30)
    await bot.runner.idle()
    assert await bot.ledger.problems() == []
