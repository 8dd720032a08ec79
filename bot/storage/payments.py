"""Credit packs bought with Telegram Stars: invoices issued, payments received, refunds.

An invoice's payload is a random token stored with the user and the pack as offered; a pre-checkout
is accepted only for a payload issued to that user at that price, while its pack is still sold as
offered. A payment of an invoice as it was issued (by its user, at its price) adds its credits once
(the ledger's unique index on the payment's charge id makes a replayed update a no-op); any other
is recorded without credits, for a refund (in Stars; one in another currency, which the bot never
invoices, only with its currency: refundStarPayment cannot give it back). A refund takes exactly
those credits back, once, even
when they were already spent (the bought balance then goes below zero and blocks new orders until
the user buys again). An admin's refund is decided on the credits as they are in the transaction
that reserves them (orders run one at a time per user), so no order spends them while Telegram is
asked.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from bot.storage.ledger import BALANCE_SQL, BOUGHT_SQL, REFUND_RESERVATION, RESERVED_SQL, keep_debt
from bot.storage.store import Store, Tx

#: Bytes of randomness in an invoice payload (Telegram allows 1-128 bytes).
PAYLOAD_BYTES = 24
CURRENCY = "XTR"

T = TypeVar("T")

CheckoutProblem = Literal["unknown", "not_yours", "wrong_price", "withdrawn"]

#: Charge ids looked up in one statement by :meth:`Payments.known`.
KNOWN_BATCH = 500


@dataclass(frozen=True)
class Invoice:
    payload: str
    user_id: int
    pack_id: str
    credits: int
    stars: int


@dataclass(frozen=True)
class Payment:
    charge_id: str
    user_id: int
    credits: int
    stars: int
    paid_at: float
    refunded_at: float | None
    #: When an admin's refund reserved its credits (bot/telegram/conversations/payments.refund).
    refund_started_at: float | None = None
    #: XTR, or (a payment that matches no invoice: the bot invoices only in Stars) the currency
    #: ``stars`` counts the smallest units of; such a payment is not refundable in Stars.
    currency: str = CURRENCY


@dataclass(frozen=True)
class Received:
    """What a successful payment did: credits added (0 when the update was a replay)."""

    added: int
    balance: int


@dataclass(frozen=True)
class RefundPlan:
    """A refund: the payment, and the bought credits it leaves (below zero: spent ones)."""

    payment: Payment
    #: The ledger identity the credits come back from (the buyer, or their /forget pseudonym).
    ledger_user: int
    bought_after: int


RefundOutcome = Literal["unknown", "refunded", "not_stars", "under_way", "ask", "reserved"]


@dataclass(frozen=True)
class RefundStart:
    """What :meth:`Payments.begin_refund` decided, with the refund it planned (ask, reserved)."""

    outcome: RefundOutcome
    plan: RefundPlan | None = None


class Payments:
    def __init__(self, db: Store) -> None:
        self.db = db

    async def issue(self, user_id: int, pack_id: str, credits: int, stars: int) -> Invoice:
        invoice = Invoice(secrets.token_urlsafe(PAYLOAD_BYTES), user_id, pack_id, credits, stars)
        await self.db.write(
            "INSERT INTO invoices (payload, user_id, pack_id, credits, stars, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (invoice.payload, user_id, pack_id, credits, stars, time.time()),
        )
        return invoice

    async def invoice(self, payload: str) -> Invoice | None:
        row = await self.db.fetchone("SELECT * FROM invoices WHERE payload = ?", (payload,))
        if row is None:
            return None
        return Invoice(row["payload"], row["user_id"], row["pack_id"], row["credits"], row["stars"])

    async def checked_out(self, payload: str) -> bool:
        """Telegram is to be told yes for the invoice: it is kept another ``invoice_lifetime`` (a
        payment whose update is lost finds it when reconciled). False where the invoice is gone
        (swept, or the user's /forget, since it was read): then the answer is no."""
        sql = "UPDATE invoices SET checked_out_at = ? WHERE payload = ?"
        return await self.db.write(sql, (time.time(), payload)) == 1

    async def purge_invoices(self, before: float) -> int:
        """Delete the unpaid invoices made, and last checked out, before ``before`` (seconds since
        the epoch); how many."""
        return await self.db.write(
            "DELETE FROM invoices WHERE created_at < ? AND (checked_out_at IS NULL OR checked_out_at < ?)"
            " AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.payload = invoices.payload)",
            (before, before),
        )

    async def checkout_problem(
        self, payload: str, user_id: int, currency: str, total: int, sold: Mapping[str, tuple[int, int]]
    ) -> CheckoutProblem | None:
        """Why a pre-checkout must be refused, or None when it is an invoice of ours, for this
        user, at its price, of a pack still sold as it offered it. ``sold``: the packs on sale now,
        id -> (credits, stars); an invoice made before the operator changed or withdrew its pack
        (a pack priced by mistake) sells it no more."""
        invoice = await self.invoice(payload)
        if invoice is None:
            return "unknown"
        if problem := _not_as_issued(invoice, user_id, currency, total):
            return problem
        if sold.get(invoice.pack_id) != (invoice.credits, invoice.stars):
            return "withdrawn"
        return None

    async def receive(self, charge_id: str, user_id: int, payload: str, currency: str, total: int) -> Received | None:
        """Add the invoice's credits for this payment, once; None when it matches no invoice of
        ours: the payload is not ours, or the invoice was made for another user or at another
        price (the pre-checkout refuses those; this is the second line, should one get through:
        the payer is not credited another's pack, nor a pack for less than its price)."""
        invoice = await self.invoice(payload)
        if invoice is None or _not_as_issued(invoice, user_id, currency, total):
            return None
        now = time.time()

        async def work(tx: Tx) -> Received:
            # The buyer's row, should their /forget have deleted it since the checkout (the update
            # brings them back first; the reconciliation does not): the purchase names it.
            await _bare_user(tx, user_id)
            added = await tx.execute(
                "INSERT INTO payments (charge_id, user_id, payload, credits, stars, paid_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (charge_id) DO NOTHING",
                (charge_id, user_id, payload, invoice.credits, invoice.stars, now),
            )
            if added:
                await tx.execute(
                    "INSERT INTO ledger (user_id, kind, amount, paid, payment, note, created_at)"
                    " VALUES (?, 'purchase', ?, ?, ?, ?, ?)",
                    (user_id, invoice.credits, invoice.credits, charge_id, invoice.pack_id, now),
                )
            return Received(invoice.credits if added else 0, await tx.number(BALANCE_SQL, (user_id,)))

        return await self.db.transaction(work, user=user_id)

    async def unmatched(self, charge_id: str, user_id: int, payload: str, currency: str, amount: int) -> None:
        """Record a payment that matches no invoice of ours (its invoice gone, or not this user's or
        not at this price), with no credits: so that /refund can give its Stars back (or, paid in
        another currency, say it cannot). Once."""
        await self.db.write(
            "INSERT INTO payments (charge_id, user_id, payload, credits, stars, currency, paid_at)"
            " VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT (charge_id) DO NOTHING",
            (charge_id, user_id, payload, amount, currency, time.time()),
        )

    async def payment(self, charge_id: str) -> Payment | None:
        row = await self.db.fetchone("SELECT * FROM payments WHERE charge_id = ?", (charge_id,))
        return _payment(row) if row is not None else None

    async def known(self, charge_ids: list[str]) -> dict[str, Payment]:
        """The payments received among ``charge_ids``, by charge id."""
        found: dict[str, Payment] = {}
        # In batches: a whole Star history would pass the drivers' limit on parameters (32,767).
        for start in range(0, len(charge_ids), KNOWN_BATCH):
            batch = tuple(charge_ids[start : start + KNOWN_BATCH])
            marks = ", ".join("?" * len(batch))
            rows = await self.db.fetchall(f"SELECT * FROM payments WHERE charge_id IN ({marks})", batch)
            found.update((row["charge_id"], _payment(row)) for row in rows)
        return found

    async def _ledger_user(self, charge_id: str) -> int | None:
        """Whose ledger the payment's credits are in: the buyer's, or their /forget pseudonym's."""
        row = await self.db.fetchone(_PAYMENT_AND_LEDGER, (charge_id,))
        return _ledger_of(row) if row is not None else None

    async def _on_ledger(self, charge_id: str, work: Callable[[Tx, Payment, int], Awaitable[T]]) -> T | None:
        """``work(tx, payment, ledger user)`` in one transaction on the ledger the payment's
        credits are in (None when there is no such payment); run again should /forget move them
        to a pseudonym between looking and locking."""
        for _ in range(3):
            ledger_user = await self._ledger_user(charge_id)
            if ledger_user is None:
                return None
            done, result = await self.db.transaction(self._locked(charge_id, ledger_user, work), user=ledger_user)
            if done:
                return result
        raise RuntimeError(f"payment {charge_id}: its credits kept moving between ledgers")

    @staticmethod
    def _locked(
        charge_id: str, ledger_user: int, work: Callable[[Tx, Payment, int], Awaitable[T]]
    ) -> Callable[[Tx], Awaitable[tuple[bool, T | None]]]:
        """``work`` for a transaction locked on ``ledger_user``: (False, None) when the payment's
        credits are no longer there."""

        async def locked(tx: Tx) -> tuple[bool, T | None]:
            row = await tx.fetchone(_PAYMENT_AND_LEDGER, (charge_id,))
            if row is None:
                return True, None
            if _ledger_of(row) != ledger_user:
                return False, None
            return True, await work(tx, _payment(row), ledger_user)

        return locked

    async def begin_refund(self, charge_id: str, *, spend_confirmed: bool) -> RefundStart:
        """Decide an admin's refund on the buyer's credits as they are now, in one transaction
        with the buyer's orders: "ask" when it takes back credits already spent (and not
        ``spend_confirmed``); else "reserved": the payment's credits are set aside (an order
        placed meanwhile cannot spend them) until :meth:`take_back` after Telegram agreed, or
        :meth:`cancel_refund` when it did not. "refunded" already, "under_way" (another refund of
        it is reserved), "not_stars" (paid in another currency: refundStarPayment cannot give it
        back), or "unknown" payment."""
        now = time.time()

        async def work(tx: Tx, payment: Payment, ledger_user: int) -> RefundStart:
            if payment.refunded_at is not None:
                return RefundStart("refunded")
            if payment.currency != CURRENCY:
                return RefundStart("not_stars", RefundPlan(payment, ledger_user, 0))
            if payment.refund_started_at is not None and payment.refund_started_at > now - REFUND_RESERVATION:
                return RefundStart("under_way")
            bought = await tx.number(BOUGHT_SQL, (ledger_user,))
            bought -= await tx.number(RESERVED_SQL, (now - REFUND_RESERVATION, ledger_user))
            plan = RefundPlan(payment, ledger_user, bought - payment.credits)
            # A payment that added no credits (:meth:`unmatched`) takes none back: nothing to ask.
            if payment.credits and plan.bought_after < 0 and not spend_confirmed:
                return RefundStart("ask", plan)
            await tx.execute("UPDATE payments SET refund_started_at = ? WHERE charge_id = ?", (now, charge_id))
            return RefundStart("reserved", plan)

        return await self._on_ledger(charge_id, work) or RefundStart("unknown")

    async def cancel_refund(self, charge_id: str) -> None:
        """Telegram refused the refund: the payment's credits are the buyer's to spend again."""
        await self.db.write(
            "UPDATE payments SET refund_started_at = NULL WHERE charge_id = ? AND refunded_at IS NULL", (charge_id,)
        )

    async def take_back(self, charge_id: str, note: str) -> RefundPlan | None:
        """Record a refund Telegram made: the payment's credits leave the ledger, once. What it
        did (the bought credits left, counted in the same transaction); None when there is no
        such payment or it was refunded already."""
        now = time.time()

        async def work(tx: Tx, payment: Payment, ledger_user: int) -> RefundPlan | None:
            marked = await tx.execute(
                "UPDATE payments SET refunded_at = ? WHERE charge_id = ? AND refunded_at IS NULL", (now, charge_id)
            )
            if not marked:
                return None
            if payment.credits:  # an unmatched payment (:meth:`unmatched`) added none
                await tx.execute(
                    "INSERT INTO ledger (user_id, kind, amount, paid, payment, note, created_at)"
                    " VALUES (?, 'refund', ?, ?, ?, ?, ?)",
                    (ledger_user, payment.credits, payment.credits, charge_id, note, now),
                )
            bought = await tx.number(BOUGHT_SQL, (ledger_user,))
            if ledger_user != payment.user_id and bought < 0:
                # Refunded after the buyer's /forget, of credits they had spent: the debt is the
                # person's, as /forget keeps one, not the pseudonym's (no one would ever owe it).
                await _bare_user(tx, payment.user_id)
                await keep_debt(tx, payment.user_id, ledger_user, -bought, now, "refunded after /forget")
            return RefundPlan(payment, ledger_user, bought)

        return await self._on_ledger(charge_id, work)

    async def recent(self, user_id: int, limit: int = 5) -> list[Payment]:
        rows = await self.db.fetchall(
            "SELECT * FROM payments WHERE user_id = ? ORDER BY paid_at DESC LIMIT ?", (user_id, limit)
        )
        return [_payment(row) for row in rows]


def _not_as_issued(invoice: Invoice, user_id: int, currency: str, total: int) -> CheckoutProblem | None:
    """Why a checkout or payment by ``user_id`` of ``total`` in ``currency`` is not the invoice as
    it was issued: made for someone else, or at another price; None when it is."""
    if invoice.user_id != user_id:
        return "not_yours"
    if currency != CURRENCY or total != invoice.stars:
        return "wrong_price"
    return None


async def _bare_user(tx: Tx, user_id: int) -> None:
    """The user's row where there is none (their /forget deleted it): the id alone, as /forget
    keeps one for a debt, for a ledger row to name."""
    await tx.execute(
        "INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (?, ?, '', 0)"
        " ON CONFLICT (user_id) DO NOTHING",
        (user_id, user_id),
    )


#: A payment, and whose ledger its credits are in.
_PAYMENT_AND_LEDGER = (
    "SELECT p.*, l.user_id AS ledger_user FROM payments p"
    " LEFT JOIN ledger l ON l.payment = p.charge_id AND l.kind = 'purchase' WHERE p.charge_id = ?"
)


def _ledger_of(row: sqlite3.Row) -> int:
    """The buyer, or their /forget pseudonym (a payment's purchase row moves with /forget)."""
    return int(row["ledger_user"] if row["ledger_user"] is not None else row["user_id"])


def _payment(row: sqlite3.Row) -> Payment:
    return Payment(
        row["charge_id"],
        row["user_id"],
        row["credits"],
        row["stars"],
        row["paid_at"],
        row["refunded_at"],
        row["refund_started_at"],
        row["currency"],
    )
