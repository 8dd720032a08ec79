"""The business in figures, for an admin's /stats and for /metrics: users, orders per service,
credits spent, Stars earned and refunded. Read with the database's report connection (whole-table
scans stay off the event loop); provider health comes from bot/ops/health.py.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

from bot.storage.invites import InviteFigures, Invites
from bot.storage.jobs import PURCHASE
from bot.storage.store import Store

#: The windows /stats reports: a day and a week, in seconds.
WINDOWS = {"24h": 86400.0, "7d": 7 * 86400.0}


@dataclass(frozen=True)
class ServiceFigures:
    """One service's orders in a window. An order is what one Confirm placed (several sizes of a
    photo, an album's photos: one order of several photos); a free preview is not an order (its
    purchase is). The outcomes count photos: made, failed, cancelled by the person."""

    orders: int
    photos: int
    succeeded: int
    failed: int
    cancelled: int
    #: Median seconds from Confirm to the delivered result, of the succeeded ones (None: none).
    median_seconds: float | None
    #: Free previews made (the local engine's), and how many of them were bought.
    previews: int = 0
    previews_bought: int = 0

    @property
    def success_rate(self) -> float | None:
        """Of the photos that ended made or failed: made (a cancellation is the person's choice)."""
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None


@dataclass(frozen=True)
class WindowFigures:
    #: Users who ordered (a free preview is not an order) or bought credits in the window.
    active_users: int
    services: dict[str, ServiceFigures]
    free_spent: int
    bought_spent: int
    stars_earned: int
    stars_refunded: int
    #: People who came through an invitation in the window, rewarded ones, bonus credits given.
    invites: InviteFigures


@dataclass(frozen=True)
class BusinessFigures:
    users: int
    windows: dict[str, WindowFigures]


async def business(db: Store, now: float | None = None) -> BusinessFigures:
    now = time.time() if now is None else now
    users = await db.report("SELECT COUNT(*) AS n FROM users WHERE user_id > 0")
    windows = {name: await _window(db, now - seconds) for name, seconds in WINDOWS.items()}
    return BusinessFigures(int(users[0]["n"]), windows)


async def _window(db: Store, since: float) -> WindowFigures:
    jobs = [
        {**row, "preview": bool(json.loads(row["options"]).get("preview"))}
        for row in await db.report(
            "SELECT id, user_id, service, state, delivery, created_at, updated_at, order_key, options,"
            " COALESCE(order_group, id) AS placed FROM jobs WHERE created_at >= ?",
            (since,),
        )
    ]
    payers = await db.report("SELECT DISTINCT user_id FROM payments WHERE paid_at >= ?", (since,))
    ordered = {row["user_id"] for row in jobs if not row["preview"] and row["user_id"] > 0}
    active = len(ordered | {row["user_id"] for row in payers if row["user_id"] > 0})
    bought = {
        row["order_key"][len(PURCHASE) :]
        for row in jobs
        if (row["order_key"] or "").startswith(PURCHASE) and row["state"] not in ("failed", "cancelled")
    }
    services: dict[str, ServiceFigures] = {}
    for service in sorted({row["service"] for row in jobs}):
        rows = [row for row in jobs if row["service"] == service and not row["preview"]]
        previews = [row for row in jobs if row["service"] == service and row["preview"]]
        delivered = [
            r["updated_at"] - r["created_at"] for r in rows if r["state"] == "succeeded" and r["delivery"] == "done"
        ]
        services[service] = ServiceFigures(
            orders=len({r["placed"] for r in rows}),
            photos=len(rows),
            succeeded=sum(r["state"] == "succeeded" for r in rows),
            failed=sum(r["state"] == "failed" for r in rows),
            cancelled=sum(r["state"] == "cancelled" for r in rows),
            median_seconds=statistics.median(delivered) if delivered else None,
            previews=len(previews),
            previews_bought=sum(r["id"] in bought for r in previews),
        )
    spent = await db.report(
        "SELECT COALESCE(SUM(amount - paid), 0) AS free, COALESCE(SUM(paid), 0) AS bought"
        " FROM ledger WHERE kind = 'capture' AND created_at >= ?",
        (since,),
    )
    earned = await db.report(
        "SELECT COALESCE(SUM(stars), 0) AS n FROM payments WHERE currency = 'XTR' AND paid_at >= ?", (since,)
    )
    refunded = await db.report(
        "SELECT COALESCE(SUM(stars), 0) AS n FROM payments WHERE currency = 'XTR' AND refunded_at >= ?", (since,)
    )
    return WindowFigures(
        active_users=active,
        services=services,
        free_spent=int(spent[0]["free"]),
        bought_spent=int(spent[0]["bought"]),
        stars_earned=int(earned[0]["n"]),
        stars_refunded=int(refunded[0]["n"]),
        invites=await Invites(db).figures(since),
    )
