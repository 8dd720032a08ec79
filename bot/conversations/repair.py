"""Repair: mode (upscale, repair, repair + colorize, ID background) -> background colour -> summary."""

from __future__ import annotations

import re
from enum import StrEnum

from telegram import Update
from telegram.ext import ConversationHandler

from bot import keyboards
from bot.callback_data import parse
from bot.context import Context, Order
from bot.conversations.common import answer, message_of, query_of, ready_photo
from bot.conversations.orders import show_order
from bot.i18n import t
from providers.hili import REPAIR_TYPES


class State(StrEnum):
    PICK_MODE = "repair.pick_mode"
    PICK_BACKGROUND = "repair.pick_background"
    CUSTOM_BACKGROUND = "repair.custom_background"


#: Background colours offered for the ID-photo background change, as the API's "R,G,B".
BACKGROUNDS = {"white": "255,255,255", "blue": "67,142,219", "red": "255,0,0"}
_RGB = re.compile(r"^\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*$")
_HEX = re.compile(r"^\s*#?([0-9a-fA-F]{6})\s*$")


def parse_colour(text: str) -> str | None:
    """ "R,G,B" or a hex code, as the API's "R,G,B"; None when it is neither."""
    if match := _RGB.match(text):
        values = [int(v) for v in match.groups()]
        return ",".join(map(str, values)) if all(v <= 255 for v in values) else None
    if match := _HEX.match(text):
        code = match.group(1)
        return ",".join(str(int(code[i : i + 2], 16)) for i in (0, 2, 4))
    return None


def _arg(update: Update) -> str:
    callback = parse(query_of(update).data)
    return callback.arg() if callback and callback.args else ""


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:repair: needs a stored photo; asks for the mode (with each mode's price)."""
    lang = context.lang
    await answer(update)
    if not await ready_photo(update, context, needs_face=False):
        return ConversationHandler.END
    prices = context.wiring.settings.providers.hili.prices
    await query_of(update).edit_message_text(
        t(lang, "repair.pick_mode"), reply_markup=keyboards.repair_modes(lang, prices.model_dump())
    )
    return State.PICK_MODE


async def pick_mode(update: Update, context: Context) -> str | int:
    """Button r:mode:<mode>: the background change asks for a colour; the others go to the summary."""
    lang = context.lang
    mode = _arg(update)
    if mode not in REPAIR_TYPES:
        await answer(update)
        return State.PICK_MODE
    if mode == "background":
        await answer(update)
        await query_of(update).edit_message_text(
            t(lang, "repair.pick_background"), reply_markup=keyboards.repair_backgrounds(lang)
        )
        return State.PICK_BACKGROUND
    return await _summary(update, context, mode, None)


async def pick_background(update: Update, context: Context) -> str | int:
    """Button r:bg:<colour|custom>."""
    lang = context.lang
    name = _arg(update)
    if name == "custom":
        await answer(update)
        await query_of(update).edit_message_text(t(lang, "repair.ask_colour"))
        return State.CUSTOM_BACKGROUND
    if name not in BACKGROUNDS:
        await answer(update)
        return State.PICK_BACKGROUND
    return await _summary(update, context, "background", BACKGROUNDS[name])


async def custom_background(update: Update, context: Context) -> str | int:
    """Typed "R,G,B" or hex after "Custom…"."""
    lang = context.lang
    text = message_of(update).text or ""
    rgb = parse_colour(text)
    if rgb is None:
        await message_of(update).reply_text(t(lang, "repair.bad_colour", text=text[:20]))
        return State.CUSTOM_BACKGROUND
    return await _summary(update, context, "background", rgb)


async def _summary(update: Update, context: Context, mode: str, rgb: str | None) -> int:
    photo = context.session.photo
    if photo is None:
        await answer(update)
        return ConversationHandler.END
    options = {"mode": mode, "repair_type": REPAIR_TYPES[mode]}
    if rgb is not None:
        options["rgb"] = rgb
    await show_order(update, context, Order("repair", options, photo.ref))
    return ConversationHandler.END
