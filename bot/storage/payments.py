"""Credit packs bought with Telegram Stars: invoices issued, payments received, refunds.

An invoice's payload is a random token stored with the user and the pack as offered; a
pre-checkout is accepted only for a payload issued to that user at that price. A payment adds its
credits once (the ledger's unique index on the payment's charge id makes a replayed update a
no-op); a refund takes exactly those credits back, once, even when they were already spent (the
bought balance then goes below zero and blocks new orders until the user buys again).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from bot.storage.repo import BALANCE_SQL, BOUGHT_SQL
from bot.storage.store import Store, Tx

#: Bytes of randomness in an invoice payload (Telegram allows 1-128 bytes).
PAYLOAD_BYTES = 24
CURRENCY = "XTR"

CheckoutProblem = Literal["unknown", "not_yours", "wrong_price"]


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


@dataclass(frozen=True)
class Received:
    """What a successful payment did: credits added (0 when the update was a replay)."""

    added: int
    balance: int


@dataclass(frozen=True)
class RefundPlan:
    """A refund about to be made: the payment, and how far below zero it leaves bought credits."""

    payment: Payment
    #: The ledger identity the credits come back from (the buyer, or their /forget pseudonym).
    ledger_user: int
    bought_after: int


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

    async def checkout_problem(self, payload: str, user_id: int, currency: str, total: int) -> CheckoutProblem | None:
        """Why a pre-checkout must be refused, or None when it is an invoice of ours, for this
        user, at its price."""
        invoice = await self.invoice(payload)
        if invoice is None:
            return "unknown"
        if invoice.user_id != user_id:
            return "not_yours"
        if currency != CURRENCY or total != invoice.stars:
            return "wrong_price"
        return None

    async def receive(self, charge_id: str, user_id: int, payload: str) -> Received | None:
        """Add the invoice's credits for this payment, once; None when the payload is not ours."""
        invoice = await self.invoice(payload)
        if invoice is None:
            return None
        now = time.time()

        async def work(tx: Tx) -> Received:
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

    async def payment(self, charge_id: str) -> Payment | None:
        row = await self.db.fetchone("SELECT * FROM payments WHERE charge_id = ?", (charge_id,))
        if row is None:
            return None
        return Payment(
            row["charge_id"], row["user_id"], row["credits"], row["stars"], row["paid_at"], row["refunded_at"]
        )

    async def known(self, charge_ids: list[str]) -> dict[str, Payment]:
        """The payments received among ``charge_ids``, by charge id."""
        if not charge_ids:
            return {}
        marks = ", ".join("?" * len(charge_ids))
        rows = await self.db.fetchall(f"SELECT * FROM payments WHERE charge_id IN ({marks})", tuple(charge_ids))
        return {row["charge_id"]: _payment(row) for row in rows}

    async def plan_refund(self, charge_id: str) -> RefundPlan | None:
        """What refunding this payment would do; None when there is no such payment."""
        payment = await self.payment(charge_id)
        if payment is None:
            return None
        row = await self.db.fetchone("SELECT user_id FROM ledger WHERE kind = 'purchase' AND payment = ?", (charge_id,))
        ledger_user = int(row["user_id"]) if row else payment.user_id
        bought = await self.db.fetchone(BOUGHT_SQL, (ledger_user,))
        return RefundPlan(payment, ledger_user, int(bought[0] if bought else 0) - payment.credits)

    async def take_back(self, plan: RefundPlan, note: str) -> bool:
        """Record the refund :meth:`plan_refund` planned: the payment's credits leave the ledger,
        once. False when it was refunded already."""
        charge_id = plan.payment.charge_id
        now = time.time()

        async def work(tx: Tx) -> bool:
            marked = await tx.execute(
                "UPDATE payments SET refunded_at = ? WHERE charge_id = ? AND refunded_at IS NULL", (now, charge_id)
            )
            if not marked:
                return False
            await tx.execute(
                "INSERT INTO ledger (user_id, kind, amount, paid, payment, note, created_at)"
                " VALUES (?, 'refund', ?, ?, ?, ?, ?)",
                (plan.ledger_user, plan.payment.credits, plan.payment.credits, charge_id, note, now),
            )
            return True

        return await self.db.transaction(work, user=plan.ledger_user)

    async def recent(self, user_id: int, limit: int = 5) -> list[Payment]:
        rows = await self.db.fetchall(
            "SELECT * FROM payments WHERE user_id = ? ORDER BY paid_at DESC LIMIT ?", (user_id, limit)
        )
        return [_payment(row) for row in rows]


def _payment(row: sqlite3.Row) -> Payment:
    return Payment(row["charge_id"], row["user_id"], row["credits"], row["stars"], row["paid_at"], row["refunded_at"])
