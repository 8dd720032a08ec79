"""The summary every service's dialog ends on: the order, its price, the balance, Confirm / Cancel."""

from __future__ import annotations

from telegram import Update

from bot.domain.session import PendingOrder
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, message_of, query_of, user_id_of
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t


async def show_order(update: Update, context: Context, order: PendingOrder, *, new_message: bool = False) -> None:
    """The order with its details, price and balance, and Confirm / Cancel."""
    lang = context.lang
    wiring = context.wiring
    service = wiring.services[order.service]
    order.provider = wiring.enabled_services.get(order.service, "")
    context.session.order = order
    text = t(
        lang,
        "order.summary",
        details=service.describe(order.order, lang, wiring),
        price=service.price(order.order, wiring.settings, order.provider),
        balance=await wiring.ledger.balance(user_id_of(update)),
    )
    standing_in = wiring.standing_in(order.service)
    if standing_in is not None:  # its first provider is down: say who makes it instead
        text = t(lang, "order.failover", usual=t(lang, f"provider_short.{standing_in}"), summary=text)
    markup = keyboards.summary(lang, order.nonce)
    await answer(update)  # every path through here answers the button, once
    if update.callback_query is not None and not new_message:
        await query_of(update).edit_message_text(text, reply_markup=markup)
    else:
        await message_of(update).reply_text(text, reply_markup=markup)
