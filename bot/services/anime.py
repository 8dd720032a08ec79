"""Anime (QQ's free conversion): style (from configuration) -> layout (anime only, or side by
side) -> summary."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.config import AnimeStyle, Settings
from bot.domain.session import PendingOrder, ServiceState
from bot.storage.jobs import Job
from bot.telegram.context import Context, Handlers, Service, ServiceDeps
from bot.telegram.conversations.common import answer, finished_job, message_of, pressed, query_of, ready_photo
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui.callback_data import Action, NewPhoto
from bot.telegram.ui.i18n import localized, t
from bot.telegram.ui.results import ResultView, plain_result
from providers.orders import AnimeOrder

NAME = "anime"
#: This service's callback data: "a:<action>[:arg...]" (bot/telegram/ui/callback_data.py).
PREFIX = "a"


@dataclass(frozen=True)
class StyleChoice(Action, prefix=PREFIX, action="style"):
    style: str


@dataclass(frozen=True)
class LayoutChoice(Action, prefix=PREFIX, action="lay"):
    layout: str


@dataclass(frozen=True)
class AnimeVideo(Action, prefix=PREFIX, action="video"):
    job_id: str


def anime_result(lang: str, job_id: str) -> Markup:
    return Markup(
        [
            [Button(t(lang, "anime.video_button"), callback_data=AnimeVideo(job_id).data())],
            [Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())],
        ]
    )


def anime_styles(styles: Sequence[tuple[str, str]]) -> Markup:
    """``styles``: (id, title in the user's language)."""
    return Markup([[Button(title, callback_data=StyleChoice(style_id).data())] for style_id, title in styles])


def anime_layouts(lang: str) -> Markup:
    return Markup(
        [
            [Button(t(lang, f"anime.layout_{name}"), callback_data=LayoutChoice(name).data())]
            for name in ("anime", "side_by_side")
        ]
    )


log = logging.getLogger(__name__)


class State(StrEnum):
    PICK_STYLE = "anime.pick_style"
    PICK_LAYOUT = "anime.pick_layout"


class AnimeState(ServiceState):
    """What this dialog keeps in the user's session: the style chosen, until the layout is."""

    style: str = ""

    @classmethod
    def from_old_session(cls, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """The style at the top level of the session (``anime_style``)."""
        return {"style": data["anime_style"]} if data.get("anime_style") else None


def state_of(context: Context) -> AnimeState:
    """What this dialog keeps in the user's session."""
    return context.session.state(NAME, AnimeState)


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
        state_of(context).style = styles[0].id
        await query_of(update).edit_message_text(t(lang, "anime.pick_layout"), reply_markup=anime_layouts(lang))
        return State.PICK_LAYOUT
    buttons = [(s.id, localized(s.title, lang)) for s in styles]
    await query_of(update).edit_message_text(t(lang, "anime.pick_style"), reply_markup=anime_styles(buttons))
    return State.PICK_STYLE


async def pick_style(update: Update, context: Context) -> str | int:
    """Button a:style:<id>: stores the style; asks for the layout."""
    lang = context.lang
    choice = pressed(update, StyleChoice)
    style_id = choice.style if choice else ""
    await answer(update)
    if style_id not in {s.id for s in _styles(context)}:
        return State.PICK_STYLE
    state_of(context).style = style_id
    await query_of(update).edit_message_text(t(lang, "anime.pick_layout"), reply_markup=anime_layouts(lang))
    return State.PICK_LAYOUT


async def pick_layout(update: Update, context: Context) -> int:
    """Button a:lay:<layout>: the order summary."""
    choice = pressed(update, LayoutChoice)
    layout = choice.layout if choice else ""
    photo = context.session.photo
    style = next((s for s in _styles(context) if s.id == state_of(context).style), None)
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
    return replace(view, keyboard=anime_result(lang, job.id))


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
    name=NAME,
    providers=("qq_anime",),
    order_model=AnimeOrder,
    state_model=AnimeState,
    start=start,
    steps=steps,
    price=price,
    describe=describe,
    present=present,
    handlers=handlers,
)
