"""How the job runner paces its work: the ``jobs`` section of the config and the public URL that
providers call back to and fetch photos from."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings


@dataclass(frozen=True)
class RunnerSettings:
    #: Seconds a claim on a job lasts without being renewed (``jobs.lease_seconds``): renewed every
    #: third of it, and taken over by another worker once it ran out.
    lease: float = 15.0
    #: Unfinished jobs this process drives at once (``jobs.max_held``); more are left to others.
    max_held: int = 1000
    #: Provider calls (submissions, status queries) under way at once (``jobs.max_concurrent``);
    #: a job waiting for one is still queued, and can be cancelled for free.
    max_concurrent: int = 32
    #: The longest wait between status queries of a provider that calls back
    #: (``jobs.max_poll_interval``); a callback wakes the job at once.
    max_poll_interval: float = 15.0
    #: Where providers call back and fetch photos (``server.public_url``); "" for nowhere.
    public_url: str = ""
    #: Seconds a stopping process gives the submissions and deliveries under way to finish (not in
    #: the config).
    stop_grace: float = 10.0

    @classmethod
    def of(cls, settings: Settings) -> RunnerSettings:
        jobs = settings.jobs
        return cls(
            lease=jobs.lease_seconds,
            max_held=jobs.max_held,
            max_concurrent=jobs.max_concurrent,
            max_poll_interval=jobs.max_poll_interval,
            public_url=settings.server.public_url,
        )
