"""Steps a user takes through the ID photo conversation, shared by the end-to-end tests."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import portrait_jpeg
from tests.fakes.telegram_api import FakeUser, SentMessage


async def send_photo_and_pick_idphoto(user: FakeUser, photo: bytes | None = None) -> SentMessage:
    await user.send_photo(photo or portrait_jpeg())
    menu = await user.next_message("What would you like")
    await user.press(menu, "ID photo")
    return await user.edited(menu, "Choose a category")


async def pick_searched_spec(user: FakeUser, photo: bytes, query: str, spec: str) -> SentMessage:
    """From a photo sent as a file through ID photo and a search to pressing ``spec`` among the
    results: the results' message, which the bot edits with the spec's colours or its refusal."""
    await user.send_document(photo, "photo.jpg", "image/jpeg")
    menu = await user.next_message("What would you like")
    await user.press(menu, "ID photo")
    await user.edited(menu, "Choose a category")
    await user.send_text(query)
    found = await user.next_message("Results for")
    await user.press(found, "· " + spec)
    return found


async def to_options(user: FakeUser, menu: SentMessage, category: str, spec: str, color: str) -> None:
    """From the category menu through ``spec`` (paged to) and ``color`` to the options, on the same
    message."""
    await user.press(menu, category)
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, "· " + spec)
    await user.press(menu, "· " + spec)
    await user.edited(menu, "background colour")
    await user.press(menu, color)
    await user.edited(menu, "Options")


async def page_to(user: FakeUser, menu: SentMessage, label: str) -> None:
    """Pages the spec list on ``menu`` forward until a button's text holds ``label``."""
    while not any(label in b["text"] for b in menu.buttons()):
        edits = menu.edits
        await user.press(menu, "▶")
        await user.api.wait_for(lambda edits=edits: menu.edits > edits)


async def ask_custom_size(user: FakeUser) -> SentMessage:
    """From a fresh photo to the question for a custom size, under Common sizes."""
    menu = await send_photo_and_pick_idphoto(user)
    await user.press(menu, "Common sizes")
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, "✏️ Custom size")
    await user.press(menu, "✏️ Custom size")
    return await user.edited(menu, "type the width and height in millimetres")


async def choose_options(user: FakeUser, menu: SentMessage, color: str, options: tuple[str, ...] = ()) -> SentMessage:
    """From the colour menu to the order summary."""
    await user.press(menu, color)
    await user.edited(menu, "Options")
    for option in options:
        edits = menu.edits
        await user.press(menu, option)
        await user.api.wait_for(lambda edits=edits: menu.edits > edits)
    await user.press(menu, "Continue")
    return await user.edited(menu, "Please check your order")


async def order_until_summary(
    user: FakeUser, category: str, spec: str, color: str, options: tuple[str, ...] = ()
) -> SentMessage:
    """From a fresh photo to the order summary; ``options`` are option buttons to press."""
    menu = await send_photo_and_pick_idphoto(user)
    await user.press(menu, category)
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, "· " + spec)
    await user.press(menu, "· " + spec)
    await user.edited(menu, "background colour")
    return await choose_options(user, menu, color, options)


async def another_size(user: FakeUser, summary: SentMessage, query: str, spec: str) -> SentMessage:
    """From an ID photo summary's ➕ through a search to the colours of another size: the search's
    results, a new message."""
    await user.press(summary, "➕ Another size from this photo")
    await user.edited(summary, "Another size from the same photo")
    await user.send_text(query)
    found = await user.next_message("Results for")
    await user.press(found, "· " + spec)
    await user.edited(found, "background colour")
    return found


async def add_size(user: FakeUser, summary: SentMessage, query: str, spec: str, colour: str) -> SentMessage:
    """From an ID photo summary's ➕ through a search and a colour back to the summary, with one
    size more (on a new message: the search's results)."""
    found = await another_size(user, summary, query, spec)
    await user.press(found, colour)
    return await user.edited(found, "Please check your order")


async def preview_with_size(user: FakeUser, preview: SentMessage, query: str, spec: str, colour: str) -> SentMessage:
    """From a free local preview's ➕ through a search and a colour to the summary of buying it with
    one size more (on a new message: the search's results)."""
    await user.press(preview, "➕ Another size from this photo")
    await user.next_message("Another size from the same photo")
    await user.send_text(query)
    found = await user.next_message("Results for")
    await user.press(found, "· " + spec)
    await user.edited(found, "background colour")
    await user.press(found, colour)
    return await user.edited(found, "Please check your order")


async def order_idphoto(user: FakeUser) -> SentMessage:
    """From a fresh photo to the summary of a USA visa photo on white (PicWish's flow in the
    provider tables, tests/fakes/registry.py)."""
    return await order_until_summary(user, "Visa", "USA Visa", "White")


async def order_finished(user: FakeUser, category: str, spec: str, color: str) -> SentMessage:
    """From a fresh photo through Confirm to the delivered exact file (PicWish: on the summary;
    the local engine: under its free preview)."""
    summary = await order_until_summary(user, category, spec, color)
    await user.press(summary, "Confirm")
    return await user.next_message(kind="document", timeout=30)


async def preview_from_options(
    user: FakeUser, menu: SentMessage, color: str, options: tuple[str, ...] = ()
) -> SentMessage:
    """From the colour menu to the local engine's free preview (a photo with Confirm and Cancel)."""
    await user.press(menu, color)
    await user.edited(menu, "Options")
    for option in options:
        edits = menu.edits
        await user.press(menu, option)
        await user.api.wait_for(lambda edits=edits: menu.edits > edits)
    await user.press(menu, "Continue")
    await user.edited(menu, "Making your free preview")
    return await user.next_message(kind="photo", timeout=30)


async def local_preview(
    user: FakeUser, category: str, spec: str, color: str, options: tuple[str, ...] = (), photo: bytes | None = None
) -> SentMessage:
    """From a fresh photo to the local engine's free preview."""
    menu = await send_photo_and_pick_idphoto(user, photo)
    await user.press(menu, category)
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, "· " + spec)
    await user.press(menu, "· " + spec)
    await user.edited(menu, "background colour")
    return await preview_from_options(user, menu, color, options)


async def local_finished(user: FakeUser, category: str, spec: str, color: str) -> SentMessage:
    """From a fresh photo through the local preview and its Confirm to the delivered exact file."""
    preview = await local_preview(user, category, spec, color)
    await user.press(preview, "Confirm")
    return await user.next_message(kind="document", timeout=30)


async def _service(user: FakeUser, button: str, photo: bytes) -> SentMessage:
    await user.send_photo(photo)
    menu = await user.next_message("What would you like")
    await user.press(menu, button)
    return menu


async def order_anime(user: FakeUser, style: str = "Anime", layout: str = "Anime picture only") -> SentMessage:
    menu = await _service(user, "Anime portrait", portrait_jpeg(800, 1000))
    await user.edited(menu, "Choose an anime style")
    await user.press(menu, style)
    await user.edited(menu, "What should the result look like")
    await user.press(menu, layout)
    return await user.edited(menu, "Please check your order")


async def order_repair(user: FakeUser, mode: str = "Upscale") -> SentMessage:
    menu = await _service(user, "Repair, upscale, colorize", portrait_jpeg(400, 500))
    await user.edited(menu, "What should I do with this photo")
    await user.press(menu, mode)
    return await user.edited(menu, "Please check your order")


async def order_enhance(user: FakeUser, kind: str = "Sharpen & enhance", photo: bytes | None = None) -> SentMessage:
    menu = await _service(user, "Enhance", portrait_jpeg(300, 400) if photo is None else photo)
    await user.edited(menu, "Which enhancement")
    await user.press(menu, kind)
    return await user.edited(menu, "Please check your order")


async def order_portrait(user: FakeUser) -> SentMessage:
    await _service(user, "AI portrait", portrait_jpeg(800, 1000))
    gallery = await user.next_message(kind="photo")
    await user.press(gallery, "Choose this one")
    return await user.next_message("Please check your order")


def pixel_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def dpi(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return tuple(round(v) for v in img.info["dpi"])  # type: ignore[return-value]


def corner_rgb(data: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB").getpixel((2, 2))  # type: ignore[return-value]


async def album_summary(
    user: FakeUser, menu: SentMessage, category: str = "Visa", spec: str = "USA Visa"
) -> SentMessage:
    """From the album's service menu through one spec, colour and options to its summary."""
    await user.press(menu, "ID photo")
    await user.edited(menu, "Choose a category")
    await user.press(menu, category)
    await user.edited(menu, "Choose a spec")
    await page_to(user, menu, "· " + spec)
    await user.press(menu, "· " + spec)
    await user.edited(menu, "background colour")
    await user.press(menu, "White")
    await user.edited(menu, "Options")
    # No watermarked previews for an album: each photo comes as its exact file.
    assert not any("review" in button["text"] for button in menu.buttons())
    await user.press(menu, "Continue")
    return await user.edited(menu, "Please check your order", timeout=30)


async def forget(user: FakeUser) -> None:
    """/forget, and its Delete everything, until it says it is done."""
    await user.send_text("/forget")
    question = await user.next_message("This deletes every photo")
    await user.press(question, "Delete everything")
    await user.edited(question, "Done.")
