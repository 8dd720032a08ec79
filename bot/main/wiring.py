"""The composition root: settings, database, provider clients, job runner and web server, opened
once at start and closed at stop; handlers reach them as ``context.wiring``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

from pydantic import ValidationError

from bot.config import Settings
from bot.jobs.driver import DriverDeps
from bot.jobs.runner import JobRunner
from bot.jobs.settings import RunnerSettings
from bot.ops import stats
from bot.ops.accounts import AccountWatch, UsesRule
from bot.ops.health import Problem, ProviderHealth
from bot.ops.limits import DecodeBudget, RequestLimiter
from bot.ops.media import MediaSigner, MediaStore, derive_secret
from bot.ops.metrics import Metrics
from bot.ops.photos import PhotoKeeper
from bot.ops.presence import Presences, engine_figures
from bot.ops.provider_state import ProviderStates
from bot.ops.retention import MediaSweeper
from bot.ops.templates import TemplateGallery
from bot.services import registry
from bot.storage.jobs import Job, Jobs
from bot.storage.payments import Payments
from bot.storage.repositories import Repositories
from bot.storage.store import Store
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.context import PhotoBotApp, ServiceDeps, Wiring
from bot.telegram.conversations.payments import checkout_arrived
from bot.telegram.delivery import Delivery
from bot.telegram.direct import DirectCalls
from bot.telegram.inbox import UpdateInbox
from bot.telegram.reconcile import StarReconciler
from bot.telegram.ui.results import Bundle, ResultView
from bot.telegram.web import WebServer
from providers.base import TaskProvider
from providers.download import Downloader
from providers.errors import ProviderError
from providers.hili import HiliClient
from providers.local import LocalIdPhoto
from providers.localengine.worker import EngineWorker, shared_worker
from providers.magictiger import MagicTigerApi, MagicTigerClient
from providers.models import InputLimits
from providers.picwish import PicwishClient
from providers.qq_anime import QQAnimeClient
from providers.session import tls_context
from providers.specs import load_catalog
from providers.wanxing import GatewayCredentials, WanxingClient

log = logging.getLogger(__name__)
#: Told of each provider call and its error, if any (bot/jobs/driver.DriverDeps's ``observe``).
Observer = Callable[[str, "ProviderError | None"], Awaitable[None]]

#: Memory for decoding uploads at once, process-wide (see bot.ops.limits.DecodeBudget): a 48 MP
#: phone photo decodes alone, twenty ordinary ones side by side.
DECODE_BUDGET_BYTES = 256 * 1024 * 1024


class Network(TypedDict):
    """What every HTTP provider client takes from ``network``: resending requests, and the CA
    certificates it trusts besides the system's."""

    max_retries: int
    backoff: float
    ca_file: str


def make_providers(settings: Settings) -> dict[str, TaskProvider[Any]]:
    providers: dict[str, TaskProvider[Any]] = {}
    network = settings.network
    retries = Network(max_retries=network.request_retries, backoff=network.retry_backoff, ca_file=network.ca_file)
    picwish = settings.providers.picwish
    if picwish.usable:
        providers["picwish"] = PicwishClient(
            picwish.api_key,
            base_url=picwish.base_url,
            timeout=picwish.request_timeout,
            poll_interval=picwish.poll_interval,
            deadline=picwish.deadline,
            **retries,
        )
    qq = settings.providers.qq_anime
    if qq.usable:
        providers["qq_anime"] = QQAnimeClient(
            url=qq.url,
            busi_id=qq.busi_id,
            timeout=qq.request_timeout,
            volume_limit_backoff=qq.retry_backoff,
            proxy=qq.proxy or None,
            **retries,
        )
    hili = settings.providers.hili
    if hili.usable:
        providers["hili"] = HiliClient(
            hili.third_code,
            hili.secret_key,
            base_url=hili.base_url,
            timeout=hili.request_timeout,
            poll_interval=hili.poll_interval,
            deadline=hili.deadline,
            **retries,
        )
    tiger = settings.providers.magictiger
    if tiger.usable:
        api = MagicTigerApi(
            base_url=tiger.base_url,
            api_token=tiger.api_token,
            auth_header=tiger.auth_header,
            operations=tiger.operations.model_dump(),
            done_status=tiger.task_status.done,
            failed_status=tiger.task_status.failed,
            callback_param=tiger.callback_param,
        )
        providers["magictiger"] = MagicTigerClient(
            api,
            timeout=tiger.request_timeout,
            poll_interval=tiger.poll_interval,
            deadline=tiger.deadline,
            cancellable=tiger.cancellable,
            **retries,
        )
    wanxing = settings.providers.wanxing
    if wanxing.usable:
        credentials = GatewayCredentials(wanxing.app_key, wanxing.app_secret, wanxing.app_code)
        providers["wanxing"] = WanxingClient(
            credentials,
            base_url=wanxing.base_url,
            timeout=wanxing.request_timeout,
            task_timeout=wanxing.timeout,
            poll_interval=wanxing.poll_interval,
            deadline=wanxing.job_deadline,
            **retries,
        )
    local = settings.providers.local
    if local.usable:
        providers["local"] = LocalIdPhoto(
            concurrency=local.concurrency, limits=local.limits(), previews_per_hour=local.previews_per_hour
        )
    return providers


def local_engine(settings: Settings) -> EngineWorker | None:
    """The local engine's worker processes (face checks, measurements, local ID photos), or None when
    its models are not installed. Its processes start now and load the models (EngineWorker.warm)."""
    from providers.localengine import available

    if not available():
        return None
    engine = shared_worker(settings.providers.local.concurrency)
    # The cut-out models (U²-Net, 180 MB) only where the local engine makes ID photos.
    engine.warm(cutout=settings.provider_usable("local"))
    return engine


def _observers(*observers: Observer) -> Observer:
    """One observer of provider calls that tells each of ``observers`` in turn."""

    async def observe(provider: str, error: ProviderError | None) -> None:
        for observer in observers:
            await observer(provider, error)

    return observe


async def _metrics_page(wiring: Wiring) -> bytes:
    figures = await stats.business(wiring.db)
    deployment = await Presences(wiring.db).read() if wiring.db.shared else None
    engine = engine_figures(wiring.engine)
    return wiring.metrics.exposition(figures, wiring.health, wiring.accounts.uses, engine, deployment)


async def _provider_changed(get_wiring: Callable[[], Wiring], provider: str, problem: Problem | None) -> None:
    """Tell the admins once when a provider goes down (and who serves its services meanwhile, or
    that its orders fail), and once when it is back."""
    wiring = get_wiring()
    if problem is None:
        await wiring.alerts.tell("admin.alert_provider_back", provider=provider)
        return
    moved = {
        name: serving
        for name, service in wiring.services.items()
        if provider in service.providers and (serving := wiring.enabled_services.get(name)) not in (None, provider)
    }
    services = ", ".join(f"{name} → {serving}" for name, serving in moved.items())
    then = "admin.then_elsewhere" if moved else f"admin.then_fail_{problem}"
    await wiring.alerts.tell(_DOWN_ALERTS[problem], provider=provider, then=(then, {"services": services}))


#: What the admins are told when a provider goes down, by why.
_DOWN_ALERTS = {
    "credentials": "admin.alert_provider_auth",
    "quota": "admin.alert_provider_quota",
    "failing": "admin.alert_down_failing",
}


def _result_measure(get_wiring: Callable[[], Wiring]) -> Callable[[Job, Path], Awaitable[dict[str, Any] | None]]:
    """The runner's hook for results that came without their measurements: the job's service's
    ``measure`` (where the head is in an ID photo PicWish made)."""

    async def measure(job: Job, photo: Path) -> dict[str, Any] | None:
        service = registry.BY_NAME.get(job.service)
        if service is None or service.measure is None:
            return None
        return await service.measure(job, photo, get_wiring())

    return measure


def template_limits() -> InputLimits:
    """玩星's rule for portrait templates (the gallery is loaded whether or not 玩星 is enabled)."""
    limits = WanxingClient.reference_limits
    assert limits is not None
    return limits


def result_presenter(settings: Settings) -> Callable[[Job, int, bytes, str], ResultView]:
    """A finished file as its service shows it."""

    def present(job: Job, index: int, data: bytes, lang: str) -> ResultView:
        return registry.BY_NAME[job.service].present(job, index, data, lang, settings)

    return present


def job_label(job: Job, lang: str, deps: ServiceDeps) -> str | None:
    """What tells a job from the others of its order, as its service names a part of one (an ID
    photo's size and colour) or else labels its orders; None where it does neither, or the
    stored order no longer reads."""
    service = registry.BY_NAME.get(job.service)
    try:
        order = service.order(job.options) if service is not None else None
    except ValidationError:
        return None
    if service is None or order is None:
        return None
    if service.part is not None:
        return service.part(order, lang, deps)
    return service.label(order, lang) if service.label is not None else None


async def order_bundle(jobs: Jobs, group: str, lang: str) -> Bundle | None:
    """The zip of the exact files of the order whose first job is ``group``, as its service names
    them; None where it makes none."""
    order = await jobs.of_order(group)
    service = registry.BY_NAME.get(order[0].service) if order else None
    return service.bundle(order, lang) if service is not None and service.bundle is not None else None


async def open_wiring(app: PhotoBotApp, settings: Settings, db: Store, *, serve_web: bool = True) -> Wiring:
    """Open the clients and (with ``serve_web``: not in a worker process) the web server on the
    opened database ``db`` and attach them to ``app.bot_data`` (the caller closes ``db``, after
    the Application has written its sessions)."""
    repos = Repositories.on(
        db,
        daily_free=settings.credits.daily_free,
        fingerprint_key=derive_secret(settings.server.media_secret, settings.telegram.token),
        invite_bonus=settings.credits.invite_bonus,
    )
    media = MediaStore(settings.media_dir)
    signer = MediaSigner(
        derive_secret(settings.server.media_secret, settings.telegram.token), settings.server.media_link_ttl
    )
    providers = make_providers(settings)
    engine = local_engine(settings)
    downloader = Downloader(
        max_bytes=settings.network.max_download_bytes,
        allow_private_addresses=settings.network.allow_private_addresses,
        timeout=settings.network.download_timeout,
        ca_file=settings.network.ca_file,
    )
    alerts = OperatorAlerts(app.bot, repos.users, settings.telegram.admin_ids, ProviderStates(db))
    metrics = Metrics()
    if engine is not None:
        engine.waited = lambda urgency, seconds: metrics.engine_waited(urgency.name.lower(), seconds)
    #: Providers' state through the database, when other processes share it.
    shared = ProviderStates(db) if db.shared else None
    health = ProviderHealth(
        failing_for=settings.failover.failing_for,
        retry_after=settings.failover.retry_after,
        on_change=lambda provider, problem: _provider_changed(lambda: wiring, provider, problem),
        shared=shared,
    )
    delivery = Delivery(
        app.bot,
        repos.users,
        media,
        alerts,
        result_presenter(settings),
        edit_interval=settings.telegram.status_edit_interval,
        cancellable_providers=frozenset(name for name, p in providers.items() if p.cancellable),
        delivered=lambda job, seconds: metrics.delivered(job.service, job.provider, seconds),
        label=lambda job, lang: job_label(job, lang, wiring),
        bundle=lambda group, lang: order_bundle(repos.jobs, group, lang),
    )
    runner = JobRunner(
        repos.jobs,
        repos.leases,
        DriverDeps(
            providers=providers,
            orders=registry.order_models(),
            media=media,
            downloader=downloader,
            events=delivery,
            media_link=lambda ref, until: f"{settings.server.public_url}/media/{signer.token(ref, until=until)}",
            measure=_result_measure(lambda: wiring),  # called once jobs run, after ``wiring`` is set below
            observe=_observers(health.record, metrics.call),
        ),
        RunnerSettings.of(settings),
    )
    database = settings.database
    photos = PhotoKeeper(
        repos.jobs,
        media,
        max_user_bytes=int(database.max_user_mb * 1024 * 1024),
        min_free_bytes=int(database.min_free_disk_mb * 1024 * 1024),
        retention_days=database.media_retention_days,
        database_path=None if database.url else Path(database.path),
    )
    inbox = UpdateInbox(db)
    direct = DirectCalls(app.bot.base_url, tls_context(settings.network.ca_file))
    webhook = (
        (app.bot, settings.webhook_path_secret(), settings.webhook_header_secret())
        if settings.telegram.mode == "webhook"
        else None
    )
    web = WebServer(
        jobs=repos.jobs,
        media=media,
        signer=signer,
        keep_update=inbox.put,
        drop_update=inbox.drop,
        wake=runner.announce_wake,
        host=settings.server.host,
        port=settings.server.port,
        providers=providers,
        webhook=webhook,
        disk_low=photos.disk_low,
        metrics=lambda: _metrics_page(wiring),
        metrics_token=settings.server.metrics_token,
        checkout=lambda update: checkout_arrived(update, wiring),
    )
    if serve_web:
        await web.start()
    templates = TemplateGallery(settings.providers.wanxing.templates, media, template_limits())
    limiter = RequestLimiter(settings.limits.requests_per_minute)
    sweeper = MediaSweeper(repos.jobs, media, settings.database.media_retention_days)
    hili = settings.providers.hili
    accounts = AccountWatch(
        providers, {"hili": UsesRule(hili.uses_check_interval, hili.uses_alert_below)}, alerts.low_uses, shared
    )
    payments = Payments(db)
    await direct.start()
    wiring = Wiring(
        settings=settings,
        db=db,
        users=repos.users,
        ledger=repos.ledger,
        jobs=repos.jobs,
        payments=payments,
        alerts=alerts,
        health=health,
        metrics=metrics,
        media=media,
        signer=signer,
        catalog=load_catalog(),
        templates=templates,
        providers=providers,
        downloader=downloader,
        runner=runner,
        web=web,
        limiter=limiter,
        sweeper=sweeper,
        accounts=accounts,
        photos=photos,
        decodes=DecodeBudget(DECODE_BUDGET_BYTES),
        engine=engine,
        inbox=inbox,
        direct=direct,
        reconciler=StarReconciler(
            app.bot,
            payments,
            repos.users,
            repos.ledger,
            alerts,
            interval=settings.payments.reconcile_interval,
            grace=settings.payments.reconcile_grace,
            invoice_lifetime=settings.payments.invoice_lifetime,
        ),
        support_limiter=RequestLimiter(settings.payments.support_questions_per_hour, window=3600.0),
        services=registry.BY_NAME,
    )
    app.bot_data.wiring = wiring
    return wiring
