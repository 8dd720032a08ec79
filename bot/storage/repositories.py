"""The repositories over one store, made together with one set of settings: what the composition
root (bot/main/wiring.py), the tests and the benchmarks build and hand out part by part. It only
bundles them; each repository is used on its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.storage.jobs import Jobs
from bot.storage.leases import Leases
from bot.storage.ledger import Ledger, utc_day
from bot.storage.store import Store
from bot.storage.users import Users


@dataclass(frozen=True)
class Repositories:
    db: Store
    users: Users
    ledger: Ledger
    jobs: Jobs
    leases: Leases

    @classmethod
    def on(
        cls,
        db: Store,
        *,
        daily_free: int,
        today: Callable[[], str] = utc_day,
        fingerprint_key: bytes = b"photobot",
        invite_bonus: int = 0,
    ) -> Repositories:
        """The repositories over ``db``: ``daily_free`` credits a day (on ``today``'s UTC day),
        /forget's fingerprints keyed with ``fingerprint_key``, ``invite_bonus`` credits to each
        side of an invitation."""
        ledger = Ledger(db, daily_free, today=today, fingerprint_key=fingerprint_key)
        jobs = Jobs(db, ledger, invite_bonus=invite_bonus)
        return cls(db, Users(db, ledger), ledger, jobs, Leases(db, jobs))
