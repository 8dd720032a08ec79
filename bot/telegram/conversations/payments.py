"""Buying credits with Telegram Stars, and what Telegram asks of a bot that sells digital goods.

/buy (or a "Buy credits" button) lists ``payments.packs``; a pack's button sends an invoice in
XTR whose payload is a random token stored with the user and the pack (bot/storage/payments.py).
Telegram asks before it charges (pre-checkout): only a payload this bot issued, to this user, at
its price, of a pack still sold as it was offered, is accepted. The payment adds the pack's
credits once per charge id, checked again: one not by the invoice's user, or not at its price,
adds none, is kept for a refund and told to the admins (one not in Stars, which the bot never
invoices, as one /refund cannot give back: refundStarPayment refunds Stars only). A refund (an
admin's /refund, or one Telegram made and reports) takes them back once; when they were spent,
the admin confirms first, and the user cannot order until bought credits are above zero again.
/paysupport and /terms answer as Telegram requires.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from telegram import LabeledPrice, PreCheckoutQuery, Update
from telegram.error import BadRequest, TelegramError

from bot.storage.payments import CURRENCY, Payment, RefundStart
from bot.storage.store import DATABASE_ERRORS
from bot.telegram.context import Context
from bot.telegram.conversations.common import answer, is_admin, message_of, pressed, query_of, user_id_of
from bot.telegram.refunds import take_back
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import BuyPack, RefundAnswer
from bot.telegram.ui.i18n import localized, pick_language, t

if TYPE_CHECKING:
    from bot.telegram.context import Wiring

log = logging.getLogger(__name__)
#: How many purchases /balance and /paysupport show.
RECENT = 5
#: Telegram's answer to refundStarPayment for a charge refunded before.
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


async def buy(update: Update, context: Context) -> None:
    """/buy, or the button b:menu ("Buy credits" under a refusal or /balance): the packs, as
    buttons, in a new message."""
    lang = context.lang
    await answer(update)
    payments = context.wiring.settings.payments
    if not payments.enabled:
        await message_of(update).reply_text(t(lang, "buy.unavailable"))
        return
    balance = await context.wiring.ledger.balance(user_id_of(update))
    await message_of(update).reply_text(
        t(lang, "buy.packs", balance=balance), reply_markup=keyboards.packs(lang, payments.packs)
    )


async def buy_pack(update: Update, context: Context) -> None:
    """Button b:pack:<id>: an invoice for that pack, in Telegram Stars."""
    lang = context.lang
    press = pressed(update, BuyPack)
    pack = context.wiring.settings.payments.pack(press.pack_id) if press else None
    if pack is None:
        await answer(update, t(lang, "buy.unavailable"))
        return
    await answer(update)
    invoice = await context.wiring.payments.issue(user_id_of(update), pack.id, pack.credits, pack.stars)
    await context.bot.send_invoice(
        chat_id=message_of(update).chat_id,
        title=t(lang, "buy.invoice_title", credits=pack.credits),
        description=t(lang, "buy.invoice_description", credits=pack.credits),
        payload=invoice.payload,
        provider_token="",  # Telegram Stars take no payment provider
        currency=CURRENCY,
        prices=[LabeledPrice(t(lang, "buy.price_label", credits=pack.credits), pack.stars)],
    )


async def pre_checkout(update: Update, context: Context) -> None:
    """Telegram asks before charging: a query that waited in the inbox (where it was received,
    Telegram could not be told the answer: see :func:`checkout_arrived`)."""
    query = update.pre_checkout_query
    assert query is not None
    await answer_checkout(context.wiring, query, context.session.lang)


async def checkout_arrived(update: Update, wiring: Wiring) -> None:
    """A pre-checkout query is answered where it arrives, at once: by the process that received
    it from the webhook, or by the poller that took it (bot/telegram/polling.py). Telegram waits
    10 s for the answer, and the answer needs only the invoice, from the database; through the
    inbox it would wait for a free handler of the process that handles updates, however far
    behind. Its update_id is then kept as handled, so that Telegram sending it again is not
    answered twice."""
    query = update.pre_checkout_query
    assert query is not None
    try:
        if await wiring.inbox.seen(update.update_id):
            return
    except DATABASE_ERRORS as err:  # answered all the same: Telegram only refuses a second answer
        log.warning("could not look up pre-checkout query %s: %s", update.update_id, err)
    await answer_checkout(wiring, query, None)
    try:
        await wiring.inbox.handled_here(update.update_id)
    except DATABASE_ERRORS as err:  # answered: sent again, it is answered again and refused
        log.warning("could not remember pre-checkout query %s as answered: %s", update.update_id, err)


async def answer_checkout(wiring: Wiring, query: PreCheckoutQuery, lang: str | None) -> None:
    """Yes only for our invoice, for this user, at its price, of a pack sold as it offered it; else
    why not, in the user's language. Past the bot's rate limiter (bot/telegram/direct.py): a 429
    on any other call held the answer past Telegram's 10 s. With the database out of reach, no
    (nothing is charged) and why, at once: waiting for it let Telegram's 10 s pass, and the user
    saw only that the payment failed."""
    user = query.from_user
    sold = {pack.id: (pack.credits, pack.stars) for pack in wiring.settings.payments.packs}
    try:
        problem = await wiring.payments.checkout_problem(
            query.invoice_payload, user.id, query.currency, query.total_amount, sold
        )
        accepted = problem is None and await wiring.payments.checked_out(query.invoice_payload)
        if not accepted:
            lang = lang or await wiring.users.language(user.id)
    except DATABASE_ERRORS as err:
        log.warning("pre-checkout refused for user %s: the database is out of reach: %s", user.id, err)
        accepted, reason = False, "unavailable"
    else:
        reason = problem or "unknown"  # swept meanwhile: a payment would find no invoice
    if accepted:
        await wiring.direct.answer_pre_checkout_query(query.id, ok=True)
        return
    log.warning("pre-checkout refused (%s) for user %s", reason, user.id)
    lang = lang or pick_language(user.language_code)
    await wiring.direct.answer_pre_checkout_query(query.id, ok=False, error_message=t(lang, f"buy.checkout_{reason}"))


async def paid(update: Update, context: Context) -> None:
    """A successful payment: the pack's credits, once per charge id; a replay adds nothing. One
    that is not its invoice as issued (no invoice of ours, another user's, another price) adds
    nothing: it is recorded for a refund, and the admins are told."""
    message = message_of(update)
    payment = message.successful_payment
    assert payment is not None
    lang = context.lang
    payments = context.wiring.payments
    charge_id, payer, payload = payment.telegram_payment_charge_id, user_id_of(update), payment.invoice_payload
    received = await payments.receive(charge_id, payer, payload, payment.currency, payment.total_amount)
    if received is None:
        await payments.unmatched(charge_id, payer, payload, payment.currency, payment.total_amount)
        invoice = await payments.invoice(payload)
        if payment.currency != CURRENCY:  # no invoice of ours: not one refundStarPayment gives back
            log.error("payment %s was made in %s, not in Stars", charge_id, payment.currency)
            await context.wiring.alerts.tell(
                "admin.alert_payment_not_stars",
                charge_id=charge_id,
                provider_charge_id=payment.provider_payment_charge_id or "-",
                amount=payment.total_amount,
                currency=payment.currency,
                user_id=payer,
            )
        elif invoice is None:
            log.error("a payment names no invoice of this bot's: %s", charge_id)
            await context.wiring.alerts.tell(
                "admin.alert_unknown_payment", charge_id=charge_id, stars=payment.total_amount, user_id=payer
            )
        else:
            log.error("payment %s is not its invoice as issued to user %s", charge_id, invoice.user_id)
            await context.wiring.alerts.tell(
                "admin.alert_payment_mismatch",
                charge_id=charge_id,
                amount=payment.total_amount,
                currency=payment.currency,
                user_id=payer,
                owner=invoice.user_id,
                stars=invoice.stars,
            )
        if context.wiring.alerts.anyone:
            await message.reply_text(t(lang, "buy.unknown_payment"))
        else:  # nobody was told: no promise that someone will sort it out
            await message.reply_text(t(lang, "buy.unknown_payment_no_operator", charge_id=charge_id))
        return
    if received.added:
        await message.reply_text(t(lang, "buy.thanks", credits=received.added, balance=received.balance))


async def refunded(update: Update, context: Context) -> None:
    """A refund Telegram made (and reports): the credits leave the ledger, as with /refund."""
    refund = message_of(update).refunded_payment
    assert refund is not None
    charge_id = refund.telegram_payment_charge_id
    # Every refund is reported, an admin's /refund too; its report may come before its answer.
    await take_back(
        context.bot, context.wiring, charge_id, "by Telegram", alert=charge_id not in context.wiring.refunding
    )


async def refund(update: Update, context: Context) -> None:
    """/refund <charge id>: admins give a payment's Stars back and take its credits back; when
    they were spent, only after a yes."""
    lang = context.lang
    if not is_admin(update, context):
        await message_of(update).reply_text(t(lang, "admin.not_allowed"))
        return
    args = context.args or []
    if len(args) != 1:
        await message_of(update).reply_text(t(lang, "admin.refund_usage"))
        return
    charge_id = args[0][:200]
    started = await context.wiring.payments.begin_refund(charge_id, spend_confirmed=False)
    if started.outcome == "ask":
        assert started.plan is not None
        plan = started.plan
        nonce = secrets.token_hex(4)
        context.session.pending_refund = (charge_id, nonce)
        spent = min(plan.payment.credits, -plan.bought_after)
        markup = keyboards.refund_question(lang, nonce)
        text = t(
            lang,
            "admin.refund_spent",
            user_id=plan.payment.user_id,
            spent=spent,
            credits=plan.payment.credits,
            bought=plan.bought_after,
        )
        await message_of(update).reply_text(text, reply_markup=markup)
        return
    await message_of(update).reply_text(await _refund(context, charge_id, started))


async def refund_answer(update: Update, context: Context) -> None:
    """Button b:refund:<nonce>:<yes|no> under an admin's refund of spent credits."""
    lang = context.lang
    press = pressed(update, RefundAnswer)
    pending = context.session.pending_refund
    if press is None or pending is None or pending[1] != press.nonce or not is_admin(update, context):
        await answer(update, t(lang, "menu.expired"))
        return
    context.session.pending_refund = None
    await answer(update)
    if press.answer != "yes":
        await query_of(update).edit_message_text(t(lang, "admin.refund_kept"))
        return
    started = await context.wiring.payments.begin_refund(pending[0], spend_confirmed=True)
    await query_of(update).edit_message_text(await _refund(context, pending[0], started))


#: What the admin is told when a refund was not started, by why.
_NOT_STARTED = {
    "unknown": "admin.refund_unknown",
    "refunded": "admin.refund_already",
    "under_way": "admin.refund_under_way",
}


async def _refund(context: Context, charge_id: str, started: RefundStart) -> str:
    """Once the refund is decided and its credits reserved (``started``): Stars back through
    Telegram first, and the credits leave the ledger once Telegram agreed. What to tell the admin."""
    lang = context.lang
    if started.outcome == "not_stars":
        assert started.plan is not None
        return t(lang, "admin.refund_not_stars", charge_id=charge_id, currency=started.plan.payment.currency)
    if started.outcome in _NOT_STARTED:
        return t(lang, _NOT_STARTED[started.outcome], charge_id=charge_id)
    assert started.outcome == "reserved" and started.plan is not None
    payment = started.plan.payment
    refunding = context.wiring.refunding
    refunding.add(charge_id)
    try:
        return await _refund_reserved(context, payment)
    finally:
        refunding.discard(charge_id)


async def _refund_reserved(context: Context, payment: Payment) -> str:
    """Ask Telegram for the Stars back, then take the credits back; what to tell the admin."""
    lang = context.lang
    charge_id = payment.charge_id
    try:
        await context.bot.refund_star_payment(payment.user_id, charge_id)
    except BadRequest as err:
        if ALREADY_REFUNDED not in str(err):  # refused: the credits are the buyer's again
            log.warning("refundStarPayment %s refused: %s", charge_id, err)
            await context.wiring.payments.cancel_refund(charge_id)
            return t(lang, "admin.refund_failed", charge_id=charge_id, reason=str(err))
        # Refunded before (an attempt whose process died, or Telegram's own whose report was
        # lost): taken back here, unless that refund's report came meanwhile.
        if await take_back(context.bot, context.wiring, charge_id, "by /refund", alert=False) is None:
            return t(lang, "admin.refund_already", charge_id=charge_id)
    except TelegramError as err:  # maybe refunded: the reservation stands until it lapses
        log.warning("refundStarPayment %s failed: %s", charge_id, err)
        return t(lang, "admin.refund_failed", charge_id=charge_id, reason=str(err))
    else:
        # Taken back here, or already by Telegram's report of this very refund (every refund is
        # reported, and the report may come before the answer).
        await take_back(context.bot, context.wiring, charge_id, "by /refund", alert=False)
    return t(lang, "admin.refund_done", stars=payment.stars, user_id=payment.user_id, credits=payment.credits)


def purchase_lines(lang: str, purchases: list[Payment]) -> str:
    lines = [t(lang, "balance.purchases")]
    for payment in purchases:
        day = datetime.fromtimestamp(payment.paid_at, UTC).strftime("%Y-%m-%d")
        refunded = t(lang, "balance.refunded") if payment.refunded_at is not None else ""
        common = {"day": day, "charge_id": payment.charge_id, "refunded": refunded}
        if payment.currency == CURRENCY:
            lines.append(t(lang, "balance.purchase", credits=payment.credits, stars=payment.stars, **common))
        else:  # Payments.unmatched, paid in another currency: its amount is not in Stars
            lines.append(
                t(lang, "balance.purchase_not_stars", amount=payment.stars, currency=payment.currency, **common)
            )
    return "\n".join(lines)


async def paysupport(update: Update, context: Context) -> None:
    """/paysupport [question]: how to get help with a payment; with a question, the admins get it
    with the user's id and recent purchases (``payments.support_questions_per_hour`` at most)."""
    lang = context.lang
    user_id = user_id_of(update)
    purchases = await context.wiring.payments.recent(user_id, RECENT)
    question = " ".join(context.args or []).strip()[:1000]
    # Questions go to the admins alone: with none (telegram.admin_ids empty) nobody would read them.
    operator = context.wiring.alerts.anyone
    if not question:
        text = t(lang, "paysupport.text" if operator else "paysupport.text_no_operator")
        if purchases:
            text += "\n\n" + purchase_lines(lang, purchases)
        await message_of(update).reply_text(text)
        return
    if not operator:
        await message_of(update).reply_text(t(lang, "paysupport.no_operator"))
        return
    if not context.wiring.support_limiter.allow(user_id):
        await message_of(update).reply_text(t(lang, "paysupport.too_many"))
        return
    await context.wiring.alerts.tell(
        "admin.paysupport",
        user_id=user_id,
        question=question,
        purchases=", ".join(p.charge_id for p in purchases) or "-",
        sent=datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    await message_of(update).reply_text(t(lang, "paysupport.sent"))


async def terms(update: Update, context: Context) -> None:
    """/terms: the operator's terms of sale, or the catalog's."""
    lang = context.lang
    configured = context.wiring.settings.payments.terms
    text = localized(configured, lang) if configured else ""
    await message_of(update).reply_text(text or t(lang, "terms.text"))
