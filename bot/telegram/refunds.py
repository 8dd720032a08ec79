"""Taking a refunded payment's credits back, whoever noticed the refund: the admin's /refund, the
``refunded_payment`` message, or the reconciliation with Telegram's record (bot/telegram/reconcile.py). It
lives below the conversations so that the upkeep process need not import them."""

from __future__ import annotations

import logging
from typing import Protocol

from telegram import Bot
from telegram.error import TelegramError

from bot.storage.ledger import Ledger
from bot.storage.payments import Payments, RefundPlan
from bot.storage.users import Users
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)


class PaymentBooks(Protocol):
    """What taking a refund back reads and writes, and whom it tells."""

    @property
    def payments(self) -> Payments: ...

    @property
    def users(self) -> Users: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def alerts(self) -> OperatorAlerts: ...


async def take_back(bot: Bot, books: PaymentBooks, charge_id: str, note: str, *, alert: bool) -> RefundPlan | None:
    """Record the refund of a payment; tell the buyer, and (``alert``: nobody confirmed it) the
    admins when spent credits left the buyer owing. What it did; None when there is no such
    payment or it was refunded already."""
    plan = await books.payments.take_back(charge_id, note)
    if plan is None:
        return None
    buyer = plan.payment
    lang = await books.users.language(buyer.user_id)
    if lang:  # still a user (not gone with /forget)
        credits = await books.ledger.credits(buyer.user_id)
        try:
            if not buyer.credits:  # Payments.unmatched
                text = t(lang, "buy.refunded_unmatched", stars=buyer.stars)
            elif credits.bought < 0:  # some were spent: "you have 24" (or -6) hid that orders are refused
                text = t(lang, "buy.refunded_owing", credits=buyer.credits, stars=buyer.stars, owed=-credits.bought)
            else:
                text = t(lang, "buy.refunded", credits=buyer.credits, stars=buyer.stars, balance=credits.total)
            await bot.send_message(buyer.user_id, text)
        except TelegramError as err:
            log.info("could not tell user %s about a refund: %s", buyer.user_id, err)
    if alert and buyer.credits and plan.bought_after < 0:
        await books.alerts.tell(
            "admin.alert_refund_spent",
            user_id=buyer.user_id,
            charge_id=charge_id,
            stars=buyer.stars,
            credits=buyer.credits,
            bought=plan.bought_after,
        )
    return plan
