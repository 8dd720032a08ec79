"""Free re-edits of a finished ID photo, made locally from its stored file: a file-size window,
the DPI written into the file, a print sheet (of this photo, or mixed with another of the person's
finished ID photos). No provider is called and nothing is charged.

Every step's button carries all it needs (the job, the other job's short id, paper and counts),
so a restart between steps changes nothing."""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from telegram import Update

from bot.ops.images import fit_file_size, image_size, set_dpi
from bot.ops.packing import MOST_COPIES, Paper, load_papers, most
from bot.ops.printing import SheetPhoto, print_sheet, printed_size
from bot.services.idphoto import buttons
from bot.services.idphoto.buttons import (
    MIX_ID_CHARS,
    AskDpi,
    AskMix,
    AskPaper,
    AskSize,
    MakeDpi,
    MakeMix,
    MakeSheet,
    MakeSize,
)
from bot.services.idphoto.captions import is_kept_preview
from bot.services.idphoto.dialog import NAME
from bot.storage.jobs import Job
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, finished_job, message_of, pressed
from bot.telegram.ui.i18n import t
from providers.orders import IdPhotoOrder
from providers.specs import load_catalog

#: File-size windows exam and visa sites ask for, in KB.
SIZE_WINDOWS = ((10, 30), (20, 50), (30, 100), (50, 200), (100, 500))
DPI_CHOICES = (300, 350, 600)
#: Other finished photos offered for a mixed sheet: the latest of each other spec, among these many jobs.
MIX_OFFERED = 4
MIX_LOOKBACK = 20
#: Copies of (this photo, the other) per offer, times the most that fit: as many of each, or
#: twice as many of the smaller photo (four 1-inch and two 2-inch).
MIX_RATIOS = ((1, 1), (2, 1))


async def _finished_photo(update: Update, context: Context, job_id: str | None) -> tuple[Job, bytes] | None:
    """The user's own finished ID photo named in the button, and its file. Other results (an
    upscale of thousands of pixels) are not re-edited: a forged button gets nothing."""
    job = await finished_job(update, context, job_id, NAME)
    path = _file(context, job) if job is not None else None
    return (job, context.deps.media.read(path)) if job is not None and path is not None else None


def _file(context: Context, job: Job) -> str | None:
    """A finished photo's stored file, when it may be re-edited: kept, not a preview's (a
    preview's exact file is what Confirm buys), and its order still readable (one stored before
    the order's model changed is not: /orders lists it without it, and a sheet leaves it out)."""
    if not job.result or is_kept_preview(job) or not _readable(job):
        return None
    files = job.result.files
    return files[0] if files and context.deps.media.exists(files[0]) else None


def _readable(job: Job) -> bool:
    try:
        IdPhotoOrder.model_validate(job.options)
    except ValidationError:
        return False
    return True


def _slug(job: Job) -> str:
    order = IdPhotoOrder.model_validate(job.options)
    spec = load_catalog().for_order(order)
    return spec.slug if spec else str(order.spec_id)


def _stem(job: Job) -> str:
    return f"idphoto_{_slug(job)}"


def _name(job: Job, lang: str) -> str:
    """The spec's name and size, for buttons and captions ("Small 2 Inch 35×45 mm")."""
    order = IdPhotoOrder.model_validate(job.options)
    spec = load_catalog().for_order(order)
    return f"{spec.name(lang)} {spec.mm[0]}×{spec.mm[1]} mm" if spec else str(order.spec_id)


def _dpi(job: Job) -> int:
    return IdPhotoOrder.model_validate(job.options).dpi


def _on_sheet(job: Job, photo: bytes, dpi: int) -> tuple[int, int]:
    """The finished ``photo`` of ``job`` in pixels on a sheet at ``dpi``: at its spec's millimetres
    (:func:`printed_size`), which its caption and buttons name; a provider's layout sheet at its
    own size."""
    order = IdPhotoOrder.model_validate(job.options)
    # A provider's print sheet (PicWish's layout) is a whole paper of copies, not one photo.
    spec = None if order.layout_size else load_catalog().for_order(order)
    return printed_size(image_size(photo), _dpi(job), dpi, spec.mm if spec else None)


async def _others(context: Context, job: Job) -> list[Job]:
    """The person's other finished ID photos for a mixed sheet: the latest of each spec but this
    one's, single photos only (not a provider's sheet), newest first."""
    seen = {_slug(job)}
    found: list[Job] = []
    for other in await context.deps.jobs.finished(job.user_id, NAME, MIX_LOOKBACK):
        if _file(context, other) is None:
            continue
        slug = _slug(other)
        if slug in seen or IdPhotoOrder.model_validate(other.options).layout_size:
            continue
        seen.add(slug)
        found.append(other)
        if len(found) == MIX_OFFERED:
            break
    return found


def _fits(size: tuple[int, int], dpi: int) -> dict[str, int]:
    """Per paper, how many copies fit (packing them: up to a few hundred tries, in a thread)."""
    return {key: most([size], [1], paper, dpi) for key, paper in load_papers().papers.items()}


def _paper(key: str) -> Paper | None:
    return load_papers().papers.get(key)


async def _gone(update: Update, lang: str) -> None:
    await answer(update, t(lang, "idphoto.job_gone"))


async def ask_size(update: Update, context: Context) -> None:
    """Button i:kb:<job>: the file-size windows."""
    lang = context.lang
    press = pressed(update, AskSize)
    if press is None or await _finished_photo(update, context, press.job_id) is None:
        return await _gone(update, lang)
    await answer(update)
    await message_of(update).reply_text(
        t(lang, "reedit.pick_size"), reply_markup=buttons.size_windows(press.job_id, SIZE_WINDOWS)
    )


async def make_size(update: Update, context: Context) -> None:
    """Button i:kbw:<job>:<min>:<max>: the photo re-encoded into that window."""
    lang = context.lang
    press = pressed(update, MakeSize)
    found = await _finished_photo(update, context, press.job_id) if press else None
    if press is None or found is None or (press.low_kb, press.high_kb) not in SIZE_WINDOWS:  # only those offered
        return await _gone(update, lang)
    window = (press.low_kb, press.high_kb)
    job, photo = found
    low, high = window
    await answer(update)
    dpi = IdPhotoOrder.model_validate(job.options).dpi
    result = await asyncio.to_thread(fit_file_size, photo, low * 1024, high * 1024, dpi)
    caption = t(
        lang,
        f"reedit.size_{result.outcome}",
        kb=round(len(result.data) / 1024),
        low=low,
        high=high,
        width=result.width,
        height=result.height,
    )
    await message_of(update).reply_document(
        result.data,
        filename=f"{_stem(job)}_{result.width}x{result.height}_{dpi}dpi_{low}-{high}KB.jpg",
        caption=caption,
        disable_content_type_detection=True,
    )


async def ask_dpi(update: Update, context: Context) -> None:
    """Button i:dpi:<job>: the DPI choices."""
    lang = context.lang
    press = pressed(update, AskDpi)
    if press is None or await _finished_photo(update, context, press.job_id) is None:
        return await _gone(update, lang)
    await answer(update)
    await message_of(update).reply_text(
        t(lang, "reedit.pick_dpi"), reply_markup=buttons.dpi_choices(press.job_id, DPI_CHOICES)
    )


async def make_dpi(update: Update, context: Context) -> None:
    """Button i:dpis:<job>:<dpi>: the same pixels with that DPI in the file."""
    lang = context.lang
    press = pressed(update, MakeDpi)
    found = await _finished_photo(update, context, press.job_id) if press else None
    if press is None or found is None or press.dpi not in DPI_CHOICES:
        return await _gone(update, lang)
    job, photo = found
    dpi = press.dpi
    await answer(update)
    width, height = image_size(photo)
    await message_of(update).reply_document(
        set_dpi(photo, dpi),
        filename=f"{_stem(job)}_{width}x{height}_{dpi}dpi.jpg",
        caption=t(lang, "reedit.dpi_done", dpi=dpi),
        disable_content_type_detection=True,
    )


async def ask_paper(update: Update, context: Context) -> None:
    """Button i:sheet:<job>: each paper with how many copies fit, and the person's other finished
    ID photos to mix in."""
    lang = context.lang
    press = pressed(update, AskPaper)
    found = await _finished_photo(update, context, press.job_id) if press else None
    if found is None:
        return await _gone(update, lang)
    job, photo = found
    dpi = _dpi(job)
    fits = await asyncio.to_thread(_fits, _on_sheet(job, photo, dpi), dpi)
    others = [(other.id[:MIX_ID_CHARS], _name(other, lang)) for other in await _others(context, job)]
    await answer(update)
    text = t(lang, "reedit.pick_paper") + (" " + t(lang, "reedit.mix_hint") if others else "")
    await message_of(update).reply_text(text, reply_markup=buttons.sheet_papers(lang, job.id, fits, others))


async def make_sheet(update: Update, context: Context) -> None:
    """Button i:shc:<job>:<paper>:<copies or 0 for all>: the print sheet, as a JPEG and a PDF."""
    lang = context.lang
    press = pressed(update, MakeSheet)
    found = await _finished_photo(update, context, press.job_id) if press else None
    paper = _paper(press.paper) if press else None
    if press is None or found is None or paper is None:
        return await _gone(update, lang)
    job, photo = found
    dpi = _dpi(job)
    size = _on_sheet(job, photo, dpi)
    fit = await asyncio.to_thread(most, [size], [1], paper, dpi)
    if press.copies > fit:  # more than the paper holds: not a button the bot offered
        return await _gone(update, lang)
    await answer(update)
    if fit == 0:
        await message_of(update).reply_text(t(lang, "reedit.too_big_for_paper"))
        return
    sheet = await asyncio.to_thread(print_sheet, [SheetPhoto(photo, size, press.copies or fit)], paper, dpi)
    name = f"{_stem(job)}_sheet-{paper.key}_x{sheet.copies}"
    caption = t(lang, "reedit.sheet_done", copies=sheet.copies, paper=t(lang, f"paper.{paper.key}"), dpi=dpi)
    await _send(update, lang, paper, sheet.jpeg, sheet.pdf, name, caption)


async def _other(context: Context, job: Job, short_id: str) -> tuple[Job, bytes] | None:
    """The other photo a mixed sheet's button names by its short id, if it is still offered."""
    other = next((o for o in await _others(context, job) if o.id[:MIX_ID_CHARS] == short_id), None)
    path = _file(context, other) if other is not None else None
    return (other, context.deps.media.read(path)) if other is not None and path is not None else None


def _mix_options(sizes: list[tuple[int, int]], dpi: int) -> dict[str, list[tuple[int, int]]]:
    """Per paper, the copies of (this photo, the other) offered: for each ratio (the larger share
    going to the smaller photo), the most that fit."""
    smaller_first = sizes[0][0] * sizes[0][1] <= sizes[1][0] * sizes[1][1]
    options: dict[str, list[tuple[int, int]]] = {}
    for key, paper in load_papers().papers.items():
        counts: list[tuple[int, int]] = []
        for big, small in MIX_RATIOS:
            ratio = (big, small) if smaller_first else (small, big)
            n = most(sizes, ratio, paper, dpi)
            if n and (ratio[0] * n, ratio[1] * n) not in counts:
                counts.append((ratio[0] * n, ratio[1] * n))
        options[key] = counts
    return options


async def ask_mix(update: Update, context: Context) -> None:
    """Button i:shm:<job>:<other>: per paper, how many of each of the two photos."""
    lang = context.lang
    press = pressed(update, AskMix)
    found = await _finished_photo(update, context, press.job_id) if press else None
    other = await _other(context, found[0], press.other) if press and found else None
    if found is None or other is None:
        return await _gone(update, lang)
    (job, photo), (other_job, other_photo) = found, other
    dpi = max(_dpi(job), _dpi(other_job))
    sizes = [_on_sheet(job, photo, dpi), _on_sheet(other_job, other_photo, dpi)]
    options = await asyncio.to_thread(_mix_options, sizes, dpi)
    await answer(update)
    if not any(options.values()):
        await message_of(update).reply_text(t(lang, "reedit.mix_too_big"))
        return
    await message_of(update).reply_text(
        t(lang, "reedit.pick_mix", first=_name(job, lang), second=_name(other_job, lang)),
        reply_markup=buttons.mixed_papers(lang, job.id, other_job.id[:MIX_ID_CHARS], options),
    )


async def make_mix(update: Update, context: Context) -> None:
    """Button i:shx:<job>:<other>:<paper>:<copies>:<copies>: both photos on one sheet, as a
    JPEG and a PDF. Any counts that fit are made (at least one of each)."""
    lang = context.lang
    press = pressed(update, MakeMix)
    found = await _finished_photo(update, context, press.job_id) if press else None
    other = await _other(context, found[0], press.other) if press and found else None
    paper = _paper(press.paper) if press else None
    counts = (press.first, press.second) if press else (0, 0)
    if found is None or other is None or paper is None or not 1 <= min(counts) <= max(counts) <= MOST_COPIES:
        return await _gone(update, lang)  # (unbounded, forged counts would pack millions of copies)
    first, second = counts
    (job, photo), (other_job, other_photo) = found, other
    dpi = max(_dpi(job), _dpi(other_job))
    photos = [
        SheetPhoto(photo, _on_sheet(job, photo, dpi), first),
        SheetPhoto(other_photo, _on_sheet(other_job, other_photo, dpi), second),
    ]
    try:
        sheet = await asyncio.to_thread(print_sheet, photos, paper, dpi)
    except ValueError:  # more than the paper holds: not a button the bot offered
        return await _gone(update, lang)
    await answer(update)
    name = f"idphoto_sheet-{paper.key}_{_slug(job)}-x{first}_{_slug(other_job)}-x{second}"
    caption = t(
        lang,
        "reedit.mix_done",
        first=_name(job, lang),
        first_copies=first,
        second=_name(other_job, lang),
        second_copies=second,
        paper=t(lang, f"paper.{paper.key}"),
        dpi=dpi,
    )
    await _send(update, lang, paper, sheet.jpeg, sheet.pdf, name, caption)


async def _send(update: Update, lang: str, paper: Paper, jpeg: bytes, pdf: bytes, name: str, caption: str) -> None:
    """The sheet as two documents: the JPEG (pixels and DPI as made) and the PDF (the paper's size)."""
    message = message_of(update)
    await message.reply_document(jpeg, filename=f"{name}.jpg", caption=caption, disable_content_type_detection=True)
    await message.reply_document(
        pdf,
        filename=f"{name}.pdf",
        caption=t(lang, "reedit.sheet_pdf", paper=t(lang, f"paper.{paper.key}")),
        disable_content_type_detection=True,
    )
