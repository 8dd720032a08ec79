"""Payments reconciled with Telegram's own record of them (``getStarTransactions``).

A ``successful_payment`` update can be lost: with long polling, a crash after the update offset
moved on (Telegram forgets an update once a later getUpdates confirms it) and before its handler
recorded the payment leaves a paid user without credits. Telegram still lists the payment among
the bot's Star transactions. Every ``payments.reconcile_interval`` seconds, in the one process
that holds the upkeep right (bot/main/app.py), those transactions are compared with the payments table:

- a payment never received is credited through the path its update takes
  (``Payments.receive``: once per charge id, for the invoice its payload names), when that
  invoice was made for the paying user at the price paid; the buyer and the admins are told,
  by the pass that added it only, so once;
- a payment that matches no invoice of ours (an unknown payload, another user, another price)
  adds nothing and the admins are told (once per process);
- a refund (an outgoing transaction to the buyer whose id is the charge's) of a payment received
  but never reported refunded takes the credits back, as ``refunded_payment`` would have, and
  the admins are told; a payment that was refunded before the bot ever heard of it is left alone.

Each pass also deletes the invoices unpaid ``payments.invoice_lifetime`` seconds after they were
made and last checked out (every pack button press makes one).

A transaction younger than ``payments.reconcile_grace`` seconds is left to its own update, which
may still be on its way. Telegram lists transactions oldest first, so a pass reads only those after
the ones already settled (a process's first pass reads them all); the last settled one is read
again to check that, and a pass that finds it elsewhere starts over from the first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot, StarTransaction, TransactionPartnerUser
from telegram.error import TelegramError

from bot.storage.ledger import Ledger
from bot.storage.payments import CURRENCY, Payment, Payments
from bot.storage.store import DATABASE_ERRORS
from bot.storage.users import Users
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.refunds import take_back
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)

#: Transactions asked for at once (the Bot API's largest ``limit``).
PAGE_SIZE = 100
INVOICE_PAYMENT = "invoice_payment"


def _user_partner(partner: object) -> TransactionPartnerUser | None:
    return partner if isinstance(partner, TransactionPartnerUser) else None


class StarReconciler:
    def __init__(
        self,
        bot: Bot,
        payments: Payments,
        users: Users,
        ledger: Ledger,
        alerts: OperatorAlerts,
        *,
        interval: float,
        grace: float,
        invoice_lifetime: float,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot = bot
        #: The books a payment found only in Telegram's record is written into (take_back's).
        self.payments = payments
        self.users = users
        self.ledger = ledger
        self.alerts = alerts
        self.interval = interval
        self.grace = grace
        self.invoice_lifetime = invoice_lifetime
        self.page_size = page_size
        self._clock = clock
        #: How many of the oldest transactions are settled, and the id of the last of them.
        self._settled = 0
        self._last_id: str | None = None
        #: Charge ids the admins were told match no invoice (not again in this process).
        self._told: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        #: Set after every pass (tests wait on it).
        self.passed = asyncio.Event()

    def start(self) -> None:
        """Compare every ``interval`` seconds, the first time one interval from now (a restarted
        bot first takes the updates Telegram kept for it)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="star-reconcile")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reconcile()
            except TelegramError as err:  # tried again at the next interval
                log.warning("could not read the bot's Star transactions: %s", err)
            except DATABASE_ERRORS as err:
                log.warning("could not compare the Star transactions with the payments: %s", err)
            try:
                await self.purge_invoices()
            except DATABASE_ERRORS as err:
                log.warning("could not delete old unpaid invoices: %s", err)
            self.passed.set()

    async def purge_invoices(self) -> int:
        """Delete the unpaid invoices older than ``invoice_lifetime`` (after the comparison, so a
        payment whose update was lost has had its invoice); how many."""
        purged = await self.payments.purge_invoices(self._clock() - self.invoice_lifetime)
        if purged:
            log.info("deleted %d unpaid invoices", purged)
        return purged

    async def _fetch(self, offset: int) -> list[StarTransaction]:
        """The transactions from ``offset`` on, page by page."""
        found: list[StarTransaction] = []
        while True:
            page = await self.bot.get_star_transactions(offset=offset + len(found), limit=self.page_size)
            found.extend(page.transactions)
            if len(page.transactions) < self.page_size:
                return found

    async def reconcile(self) -> None:
        """One pass: every transaction after the settled ones, compared and acted on."""
        start = max(0, self._settled - 1)
        transactions = await self._fetch(start)
        if self._settled:
            if transactions and transactions[0].id == self._last_id:
                transactions, start = transactions[1:], self._settled
            else:
                log.warning("Telegram's Star transactions are not where they were: comparing them all again")
                self._settled, self._last_id, start = 0, None, 0
                transactions = await self._fetch(0)
        refunded = {tx.id for tx in transactions if _user_partner(tx.receiver) is not None}
        known = await self.payments.known(sorted({tx.id for tx in transactions}))
        young_after = self._clock() - self.grace
        prefix = True
        for index, transaction in enumerate(transactions):
            if transaction.date.timestamp() > young_after:
                break  # this one and those after it are left to their updates for now
            try:
                await self._check(transaction, known, refunded)
            except DATABASE_ERRORS as err:  # the later ones are still compared; this one next time
                log.error("could not reconcile Star transaction %s: %s", transaction.id, err)
                prefix = False
            if prefix:
                self._settled, self._last_id = start + index + 1, transaction.id

    async def _check(self, transaction: StarTransaction, known: dict[str, Payment], refunded: set[str]) -> None:
        source = _user_partner(transaction.source)
        if (
            source is not None
            and source.transaction_type == INVOICE_PAYMENT
            and source.invoice_payload is not None
            and transaction.id not in known
        ):
            if transaction.id in refunded:
                log.info("Star payment %s was refunded before the bot recorded it: nothing to add", transaction.id)
                return
            await self._credit(transaction, source.user.id, source.invoice_payload)
        receiver = _user_partner(transaction.receiver)
        payment = known.get(transaction.id)
        if receiver is not None and payment is not None and payment.refunded_at is None:
            await self._take_back(payment)

    async def _credit(self, transaction: StarTransaction, user_id: int, payload: str) -> None:
        """A payment whose update never came: its invoice's credits, once, when it matches."""
        received = await self.payments.receive(transaction.id, user_id, payload, CURRENCY, transaction.amount)
        if received is None:
            # Recorded without credits, so that /refund can give its Stars back; told once.
            await self.payments.unmatched(transaction.id, user_id, payload, CURRENCY, transaction.amount)
            if transaction.id not in self._told:
                self._told.add(transaction.id)
                log.error("Star payment %s of user %s matches no invoice of ours", transaction.id, user_id)
                await self.alerts.tell(
                    "admin.alert_payment_unmatched", charge_id=transaction.id, stars=transaction.amount, user_id=user_id
                )
            return
        if not received.added:
            return  # its update came meanwhile
        log.warning(
            "Star payment %s of user %s never arrived as an update: %d credits added from Telegram's record",
            transaction.id,
            user_id,
            received.added,
        )
        await self.alerts.tell(
            "admin.alert_payment_reconciled",
            charge_id=transaction.id,
            stars=transaction.amount,
            user_id=user_id,
            credits=received.added,
        )
        lang = await self.users.language(user_id)
        if lang:
            text = t(
                lang, "buy.credited_late", stars=transaction.amount, credits=received.added, balance=received.balance
            )
            try:
                await self.bot.send_message(user_id, text)
            except TelegramError as err:
                log.info("could not tell user %s about a payment credited late: %s", user_id, err)

    async def _take_back(self, payment: Payment) -> None:
        """A refund whose report never came: the credits leave the ledger, as with the report."""
        plan = await take_back(self.bot, self, payment.charge_id, "by Telegram, reconciled", alert=False)
        if plan is None:
            return
        log.warning("the refund of Star payment %s was never reported: its credits were taken back", payment.charge_id)
        await self.alerts.tell(
            "admin.alert_refund_reconciled",
            charge_id=payment.charge_id,
            stars=payment.stars,
            user_id=payment.user_id,
            credits=payment.credits,
            bought=plan.bought_after,
        )
