"""Anime (QQ's free conversion): style (from configuration) -> layout (anime only, or side by
side) -> summary."""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import ValidationError
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.config import AnimeStyle, Settings
from bot.domain.session import PendingOrder
from bot.storage.repo import Job
from bot.telegram.context import Context, Handlers, Service
from bot.telegram.conversations.common import answer, finished_job, message_of, pressed, query_of, ready_photo
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import AnimeVideo, LayoutChoice, StyleChoice
from bot.telegram.ui.i18n import localized, t
from bot.telegram.ui.results import ResultView, plain_result
from providers.orders import AnimeOrder

if TYPE_CHECKING:
    from bot.telegram.context import ServiceDeps

log = logging.getLogger(__name__)


class State(StrEnum):
    PICK_STYLE = "anime.pick_style"
    PICK_LAYOUT = "anime.pick_layout"


def _styles(context: Context) -> tuple[AnimeStyle, ...]:
    return context.deps.settings.providers.qq_anime.all_styles()


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:anime: needs a stored photo; asks for a style (or the layout if there is one style)."""
    lang = context.lang
    await answer(update)
    if not await ready_photo(update, context, needs_face=True):
        return ConversationHandler.END
    styles = _styles(context)
    if len(styles) == 1:
        context.session.anime_style = styles[0].id
        await query_of(update).edit_message_text(
            t(lang, "anime.pick_layout"), reply_markup=keyboards.anime_layouts(lang)
        )
        return State.PICK_LAYOUT
    buttons = [(s.id, localized(s.title, lang)) for s in styles]
    await query_of(update).edit_message_text(t(lang, "anime.pick_style"), reply_markup=keyboards.anime_styles(buttons))
    return State.PICK_STYLE


async def pick_style(update: Update, context: Context) -> str | int:
    """Button a:style:<id>: stores the style; asks for the layout."""
    lang = context.lang
    choice = pressed(update, StyleChoice)
    style_id = choice.style if choice else ""
    await answer(update)
    if style_id not in {s.id for s in _styles(context)}:
        return State.PICK_STYLE
    context.session.anime_style = style_id
    await query_of(update).edit_message_text(t(lang, "anime.pick_layout"), reply_markup=keyboards.anime_layouts(lang))
    return State.PICK_LAYOUT


async def pick_layout(update: Update, context: Context) -> int:
    """Button a:lay:<layout>: the order summary."""
    choice = pressed(update, LayoutChoice)
    layout = choice.layout if choice else ""
    photo = context.session.photo
    style = next((s for s in _styles(context) if s.id == context.session.anime_style), None)
    if photo is None or style is None:
        await answer(update)
        return ConversationHandler.END
    orientation = "horizontal" if photo.width > photo.height else "vertical"
    fields = {"style": style.id, "busi_id": style.busi_id, "layout": layout, "orientation": orientation}
    try:
        order = AnimeOrder.model_validate(fields)
    except ValidationError:  # forged callback data: not a layout the bot offers
        await answer(update)
        return ConversationHandler.END
    await show_order(update, context, PendingOrder(SERVICE.name, order, photo.ref))
    return ConversationHandler.END


def price(order: AnimeOrder, settings: Settings, provider: str = "") -> int:
    return settings.providers.qq_anime.price


def describe(order: AnimeOrder, lang: str, deps: ServiceDeps) -> str:
    style = next((s for s in deps.settings.providers.qq_anime.all_styles() if s.id == order.style), None)
    return t(
        lang,
        "anime.details",
        style=localized(style.title, lang) if style else order.style,
        layout=t(lang, f"anime.layout_{order.layout}"),
    )


def present(job: Job, index: int, data: bytes, lang: str, settings: Settings) -> ResultView:
    """The anime picture; when QQ made its transformation video too, a button for it."""
    view = plain_result(job, index, data, lang, settings)
    if job.result is None or not job.result.videos:
        return view
    return replace(view, keyboard=keyboards.anime_result(lang, job.id))


async def send_video(update: Update, context: Context) -> None:
    """Button a:video:<job>: the transformation video of the user's anime picture, which Telegram
    fetches from QQ's link (it expires: then the user is told so)."""
    lang = context.lang
    press = pressed(update, AnimeVideo)
    job = await finished_job(update, context, press.job_id if press else None, SERVICE.name)
    videos = job.result.videos if job is not None and job.result is not None else []
    if job is None or not videos:
        await answer(update, t(lang, "idphoto.job_gone"))
        return
    await answer(update)
    try:
        await message_of(update).reply_video(videos[0], caption=t(lang, "anime.video_caption"))
    except BadRequest as err:  # Telegram could not fetch it: QQ's link expired
        log.info("job %s: the anime video could not be sent: %s", job.id, err)
        await message_of(update).reply_text(t(lang, "anime.video_gone"))


def handlers() -> Handlers:
    """The video button under a finished anime picture."""
    return [CallbackQueryHandler(send_video, pattern=AnimeVideo.pattern())]


def steps() -> dict[object, Handlers]:
    return {
        State.PICK_STYLE: [CallbackQueryHandler(pick_style, pattern=StyleChoice.pattern())],
        State.PICK_LAYOUT: [CallbackQueryHandler(pick_layout, pattern=LayoutChoice.pattern())],
    }


SERVICE = Service(
    name="anime",
    providers=("qq_anime",),
    order_model=AnimeOrder,
    start=start,
    steps=steps,
    price=price,
    describe=describe,
    present=present,
    handlers=handlers,
)
