"""Repair (Hili): mode (upscale, repair, repair + colorize, ID background) -> background colour
-> summary. The modes are the provider's catalog."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.config import Settings
from bot.domain.session import PendingOrder
from bot.telegram.context import Context, Handlers, Service
from bot.telegram.conversations.common import answer, message_of, pressed, query_of, ready_photo
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import RepairBackground, RepairMode
from bot.telegram.ui.i18n import t
from providers.orders import RepairOrder

if TYPE_CHECKING:
    from bot.telegram.context import ServiceDeps


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


def _modes(context: Context) -> tuple[str, ...]:
    provider = context.deps.provider_for(SERVICE.name)
    return provider.catalogs.get("repair_modes", ()) if provider is not None else ()


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:repair: needs a stored photo; asks for the mode (with each mode's price)."""
    lang = context.lang
    await answer(update)
    if not await ready_photo(update, context, needs_face=False):
        return ConversationHandler.END
    prices = context.deps.settings.providers.hili.prices.model_dump()
    offered = {mode: prices[mode] for mode in _modes(context) if mode in prices}
    await query_of(update).edit_message_text(
        t(lang, "repair.pick_mode"), reply_markup=keyboards.repair_modes(lang, offered)
    )
    return State.PICK_MODE


async def pick_mode(update: Update, context: Context) -> str | int:
    """Button r:mode:<mode>: the background change asks for a colour; the others go to the summary."""
    lang = context.lang
    choice = pressed(update, RepairMode)
    mode = choice.mode if choice else ""
    if mode not in _modes(context):
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
    choice = pressed(update, RepairBackground)
    name = choice.name if choice else ""
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
    order = RepairOrder(mode=mode, rgb=rgb)
    await show_order(update, context, PendingOrder(SERVICE.name, order, photo.ref))
    return ConversationHandler.END


def price(order: RepairOrder, settings: Settings, provider: str = "") -> int:
    return int(getattr(settings.providers.hili.prices, order.mode))


def describe(order: RepairOrder, lang: str, deps: ServiceDeps) -> str:
    text = t(lang, f"repair.mode_{order.mode}", price=price(order, deps.settings))
    if order.rgb:
        text += "\n" + t(lang, "repair.background", rgb=order.rgb)
    return text


def steps() -> dict[object, Handlers]:
    return {
        State.PICK_MODE: [CallbackQueryHandler(pick_mode, pattern=RepairMode.pattern())],
        State.PICK_BACKGROUND: [CallbackQueryHandler(pick_background, pattern=RepairBackground.pattern())],
        State.CUSTOM_BACKGROUND: [MessageHandler(filters.TEXT & ~filters.COMMAND, custom_background)],
    }


SERVICE = Service(
    name="repair",
    providers=("hili",),
    order_model=RepairOrder,
    start=start,
    steps=steps,
    price=price,
    describe=describe,
)
