"""Enhance (MagicTiger): an enhance type (from configuration) -> summary. The queue position
shows while it runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup
from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.config import EnhanceType, Settings
from bot.domain.ordering import OrderUnavailable
from bot.domain.session import PendingOrder
from bot.telegram.context import Context, Handlers, Service, ServiceDeps
from bot.telegram.conversations.common import answer, pressed, query_of, ready_photo
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui.callback_data import Action
from bot.telegram.ui.i18n import localized, t
from providers.orders import EnhanceOrder

#: This service's callback data: "e:<action>[:arg...]" (bot/telegram/ui/callback_data.py).
PREFIX = "e"


@dataclass(frozen=True)
class EnhanceChoice(Action, prefix=PREFIX, action="type"):
    type_id: str


def enhance_types(types: Sequence[tuple[str, str]]) -> Markup:
    """``types``: (id, button text in the user's language)."""
    return Markup([[Button(text, callback_data=EnhanceChoice(type_id).data())] for type_id, text in types])


class State(StrEnum):
    PICK_TYPE = "enhance.pick_type"


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:enhance: needs a stored photo; asks for the kind of enhancement."""
    lang = context.lang
    await answer(update)
    if not await ready_photo(update, context, needs_face=False):
        return ConversationHandler.END
    types = context.deps.settings.providers.magictiger.enhance_types
    buttons = [(e.id, t(lang, "enhance.type_button", title=localized(e.title, lang), price=e.price)) for e in types]
    await query_of(update).edit_message_text(t(lang, "enhance.pick_type"), reply_markup=enhance_types(buttons))
    return State.PICK_TYPE


async def pick_type(update: Update, context: Context) -> int:
    """Button e:type:<id>: the order summary."""
    choice = pressed(update, EnhanceChoice)
    type_id = choice.type_id if choice else ""
    enhance = next((e for e in context.deps.settings.providers.magictiger.enhance_types if e.id == type_id), None)
    photo = context.session.photo
    if enhance is None or photo is None:
        await answer(update)
        return ConversationHandler.END
    order = EnhanceOrder(enhance=enhance.id, type=enhance.type, outputs=enhance.outputs)
    await show_order(update, context, PendingOrder(SERVICE.name, order, photo.ref))
    return ConversationHandler.END


def _enhance_type(order: EnhanceOrder, settings: Settings) -> EnhanceType:
    """The configured type the order names; OrderUnavailable once the operator removed it (a
    StopIteration in a coroutine had become a RuntimeError: "something went wrong")."""
    found = next((e for e in settings.providers.magictiger.enhance_types if e.id == order.enhance), None)
    if found is None:
        raise OrderUnavailable(f"enhance type {order.enhance!r} is no longer configured")
    return found


def price(order: EnhanceOrder, settings: Settings, provider: str = "") -> int:
    return _enhance_type(order, settings).price


def describe(order: EnhanceOrder, lang: str, deps: ServiceDeps) -> str:
    return t(lang, "enhance.details", title=localized(_enhance_type(order, deps.settings).title, lang))


def steps() -> dict[object, Handlers]:
    return {State.PICK_TYPE: [CallbackQueryHandler(pick_type, pattern=EnhanceChoice.pattern())]}


SERVICE = Service(
    name="enhance",
    providers=("magictiger",),
    order_model=EnhanceOrder,
    start=start,
    steps=steps,
    price=price,
    describe=describe,
)
