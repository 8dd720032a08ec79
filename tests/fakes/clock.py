"""A clock a test moves by hand, for fakes whose rules are about time (a token valid two minutes,
result links valid an hour, ten seconds to answer a pre-checkout query): the test makes the time
pass instead of sleeping through it."""

from __future__ import annotations

import time


class ManualClock:
    """Seconds since the epoch, standing still until :meth:`advance` moves them on."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
