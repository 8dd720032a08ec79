"""The bot's own HTTP server, in the bot's event loop: provider callbacks, /media/ links, /healthz,
and /metrics when ``server.metrics_token`` is set.

A provider callback is checked here (the job exists, belongs to that provider and the
per-job secret in the path matches, compared in constant time) and then only wakes the
job: ``wake`` announces it to the workers (bot/jobs/runner.py), and the one that drives the job asks
the provider again before acting.

Its port is the internet's, so it bounds what a client may hold (:class:`ClientLimits`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram import Bot, Update
from telegram.error import BadRequest, TelegramError

from bot.ops.media import MediaSigner, MediaStore, content_type
from bot.storage.jobs import Jobs
from bot.storage.store import DATABASE_ERRORS
from bot.telegram.inbox import Unreadable, read_update
from providers.base import TaskProvider
from providers.comparing import same_secret

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 1024 * 1024
#: Seconds between two warnings that connections are being refused.
REFUSALS_LOGGED_EVERY = 60.0


@dataclass(frozen=True)
class ClientLimits:
    """What one client may hold. aiohttp's own defaults (a connection that sends nothing kept an
    hour, a body waited for as long as it trickles, no limit on connections) let a few hundred
    idle sockets take every file the process may open (often 1024): Telegram, the providers and
    the database then fail with "Too many open files"."""

    #: Seconds to send a request's headers, from the connection or the previous answer; also how
    #: long an idle connection stays (aiohttp's keep-alive timeout counts from the same moments).
    header_seconds: float = 30.0
    #: Seconds to send a request's body once its headers came; 408 after.
    body_seconds: float = 30.0
    #: Connections at once; one more is closed as it comes. Connections accepted in one go are
    #: all let in, so a burst may pass this by up to the listening backlog (100).
    connections: int = 256


class _Refused(asyncio.Protocol):
    """A connection past :attr:`ClientLimits.connections`: closed at once, its file freed."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class WebServer:
    def __init__(
        self,
        *,
        jobs: Jobs,
        media: MediaStore,
        signer: MediaSigner,
        keep_update: Callable[[dict[str, Any]], Awaitable[None]],
        drop_update: Callable[[Unreadable], Awaitable[None]],
        wake: Callable[[str], Awaitable[None]],
        host: str,
        port: int,
        providers: Mapping[str, TaskProvider],
        webhook: tuple[Bot, str, str] | None = None,
        disk_low: Callable[[], bool] = lambda: False,
        metrics: Callable[[], Awaitable[bytes]] | None = None,
        metrics_token: str = "",
        checkout: Callable[[Update], Awaitable[None]] | None = None,
        limits: ClientLimits = ClientLimits(),
    ) -> None:
        self.limits = limits
        self.disk_low = disk_low
        self.metrics = metrics
        self.metrics_token = metrics_token
        self.providers = providers
        self.jobs = jobs
        self.media = media
        self.signer = signer
        #: Keeps a webhook update for the process that handles updates (bot/telegram/inbox.py).
        self.keep_update = keep_update
        #: Remembers as handled, and logs, a webhook update python-telegram-bot cannot read.
        self.drop_update = drop_update
        #: Answers a webhook's pre-checkout query here and now (Telegram waits 10 s for it).
        self.checkout = checkout
        #: Wakes a job's driver, in whichever process it runs (JobRunner.announce_wake).
        self.wake = wake
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_CALLBACK_BYTES)
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/media/{token}", self.media_file)
        self.app.router.add_post("/callbacks/{provider}/{job_id}/{secret}", self.callback)
        self.app.router.add_post("/callbacks/{provider}", self.account_callback)
        self.app.router.add_get("/callbacks/{provider}", self.account_callback)
        if metrics is not None and metrics_token:
            self.app.router.add_get("/metrics", self.metrics_page)
        self.webhook = webhook
        if webhook is not None:
            self.app.router.add_post("/telegram/{secret}", self.telegram_update)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._refusal_logged = -REFUSALS_LOGGED_EVERY
        self.bound_port: int | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            keepalive_timeout=self.limits.header_seconds,
        )
        await self._runner.setup()
        # Its own listener rather than aiohttp's TCPSite: each connection passes _connection first.
        self._listener = await asyncio.get_running_loop().create_server(self._connection, self.host, self.port)
        self.bound_port = self._listener.sockets[0].getsockname()[1]
        log.info("web server listening on %s:%s", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._listener is not None:
            await self._listener.wait_closed()

    def _connection(self) -> asyncio.BaseProtocol:
        """aiohttp's handler for a new connection, or a refusal when there are enough already (or
        the server is stopping)."""
        server = self._runner.server if self._runner is not None else None
        if server is None:
            return _Refused()
        if len(server.connections) < self.limits.connections:
            return server()
        now = time.monotonic()
        if now - self._refusal_logged >= REFUSALS_LOGGED_EVERY:
            self._refusal_logged = now
            log.warning("web server: %d connections open, refusing more", self.limits.connections)
        return _Refused()

    async def _read(self, request: web.Request) -> bytes:
        """The request's body, if it comes within ``body_seconds``."""
        try:
            async with asyncio.timeout(self.limits.body_seconds):
                return await request.read()
        except TimeoutError:
            raise web.HTTPRequestTimeout() from None

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            await self.jobs.db.fetchone("SELECT 1")
        except Exception:  # noqa: BLE001 (whatever the database raises, the answer is "unhealthy")
            return web.json_response({"status": "error"}, status=503)
        if self.disk_low():  # the other: no room for new photos
            return web.json_response({"status": "low_disk"}, status=503)
        return web.json_response({"status": "ok"})

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Prometheus' scrape, for the bearer of ``server.metrics_token`` only."""
        offered = request.headers.get("Authorization", "")
        if not same_secret(offered, f"Bearer {self.metrics_token}"):
            raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        assert self.metrics is not None
        body = await self.metrics()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def media_file(self, request: web.Request) -> web.StreamResponse:
        ref = self.signer.verify(request.match_info["token"])
        if ref is None or not self.media.exists(ref):
            raise web.HTTPNotFound()
        path = self.media.path(ref)
        try:
            kind = content_type(path)
        except FileNotFoundError:  # swept since (bot/ops/retention.py): before, a 500 and a traceback
            raise web.HTTPNotFound() from None
        return web.FileResponse(
            path,
            headers={
                "Content-Type": kind,
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    async def telegram_update(self, request: web.Request) -> web.Response:
        """Webhook mode: an update from Telegram, checked by path and secret-token header."""
        assert self.webhook is not None
        bot, path_secret, header_secret = self.webhook
        path_ok = same_secret(request.match_info["secret"], path_secret)
        header_ok = same_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), header_secret)
        if not (path_ok and header_ok):
            raise web.HTTPNotFound()
        await self._read(request)  # kept by the request: json() below parses it
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # deep nesting: RecursionError
            body = None
        try:
            return await self._take_update(bot, body)
        except DATABASE_ERRORS as err:
            # Before, a 500 and "Error handling request" with a traceback, as for a crash.
            log.warning("could not keep a webhook update (Telegram will send it again): %s", err)
            raise web.HTTPServiceUnavailable() from None

    async def _take_update(self, bot: Bot, body: object) -> web.Response:
        """Keep an update for the process that handles them (answered once kept: a crash then
        loses nothing Telegram let go of), or answer its pre-checkout query here."""
        try:
            update = read_update(body, bot)  # only an update python-telegram-bot reads is kept
        except Unreadable as err:
            # Answered all the same: refused, Telegram sends it again and again, and holds every
            # update behind it (the bot stalled on one update it could not read).
            await self.drop_update(err)
            return web.Response()
        if update.pre_checkout_query is not None and self.checkout is not None:
            return await self._checkout(update)
        assert isinstance(body, dict)  # read_update reads nothing else
        await self.keep_update(body)
        return web.Response()

    async def _checkout(self, update: Update) -> web.Response:
        """A pre-checkout query, answered in this process (not by the one that handles updates,
        which may be behind). When Telegram could not be told, it is asked to send it again."""
        assert self.checkout is not None
        try:
            await self.checkout(update)
        except BadRequest as err:  # too late, or answered already: sending it again changes nothing
            log.warning("could not answer pre-checkout query %s: %s", update.update_id, err)
        except TelegramError as err:
            log.warning(
                "could not answer pre-checkout query %s (Telegram will send it again): %s", update.update_id, err
            )
            raise web.HTTPServiceUnavailable() from None
        return web.Response()

    async def callback(self, request: web.Request) -> web.Response:
        provider_name = request.match_info["provider"]
        job_id = request.match_info["job_id"]
        provider = self.providers.get(provider_name)
        job = await self.jobs.get(job_id) if len(job_id) <= 64 and provider is not None else None
        expected = job.callback_secret if job is not None and job.provider == provider_name else "x" * 32
        secret_ok = same_secret(request.match_info["secret"], expected)
        # The body is read only for the job's own secret: a stranger's is never waited for nor kept.
        if (
            job is None
            or provider is None
            or not secret_ok
            or not provider.check_callback(request.headers, await self._read(request))
        ):
            # The provider name is whatever a stranger put in the path: %r keeps it on one line.
            log.warning("rejected a callback for %r: unknown job, wrong secret or failed check", provider_name)
            raise web.HTTPNotFound()
        return await self._wake(provider_name, job_id, provider)

    async def account_callback(self, request: web.Request) -> web.Response:
        """A provider's account-wide callback URL: checked by the provider, matched by the id in the body."""
        provider_name = request.match_info["provider"]
        provider = self.providers.get(provider_name)
        if provider is None:
            raise web.HTTPNotFound()
        if request.method == "GET" and provider.probes_callback_url:
            return self._answer(provider)  # the provider checking the URL before it uses it
        body = await self._read(request)
        job_id = provider.callback_job_id(body)
        if provider.probes_callback_url and not job_id:
            # Its URL check: a POST naming no task, which need not carry the token (the document
            # names it for callbacks only). It wakes nothing, so anyone may have the answer.
            return self._answer(provider)
        if not provider.check_callback(request.headers, body):
            raise web.HTTPNotFound()
        job = await self.jobs.get(job_id) if job_id and len(job_id) <= 64 else None
        if job is None or job.provider != provider_name:
            log.warning("a %s callback for an unknown job", provider_name)  # a configured name, not the stranger's
            raise web.HTTPNotFound()
        return await self._wake(provider_name, job.id, provider)

    @staticmethod
    def _answer(provider: TaskProvider) -> web.Response:
        answer = provider.callback_answer()
        return web.Response(status=answer.status, body=answer.body, content_type=answer.content_type)

    async def _wake(self, provider_name: str, job_id: str, provider: TaskProvider) -> web.Response:
        """Queue the verified wake-up for the job and answer the way the provider expects."""
        await self.wake(job_id)
        return self._answer(provider)
