"""/metrics in the Prometheus text format (prometheus-client): the figures of /stats as gauges,
set from the database at each scrape, provider calls and errors as counters, and how long orders
take from Confirm to the delivered result as a histogram. Off unless ``server.metrics_token`` is
set; a scrape then needs ``Authorization: Bearer <token>``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.ops.health import ProviderHealth
from bot.ops.presence import Deployment, EngineFigures, Presence
from bot.ops.stats import BusinessFigures
from providers.errors import ProviderError

#: Seconds from Confirm to the delivered result: a local ID photo takes a few, a queue minutes.
DURATION_BUCKETS = (2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
#: Seconds a call waits for a local engine process: none when one is free, about a second behind an
#: ID photo being made, longer only when the engine is saturated.
ENGINE_WAIT_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.provider_calls = Counter(
            "photobot_provider_calls", "Provider calls (submits and status queries)", ["provider"], registry=r
        )
        self.provider_errors = Counter(
            "photobot_provider_errors", "Provider calls that failed, by error code", ["provider", "code"], registry=r
        )
        self.job_duration = Histogram(
            "photobot_job_duration_seconds",
            "Seconds from Confirm to the delivered result",
            ["service", "provider"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.users = Gauge("photobot_users", "Users who ever wrote to the bot", registry=r)
        self.active_users = Gauge("photobot_active_users", "Users who ordered or bought", ["window"], registry=r)
        self.orders = Gauge(
            "photobot_orders",
            "Orders placed (one per Confirm), and their photos: all, made, failed, cancelled",
            ["window", "service", "outcome"],
            registry=r,
        )
        self.previews = Gauge(
            "photobot_previews", "Free previews made, and those bought", ["window", "service", "outcome"], registry=r
        )
        self.credits_spent = Gauge(
            "photobot_credits_spent", "Credits paid for delivered results", ["window", "kind"], registry=r
        )
        self.stars = Gauge(
            "photobot_stars", "Telegram Stars received and refunded", ["window", "direction"], registry=r
        )
        self.provider_down = Gauge(
            "photobot_provider_down", "1 while a provider is passed over", ["provider"], registry=r
        )
        self.uses_left = Gauge(
            "photobot_provider_uses_left", "Paid uses left, where the API tells", ["provider"], registry=r
        )
        self.engine_wait = Histogram(
            "photobot_engine_wait_seconds",
            "Seconds a local engine call waited for a worker process, by what it was",
            ["kind"],
            buckets=ENGINE_WAIT_BUCKETS,
            registry=r,
        )
        self.engine_pending = Gauge(
            "photobot_engine_pending", "Local engine calls being made or waiting for a worker process", registry=r
        )
        self.engine_ended = Gauge(
            "photobot_engine_processes_ended",
            "Local engine processes ended under a call since start: killed at the time limit, or crashed",
            ["reason"],
            registry=r,
        )

        def per_process(name: str, text: str, *labels: str) -> Gauge:
            return Gauge(name, text, ["process", "role", *labels], registry=r)

        self.process_up = per_process("photobot_process_up", "1 while a process of the deployment reports itself")
        self.process_seen = per_process("photobot_process_seen_ago_seconds", "Seconds since a process last reported")
        self.process_start = per_process("photobot_process_start_time_seconds", "When a process started (epoch s)")
        self.process_jobs = per_process("photobot_process_jobs_held", "Unfinished jobs a process holds a lease on")
        self.process_engine_pending = per_process(
            "photobot_process_engine_pending", "A process's local engine calls under way or waiting"
        )
        self.process_engine_calls = per_process(
            "photobot_process_engine_calls", "A process's local engine calls since it started"
        )
        self.process_engine_ended = per_process(
            "photobot_process_engine_ended",
            "A process's engine processes ended under a call since it started",
            "reason",
        )
        self.jobs_unreported = Gauge(
            "photobot_jobs_held_unreported",
            "Unfinished jobs under a live lease of a process that does not report itself (an older version?)",
            registry=r,
        )

    async def call(self, provider: str, error: ProviderError | None) -> None:
        self.provider_calls.labels(provider).inc()
        if error is not None:
            self.provider_errors.labels(provider, error.code).inc()

    def delivered(self, service: str, provider: str, seconds: float) -> None:
        self.job_duration.labels(service, provider).observe(seconds)

    def engine_waited(self, kind: str, seconds: float) -> None:
        """A local engine call (``kind``: result, check, photo or preview) waited ``seconds`` for a process."""
        self.engine_wait.labels(kind).observe(seconds)

    def exposition(
        self,
        figures: BusinessFigures,
        health: ProviderHealth,
        uses: Mapping[str, int],
        engine: EngineFigures | None,
        deployment: Deployment | None = None,
    ) -> bytes:
        """The text format, with the gauges set from ``figures``, the providers' state, this
        process's local engine (None: no engine here) and the ``deployment``'s processes and the
        jobs held by none of them (where several share the database: bot/ops/presence.py)."""
        self._processes(deployment.processes if deployment is not None else ())
        self.jobs_unreported.set(deployment.jobs_unreported if deployment is not None else 0)
        self.users.set(figures.users)
        # A service with nothing in a window any more reads nothing there, not its last figures.
        self.orders.clear()
        self.previews.clear()
        for window, shown in figures.windows.items():
            self.active_users.labels(window).set(shown.active_users)
            for service, counted in shown.services.items():
                self.orders.labels(window, service, "placed").set(counted.orders)
                self.orders.labels(window, service, "photos").set(counted.photos)
                self.orders.labels(window, service, "succeeded").set(counted.succeeded)
                self.orders.labels(window, service, "failed").set(counted.failed)
                self.orders.labels(window, service, "cancelled").set(counted.cancelled)
                if counted.previews:
                    self.previews.labels(window, service, "made").set(counted.previews)
                    self.previews.labels(window, service, "bought").set(counted.previews_bought)
            self.credits_spent.labels(window, "free").set(shown.free_spent)
            self.credits_spent.labels(window, "bought").set(shown.bought_spent)
            self.stars.labels(window, "earned").set(shown.stars_earned)
            self.stars.labels(window, "refunded").set(shown.stars_refunded)
        down = health.down()
        for provider in health.records:
            self.provider_down.labels(provider).set(1 if provider in down else 0)
        for provider, left in uses.items():
            self.uses_left.labels(provider).set(left)
        if engine is not None:
            self.engine_pending.set(engine.pending)
            for reason, count in engine.endings.items():
                self.engine_ended.labels(reason).set(count)
        return generate_latest(self.registry)

    def _processes(self, processes: Sequence[Presence]) -> None:
        gauges = (self.process_up, self.process_seen, self.process_start, self.process_jobs)
        for gauge in (*gauges, self.process_engine_pending, self.process_engine_calls, self.process_engine_ended):
            gauge.clear()  # a process forgotten since the last scrape is not shown
        for seen in processes:
            labels = (seen.name, seen.role)
            self.process_up.labels(*labels).set(1 if seen.up else 0)
            self.process_seen.labels(*labels).set(round(seen.seen_ago, 3))
            self.process_start.labels(*labels).set(seen.started_at)
            self.process_jobs.labels(*labels).set(seen.jobs_held)
            if seen.engine is not None:
                self.process_engine_pending.labels(*labels).set(seen.engine.pending)
                self.process_engine_calls.labels(*labels).set(seen.engine.started)
                for reason, count in seen.engine.endings.items():
                    self.process_engine_ended.labels(*labels, reason).set(count)
