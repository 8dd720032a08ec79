"""Free re-edits of a finished ID photo, made locally from its stored file: a file-size window,
the DPI written into the file, a print sheet on any paper. No provider is called and nothing is charged."""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.ops.images import fit_file_size, image_size, set_dpi
from bot.ops.packing import Paper, load_papers, most
from bot.ops.printing import SheetPhoto, print_sheet
from bot.services.idphoto.captions import is_kept_preview
from bot.services.idphoto.dialog import NAME
from bot.storage.repo import Job
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, finished_job, message_of, pressed
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import AskDpi, AskPaper, AskSize, MakeDpi, MakeSheet, MakeSize
from bot.telegram.ui.i18n import t
from providers.orders import IdPhotoOrder
from providers.specs import load_catalog

#: File-size windows exam and visa sites ask for, in KB.
SIZE_WINDOWS = ((10, 30), (20, 50), (30, 100), (50, 200), (100, 500))
DPI_CHOICES = (300, 350, 600)


async def _finished_photo(update: Update, context: Context, job_id: str | None) -> tuple[Job, bytes] | None:
    """The user's own finished ID photo named in the button, and its file. Other results (an
    upscale of thousands of pixels) are not re-edited: a forged button gets nothing."""
    job = await finished_job(update, context, job_id, NAME)
    return _photo(context, job) if job is not None else None


def _photo(context: Context, job: Job) -> tuple[Job, bytes] | None:
    if not job.result or is_kept_preview(job):  # a preview's exact file is what Confirm buys
        return None
    files = job.result.files
    if not files or not context.wiring.media.exists(files[0]):
        return None
    return job, context.wiring.media.read(files[0])


def _slug(job: Job) -> str:
    order = IdPhotoOrder.model_validate(job.options)
    spec = load_catalog().for_order(order)
    return spec.slug if spec else str(order.spec_id)


def _stem(job: Job) -> str:
    return f"idphoto_{_slug(job)}"


def _dpi(job: Job) -> int:
    return IdPhotoOrder.model_validate(job.options).dpi


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
        t(lang, "reedit.pick_size"), reply_markup=keyboards.size_windows(press.job_id, SIZE_WINDOWS)
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
        t(lang, "reedit.pick_dpi"), reply_markup=keyboards.dpi_choices(press.job_id, DPI_CHOICES)
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
    """Button i:sheet:<job>: each paper with how many copies fit."""
    lang = context.lang
    press = pressed(update, AskPaper)
    found = await _finished_photo(update, context, press.job_id) if press else None
    if found is None:
        return await _gone(update, lang)
    job, photo = found
    size = image_size(photo)
    fits = {key: most([size], [1], paper, _dpi(job)) for key, paper in load_papers().papers.items()}
    await answer(update)
    await message_of(update).reply_text(
        t(lang, "reedit.pick_paper"), reply_markup=keyboards.sheet_papers(lang, job.id, fits)
    )


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
    fit = most([image_size(photo)], [1], paper, dpi)
    if press.copies > fit:  # more than the paper holds: not a button the bot offered
        return await _gone(update, lang)
    await answer(update)
    if fit == 0:
        await message_of(update).reply_text(t(lang, "reedit.too_big_for_paper"))
        return
    sheet = await asyncio.to_thread(print_sheet, [SheetPhoto(photo, dpi, press.copies or fit)], paper, dpi)
    name = f"{_stem(job)}_sheet-{paper.key}_x{sheet.copies}"
    caption = t(lang, "reedit.sheet_done", copies=sheet.copies, paper=t(lang, f"paper.{paper.key}"), dpi=dpi)
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
