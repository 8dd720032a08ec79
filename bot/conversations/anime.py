"""Anime: style (from configuration) -> layout (anime only, or side by side) -> summary."""

from __future__ import annotations

from enum import StrEnum

from telegram import Update
from telegram.ext import ConversationHandler

from bot import keyboards
from bot.callback_data import parse
from bot.config import AnimeStyle
from bot.context import Context, Order
from bot.conversations.common import answer, query_of, ready_photo
from bot.conversations.orders import show_order
from bot.i18n import localized, t


class State(StrEnum):
    PICK_STYLE = "anime.pick_style"
    PICK_LAYOUT = "anime.pick_layout"


LAYOUTS = ("anime", "side_by_side")


def _styles(context: Context) -> tuple[AnimeStyle, ...]:
    return context.wiring.settings.providers.qq_anime.all_styles()


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
    callback = parse(query_of(update).data)
    style_id = callback.arg() if callback and callback.args else ""
    await answer(update)
    if style_id not in {s.id for s in _styles(context)}:
        return State.PICK_STYLE
    context.session.anime_style = style_id
    await query_of(update).edit_message_text(t(lang, "anime.pick_layout"), reply_markup=keyboards.anime_layouts(lang))
    return State.PICK_LAYOUT


async def pick_layout(update: Update, context: Context) -> int:
    """Button a:lay:<layout>: the order summary."""
    callback = parse(query_of(update).data)
    layout = callback.arg() if callback and callback.args else ""
    photo = context.session.photo
    style = next((s for s in _styles(context) if s.id == context.session.anime_style), None)
    if layout not in LAYOUTS or photo is None or style is None:
        await answer(update)
        return ConversationHandler.END
    orientation = "horizontal" if photo.width > photo.height else "vertical"
    options = {"style": style.id, "busi_id": style.busi_id, "layout": layout, "orientation": orientation}
    await show_order(update, context, Order("anime", options, photo.ref))
    return ConversationHandler.END
