"""The summary every service's dialog ends on: the order, its price, the balance, Confirm / Cancel."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit

from bot.domain.ordering import OrderUnavailable, part_prices
from bot.domain.session import PendingOrder
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, message_of, query_of, user_id_of
from bot.telegram.ui import keyboards
from bot.telegram.ui.i18n import t, telegram_length


async def show_order(
    update: Update, context: Context, order: PendingOrder, *, new_message: bool = False, toast: str | None = None
) -> None:
    """The order with its details, price and balance, and Confirm / Cancel; an order with extras
    lists every part with its price, and the total once. ``toast``: what the button's answer says."""
    lang = context.lang
    wiring = context.wiring
    service = wiring.services[order.service]
    if not order.pinned:  # a bought preview stays with the engine that made it
        order.provider = wiring.enabled_services.get(order.service, "")
    try:
        prices = part_prices(wiring, order, order.provider)
        details = service.describe(order.order, lang, wiring)
    except OrderUnavailable:  # what it names left the configuration
        context.session.order = None
        await answer(update, t(lang, "order.unavailable"))
        if update.callback_query is None:
            await message_of(update).reply_text(t(lang, "order.unavailable"))
        return
    context.session.order = order
    order.quoted = sum(prices)
    if order.album:  # the photos made, each at its price, and those refused with why
        details += "\n\n" + order.notes + "\n" + t(lang, "album.price", count=len(prices), price=prices[0])
    elif order.extras and service.part is not None:  # every part with its price, the total once
        parts = [order.order, *(extra.order for extra in order.extras)]
        lines = [
            t(lang, "order.part", what=service.part(part, lang, wiring), price=price)
            for part, price in zip(parts, prices, strict=True)
        ]
        share = round(wiring.settings.prices.extra_spec * 100)
        details += "\n\n" + t(lang, "order.parts", count=len(parts), lines="\n".join(lines), share=share)
    elif order.as_extra:
        details += "\n\n" + t(lang, "order.as_extra", share=round(wiring.settings.prices.extra_spec * 100))
    balance = await wiring.ledger.balance(user_id_of(update))
    standing_in = wiring.standing_in(order.service)

    def summary(details: str) -> str:
        text = t(lang, "order.summary", details=details, price=sum(prices), balance=balance)
        if standing_in is not None:  # its first provider is down: say who makes it instead
            text = t(lang, "order.failover", usual=t(lang, f"provider_short.{standing_in}"), summary=text)
        return text

    text = summary(details)
    excess = telegram_length(text) - MessageLimit.MAX_TEXT_LENGTH
    if excess > 0:  # a summary Telegram would refuse could never be confirmed: its details are cut
        text = summary(details[: max(0, len(details) - excess - 1)] + "…")
    markup = keyboards.summary(lang, order.nonce)
    if service.summary_buttons is not None:
        markup = InlineKeyboardMarkup([*markup.inline_keyboard, *service.summary_buttons(order, lang, wiring)])
    await answer(update, toast)  # every path through here answers the button, once
    if update.callback_query is not None and not new_message:
        await query_of(update).edit_message_text(text, reply_markup=markup)
    else:
        await message_of(update).reply_text(text, reply_markup=markup)
