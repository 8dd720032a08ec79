"""Typed settings: YAML file + ``${VAR}`` / ``${VAR:-default}`` from the environment.

Validation is pydantic's; :func:`load_settings` turns its report into one
:class:`ConfigError` whose message names every bad key by its dotted path.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from providers import yamltext

if TYPE_CHECKING:
    from providers.localengine.worker import EngineLimits

ENV_CONFIG_PATH = "PHOTOBOT_CONFIG"
ENV_TOKEN = "TELEGRAM_BOT_TOKEN"
#: Telegram's own Bot API servers (telegram.base_url's default), and the ports at which they
#: deliver webhook updates (https only): https://core.telegram.org/bots/api#setwebhook.
TELEGRAM_API_HOST = "api.telegram.org"
WEBHOOK_PORTS = (443, 80, 88, 8443)
#: A configured signing secret shorter than this could be guessed offline from one signed link.
MIN_SECRET_LENGTH = 32
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key, one problem per line."""


class ConfigUnreadable(ConfigError):
    """There is no configuration to check: no path given, or the file cannot be read."""


def _long_secret(value: str) -> str:
    if value and len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters (or empty: derived from the bot token)")
    return value


def _http_url(value: str) -> str:
    """An http:// or https:// URL with a host, checked at load: a URL without its scheme
    (``api.telegram.org/bot``) was taken, and failed only at start, in the HTTP client, whose error
    quoted the whole request URL (the bot token in it). The value is not repeated in the message:
    a proxy's URL may hold a password."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("must be an http:// or https:// URL with a host name, such as https://example.com/path")
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number in range)
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    return value


def _http_url_or_empty(value: str) -> str:
    return _http_url(value) if value else value


#: A URL setting the bot connects to (or gives out): checked at load.
HttpUrl = Annotated[str, AfterValidator(_http_url)]
#: The same, for a setting that may be left empty.
OptionalHttpUrl = Annotated[str, AfterValidator(_http_url_or_empty)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ProviderSection(_Section):
    #: Whether the provider fetches photos from /media/ links, so needs ``server.public_url``.
    #: A class attribute every provider has: asking a pydantic model for one it lacks raises
    #: inside pydantic, and the menu asks about every provider on every update.
    needs_public_url: ClassVar[bool] = False


class TelegramSettings(_Section):
    token: str = ""
    base_url: HttpUrl = "https://api.telegram.org/bot"
    base_file_url: HttpUrl = "https://api.telegram.org/file/bot"
    #: Telegram user ids: a list, or one text of ids separated by commas (``${PHOTOBOT_ADMIN_IDS}``).
    admin_ids: tuple[Annotated[int, Field(gt=0)], ...] = ()
    #: Long polling is the default; "webhook" receives updates at {server.public_url}/telegram/<secret>.
    mode: str = Field(default="polling", pattern="^(polling|webhook)$")
    #: Secret for the webhook path and Telegram's X-Telegram-Bot-Api-Secret-Token; derived when empty.
    webhook_secret: str = Field(default="", pattern="^[A-Za-z0-9_-]{0,256}$")
    poll_timeout: int = Field(default=30, ge=0, le=60)
    #: Seconds a menu waits for the next tap; then it closes and the user's session (what they
    #: were choosing) is forgotten.
    conversation_timeout: float = Field(default=900.0, ge=1)
    #: Minimum seconds between two edits of one status message (Telegram flood limits).
    status_edit_interval: float = Field(default=2.0, ge=0)
    #: Messages and edits per second across all chats, paced by the bot itself. 30 is Telegram's
    #: documented bulk limit; a busy bot whose users mostly interact may raise it, or set 0 to
    #: leave pacing to Telegram (its 429 answers are waited out and retried either way).
    max_messages_per_second: float = Field(default=30, ge=0)

    @field_validator("webhook_secret")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        # The path secret is derived from it: whoever guesses it can post forged updates (/grant).
        return _long_secret(value)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _ids_from_text(cls, value: Any) -> Any:
        """From the environment the ids come as one text: ``123456789,987654321`` (or one id,
        which YAML reads as a number; or nothing)."""
        if value is None:
            return ()
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, str):
            try:
                return tuple(int(part) for part in re.split(r"[\s,]+", value) if part)
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas, such as 123456789,987654321") from None
        return value


class ServerSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Public base URL of this server as providers see it; empty disables callbacks.
    public_url: str = ""
    #: Secret for signing /media/ links; derived from the bot token when empty.
    media_secret: str = ""
    #: A /media/ link works until its job's deadline: a provider may fetch the photo only when the
    #: task starts (玩星 queues tasks for up to its timeout). A number of seconds here caps that; it
    #: must then be at least every URL-fetching provider's deadline (checked at load).
    media_link_ttl: int = Field(default=0, ge=0)
    #: /metrics (Prometheus) is served only when this is set, to scrapers that send
    #: ``Authorization: Bearer <metrics_token>``.
    metrics_token: str = ""

    @field_validator("media_secret", "metrics_token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        return _long_secret(value)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return _http_url_or_empty(value).rstrip("/")


class DatabaseSettings(_Section):
    #: SQLite, the embedded default: one file. Ignored when ``url`` is set.
    path: str = "data/photobot.sqlite3"
    #: PostgreSQL instead: postgresql://user:password@host:port/database (see docs/deploy.md).
    url: str = Field(default="", pattern=r"^$|^postgres(ql)?://")
    #: PostgreSQL connections each process keeps at most (size the server's max_connections for
    #: every process, plus two or three each for notifications and exclusive rights).
    pool_size: int = Field(default=30, ge=2, le=500)
    #: Where normalised input photos and results are kept; defaults beside the database.
    media_dir: str = ""
    #: Days people's photos and results are kept before they are deleted (0: never deleted).
    media_retention_days: float = Field(default=7.0, ge=0)
    #: Megabytes of photos and results one user may have stored; a new photo beyond it is refused.
    max_user_mb: float = Field(default=200.0, gt=0)
    #: While the media or database folder has less free space than this, new photos get "try
    #: later" and /healthz answers 503.
    min_free_disk_mb: float = Field(default=1024.0, ge=0)


class CreditSettings(_Section):
    daily_free: int = Field(default=20, ge=0)
    #: Free credits a person who came through an invitation (/invite) and the person who invited
    #: them each get when the newcomer's first paid order is delivered; 0: no invitations.
    invite_bonus: int = Field(default=5, ge=0, le=10_000)


class CreditPack(_Section):
    """A pack of credits sold for Telegram Stars."""

    #: Stable name (it travels in the buy button and is stored with each invoice).
    id: str = Field(pattern=r"^[a-z0-9_-]{1,16}$")
    credits: int = Field(gt=0, le=1_000_000)
    #: Price in Telegram Stars (XTR): 1 to 10000, Telegram's limit for one invoice.
    stars: int = Field(gt=0, le=10_000)


class PaymentSettings(_Section):
    """Credits sold for Telegram Stars: on when ``packs`` is not empty."""

    packs: tuple[CreditPack, ...] = ()
    #: The terms of sale shown by /terms: a text, or one per language; empty means the locale
    #: catalog's default terms.
    terms: str | dict[str, str] = ""
    #: Seconds between two comparisons of Telegram's record of Star payments (getStarTransactions)
    #: with the payments received: one whose update never arrived is credited then (bot/telegram/reconcile.py).
    reconcile_interval: float = Field(default=600.0, gt=0)
    #: Seconds a Star transaction is left to its own update (which may still be on its way)
    #: before the comparison acts on it.
    reconcile_grace: float = Field(default=300.0, ge=0)
    #: Seconds an unpaid invoice is kept after it was made (and after its last checkout); then
    #: it is deleted, and its Pay button refused. Every pack button press makes one.
    invoice_lifetime: float = Field(default=86400.0, gt=0)
    #: Questions one user may send the admins with /paysupport in any hour.
    support_questions_per_hour: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> PaymentSettings:
        ids = [pack.id for pack in self.packs]
        if len(set(ids)) != len(ids):
            raise ValueError("payments.packs: two packs have the same id")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.packs)

    def pack(self, pack_id: str) -> CreditPack | None:
        return next((pack for pack in self.packs if pack.id == pack_id), None)


class FailoverSettings(_Section):
    """When a provider counts as down and its services go to the next one (bot/ops/health.py)."""

    #: Seconds of failing calls (unreachable, timeouts, server errors) without a success.
    failing_for: float = Field(default=300.0, gt=0)
    #: Seconds before a down provider is offered one order again.
    retry_after: float = Field(default=600.0, gt=0)


class NetworkSettings(_Section):
    allow_private_addresses: bool = False
    max_download_bytes: int = Field(default=30 * 1024 * 1024, gt=0)
    #: Seconds a result download may take.
    download_timeout: float = Field(default=60.0, gt=0)
    #: Times a failed provider request is sent again (only requests the provider cannot have
    #: acted on, or status queries), and the base of the random exponential wait between.
    request_retries: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=0.5, ge=0)
    #: A PEM file of CA certificates trusted for https to providers, result hosts and the Bot API
    #: server besides the system's (a provider, a TLS-terminating proxy or a local Bot API server
    #: with a private CA). Certificates and host
    #: names are always verified; OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR are honoured as well.
    ca_file: str = ""

    @field_validator("ca_file")
    @classmethod
    def _ca_bundle(cls, value: str) -> str:
        """Read at load, so a wrong path or a file that holds no certificate stops ``check``,
        not the first order."""
        if value:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=value)
            except ssl.SSLError:
                raise ValueError(f"{value} holds no PEM CA certificate") from None
            except OSError as err:
                raise ValueError(f"cannot read {value}: {err.strerror}") from None
        return value


class JobSettings(_Section):
    max_concurrent: int = Field(default=32, ge=1)
    #: Unfinished jobs one user may have at once.
    max_per_user: int = Field(default=3, ge=1)
    #: Longest wait between two status queries of a job whose provider calls back (the wait
    #: grows from the provider's poll_interval; a callback wakes the job at once).
    max_poll_interval: float = Field(default=15.0, gt=0)
    #: Seconds a worker's claim on a job lasts without being renewed (it renews every third of
    #: it): a job whose worker died is taken over by another after at most this long.
    lease_seconds: float = Field(default=15.0, ge=3)
    #: Unfinished jobs one worker process drives at once; more are left for other workers.
    max_held: int = Field(default=1000, ge=1)


class LimitSettings(_Section):
    #: Messages and button presses one user may send per minute; admins are exempt.
    requests_per_minute: int = Field(default=30, ge=1)
    #: More sizes of an ID photo one order may hold besides the first ("also make: 2-inch, …").
    extra_specs: int = Field(default=4, ge=0, le=9)


class PriceSettings(_Section):
    """Prices that hold whichever provider makes the order (each provider's own are in its section)."""

    #: An ID photo's extra size ordered with the first, from the same photo: this share of its own
    #: price, rounded up to a whole credit (0.5 of 6 is 3, of 5 is 3; 0: free, 1: full price).
    extra_spec: float = Field(default=0.5, ge=0, le=1)


class PicwishPrices(_Section):
    """Credits per ID photo; defaults are PicWish's own credit costs."""

    base: int = Field(default=6, ge=0)
    outfit: int = Field(default=15, ge=0)
    beauty: int = Field(default=8, ge=0)
    layout: int = Field(default=5, ge=0)
    preview: int = Field(default=0, ge=0)
    #: A top-to-bottom gradient background (bg_color2).
    gradient: int = Field(default=0, ge=0)
    #: Beauty's refinements, each on top of beauty.
    sharpen: int = Field(default=0, ge=0)
    thin_face: int = Field(default=0, ge=0)
    #: A print sheet's refinements, each on top of the sheet: a column layout, a white canvas.
    sheet_vertical: int = Field(default=0, ge=0)
    sheet_white: int = Field(default=0, ge=0)
    #: A size the user types in millimetres (the catalog's custom spec), on top of the base.
    custom_size: int = Field(default=0, ge=0)


class PicwishSettings(_ProviderSection):
    #: None (the default) means "enabled when an api_key is set".
    enabled: bool | None = None
    api_key: str = ""
    base_url: HttpUrl = "https://techsz.aoscdn.com/api/tasks/visual/external"
    poll_interval: float = Field(default=1.0, gt=0)
    #: The document: "total polling time should not exceed 5 minutes".
    deadline: float = Field(default=300.0, gt=0)
    request_timeout: float = Field(default=30.0, gt=0)
    prices: PicwishPrices = PicwishPrices()

    @property
    def missing(self) -> list[str]:
        """Keys an enabled provider still needs."""
        return [] if self.api_key else ["api_key"]

    @property
    def wanted(self) -> bool:
        return bool(self.api_key) if self.enabled is None else self.enabled

    @property
    def usable(self) -> bool:
        return self.wanted and not self.missing


class AnimeStyle(_Section):
    """One anime effect: the same endpoint serves other effects under other busiIds."""

    id: str = Field(pattern="^[a-z0-9_]{1,20}$")
    #: A title, or one per language ({en: ..., zh-Hans: ...}).
    title: str | dict[str, str]
    busi_id: str


class QQAnimeSettings(_ProviderSection):
    #: The API needs no key, so it is off until switched on.
    enabled: bool = False
    url: HttpUrl = "https://ai.tu.qq.com/trpc.shadow_cv.ai_processor_cgi.AIProcessorCgi/Process"
    #: The default style's busiId.
    busi_id: str = "ai_painting_anime_entry"
    styles: tuple[AnimeStyle, ...] = ()
    #: An HTTP(S) proxy; the API answers 2119 outside mainland China.
    proxy: OptionalHttpUrl = ""
    request_timeout: float = Field(default=90.0, gt=0)
    #: Backoff base (seconds) between retries of a 2111 VOLUMN_LIMIT answer.
    retry_backoff: float = Field(default=2.0, ge=0)
    price: int = Field(default=2, ge=0)

    @property
    def missing(self) -> list[str]:
        return []

    @property
    def usable(self) -> bool:
        return self.enabled

    def all_styles(self) -> tuple[AnimeStyle, ...]:
        if self.styles:
            return self.styles
        return (AnimeStyle(id="anime", title={"en": "Anime", "zh-Hans": "二次元"}, busi_id=self.busi_id),)


class HiliPrices(_Section):
    """Credits per photo for each mode (Hili charges one use per upload, whatever the mode)."""

    upscale: int = Field(default=8, ge=0)
    repair: int = Field(default=10, ge=0)
    colorize: int = Field(default=12, ge=0)
    background: int = Field(default=6, ge=0)


class HiliSettings(_ProviderSection):
    #: None (the default) means "enabled when third_code and secret_key are set".
    enabled: bool | None = None
    base_url: HttpUrl = "http://sdkphoto.fangtangtv.com"
    third_code: str = ""
    secret_key: str = ""
    poll_interval: float = Field(default=2.0, gt=0)
    #: Hili deletes results after an hour.
    deadline: float = Field(default=1800.0, gt=0)
    request_timeout: float = Field(default=60.0, gt=0)
    prices: HiliPrices = HiliPrices()
    #: Seconds between two checks of the account's remaining uses, and the count below which the
    #: admins are told; at 0 the service leaves the menu until uses return.
    uses_check_interval: float = Field(default=600.0, gt=0)
    uses_alert_below: int = Field(default=50, ge=0)

    @property
    def missing(self) -> list[str]:
        return [key for key in ("third_code", "secret_key") if not getattr(self, key)]

    @property
    def wanted(self) -> bool:
        return bool(self.third_code or self.secret_key) if self.enabled is None else self.enabled

    @property
    def usable(self) -> bool:
        return self.wanted and not self.missing


class EnhanceType(_Section):
    """One MagicTiger "Enhance Type": the number comes from the provider, not the document."""

    id: str = Field(pattern="^[a-z0-9_]{1,20}$")
    title: str | dict[str, str]
    type: int
    price: int = Field(default=10, ge=0)
    #: "list" for Colorize, whose finished task lists its output images (document 003); "image"
    #: for the others: the whole enhanced image, and face close-ups beside it.
    outputs: Literal["image", "list"] = "image"


class MagicTigerOperations(_Section):
    """Path of each operation under base_url; the defaults are the document's operation names."""

    createtask: str = "createtask"
    gettask: str = "gettask"
    deletetask: str = "deletetask"


class MagicTigerStatus(_Section):
    """The "Task Status" numbers that mean finished and failed (any other: still in progress)."""

    done: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()


class MagicTigerSettings(_ProviderSection):
    #: None (the default) means "enabled when api_token is set".
    enabled: bool | None = None
    base_url: OptionalHttpUrl = ""
    api_token: str = ""
    #: The header that carries api_token on every request.
    auth_header: str = "token"
    operations: MagicTigerOperations = MagicTigerOperations()
    enhance_types: tuple[EnhanceType, ...] = ()
    task_status: MagicTigerStatus = MagicTigerStatus()
    #: A createtask field for a per-task callback URL, if the account has one; empty: the
    #: account's callback URL should be {server.public_url}/callbacks/magictiger.
    callback_param: str = ""
    #: True only where the account's terms say a task dropped by deletetask is not charged: then a
    #: user's Cancel of a running job deletes the task and gives the credits back. Document 003 does
    #: not say so (a task is charged when created), so by default a running job cannot be cancelled,
    #: as with every other provider. A task past the job's deadline is deleted either way.
    cancellable: bool = False
    poll_interval: float = Field(default=2.0, gt=0)
    deadline: float = Field(default=1800.0, gt=0)
    request_timeout: float = Field(default=30.0, gt=0)
    needs_public_url: ClassVar[bool] = True

    @property
    def job_deadline(self) -> float:
        return self.deadline

    @property
    def missing(self) -> list[str]:
        found = [key for key in ("base_url", "api_token", "enhance_types") if not getattr(self, key)]
        found += [f"task_status.{key}" for key in ("done", "failed") if not getattr(self.task_status, key)]
        return found

    @property
    def wanted(self) -> bool:
        return bool(self.api_token) if self.enabled is None else self.enabled

    @property
    def usable(self) -> bool:
        return self.wanted and not self.missing


class PortraitTemplate(_Section):
    """A template portrait: a local image file or an https URL the provider can fetch."""

    id: str = Field(pattern="^[a-z0-9_]{1,20}$")
    title: str | dict[str, str]
    category: str | dict[str, str] = ""
    image: str


class WanxingSettings(_ProviderSection):
    #: None (the default) means "enabled when app_code, or app_key and app_secret, are set".
    enabled: bool | None = None
    base_url: HttpUrl = "https://swapface-api.segapi.com"
    #: Alibaba Cloud API Gateway: AppKey + AppSecret (signed requests) or an AppCode.
    app_key: str = ""
    app_secret: str = ""
    app_code: str = ""
    templates: tuple[PortraitTemplate, ...] = ()
    #: Seconds the provider may take (its `timeout`).
    timeout: int = Field(default=600, ge=30, le=7200)
    #: Seconds the bot waits for a job before failing it (its credits released); empty: `timeout` plus a minute.
    deadline: float | None = Field(default=None, gt=0)
    poll_interval: float = Field(default=5.0, gt=0)
    request_timeout: float = Field(default=30.0, gt=0)
    price: int = Field(default=20, ge=0)
    needs_public_url: ClassVar[bool] = True

    @property
    def job_deadline(self) -> float:
        """The provider stops a task at ``timeout``; the bot waits a minute more for its notice."""
        return self.deadline if self.deadline is not None else self.timeout + 60.0

    @model_validator(mode="after")
    def _deadline_outlasts_timeout(self) -> WanxingSettings:
        """A job failed (its credits released) at its deadline while 玩星 may still finish (and charge
        for) the task until its ``timeout``: a result paid for and thrown away."""
        if self.deadline is not None and self.deadline < self.timeout:
            raise ValueError(
                f"deadline ({self.deadline:g} s) is shorter than timeout ({self.timeout} s): the bot would "
                "release the credits of jobs 玩星 may still finish and charge for; make it at least timeout, "
                "or leave it empty (timeout plus a minute)"
            )
        return self

    @property
    def missing(self) -> list[str]:
        found = [] if self.app_code or (self.app_key and self.app_secret) else ["app_code or app_key + app_secret"]
        return found + ([] if self.templates else ["templates"])

    @property
    def wanted(self) -> bool:
        return bool(self.app_code or self.app_key) if self.enabled is None else self.enabled

    @property
    def usable(self) -> bool:
        return self.wanted and not self.missing


class LocalSettings(_ProviderSection):
    """The local ID-photo engine (the photobot[local] extra): no key, no network."""

    enabled: bool = True
    price: int = Field(default=2, ge=0)
    #: Photos made at the same time (each keeps both cores busy for a fraction of a second).
    concurrency: int = Field(default=1, ge=1, le=8)
    #: Photos (face checks and ID photos) that may wait behind those being made; beyond it users
    #: are told to try again in a minute, and nothing is charged.
    queue_limit: int = Field(default=20, ge=1)
    #: Seconds one photo may take before its job fails and its credits are released (normally under two).
    time_limit: float = Field(default=60.0, gt=0)
    #: Free previews one person may have made in any hour (each keeps the engine busy like a
    #: paid photo); beyond it they are told when they can have the next, and nothing is made.
    previews_per_hour: int = Field(default=10, ge=1)

    def limits(self) -> EngineLimits:
        from providers.localengine.worker import EngineLimits

        return EngineLimits(queue_limit=self.queue_limit, time_limit=self.time_limit)

    @property
    def missing(self) -> list[str]:
        from providers.localengine import available

        if available():
            return []
        if broken := _damaged_models():
            return [f"model files that are not the pinned ones ({', '.join(broken)}): run `photobot models` again"]
        return ["the photobot[local] extra and its models (pip install 'photobot[local]' && photobot models)"]

    @property
    def usable(self) -> bool:
        return self.enabled and not self.missing


@lru_cache(maxsize=1)
def _damaged_models() -> tuple[str, ...]:
    """The model files that are not their pinned ones, looked at once, as ``available()`` is (a
    provider's usability is asked at every order)."""
    from providers.localengine.install import damaged

    return tuple(damaged())


class ProviderSettings(_Section):
    picwish: PicwishSettings = PicwishSettings()
    qq_anime: QQAnimeSettings = QQAnimeSettings()
    hili: HiliSettings = HiliSettings()
    magictiger: MagicTigerSettings = MagicTigerSettings()
    wanxing: WanxingSettings = WanxingSettings()
    local: LocalSettings = LocalSettings()


class Settings(_Section):
    telegram: TelegramSettings = TelegramSettings()
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    credits: CreditSettings = CreditSettings()
    payments: PaymentSettings = PaymentSettings()
    failover: FailoverSettings = FailoverSettings()
    network: NetworkSettings = NetworkSettings()
    jobs: JobSettings = JobSettings()
    limits: LimitSettings = LimitSettings()
    prices: PriceSettings = PriceSettings()
    providers: ProviderSettings = ProviderSettings()
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    @model_validator(mode="after")
    def _webhook_needs_public_url(self) -> Settings:
        if self.telegram.mode != "webhook":
            return self
        if not self.server.public_url:
            raise ValueError("telegram.mode: webhook needs server.public_url")
        # Telegram's own servers set a webhook only at https, on one of these ports (a local Bot
        # API server, https://github.com/tdlib/telegram-bot-api, takes http and any port).
        if urlsplit(self.telegram.base_url).hostname == TELEGRAM_API_HOST:
            public = urlsplit(self.server.public_url)
            if public.scheme != "https" or (public.port or 443) not in WEBHOOK_PORTS:
                raise ValueError(
                    "server.public_url: Telegram sends webhook updates (telegram.mode: webhook) only to an"
                    " https:// address on port 443, 80, 88 or 8443; use such an address, or telegram.mode: polling"
                )
        return self

    @model_validator(mode="after")
    def _media_links_outlive_their_jobs(self) -> Settings:
        ttl = self.server.media_link_ttl
        for name, deadline in self.url_fetch_deadlines().items():
            if ttl and ttl < deadline:
                raise ValueError(
                    f"server.media_link_ttl: {ttl} s is shorter than providers.{name}'s deadline ({deadline:g} s): "
                    "it may fetch the photo after its link expired; raise it, or set 0 (until the job's deadline)"
                )
        return self

    def url_fetch_deadlines(self) -> dict[str, float]:
        """Enabled providers that fetch photos from /media/ links, and how long their jobs may run."""
        return {
            name: float(section.job_deadline)
            for name in type(self.providers).model_fields
            if (section := getattr(self.providers, name)).needs_public_url and section.usable
        }

    def webhook_header_secret(self) -> str:
        """Telegram's X-Telegram-Bot-Api-Secret-Token: the configured one or one derived from the token."""
        if self.telegram.webhook_secret:
            return self.telegram.webhook_secret
        return hashlib.sha256(b"photobot-webhook:" + self.telegram.token.encode()).hexdigest()[:48]

    def webhook_path_secret(self) -> str:
        """The secret in the webhook's path. It differs from the header secret: a URL ends up in
        proxy and access logs, and one leaked there must not also give away the header."""
        return hashlib.sha256(b"photobot-webhook-path:" + self.webhook_header_secret().encode()).hexdigest()[:40]

    def webhook_url(self) -> str:
        return f"{self.server.public_url}/telegram/{self.webhook_path_secret()}"

    def plain_http_urls(self) -> list[str]:
        """Config keys whose URL is plain http://: what travels there (photos, keys, links) can be read on the way."""
        found = ["server.public_url"] if self.server.public_url.startswith("http://") else []
        for name in type(self.providers).model_fields:
            provider = getattr(self.providers, name)
            if not provider.usable:
                continue
            for key in ("base_url", "url"):
                if str(getattr(provider, key, "")).startswith("http://"):
                    found.append(f"providers.{name}.{key}")
        return found

    def secrets(self) -> list[str]:
        """Every secret, configured or derived, for the log filter."""
        found = [
            self.telegram.token,
            self.webhook_header_secret(),
            self.webhook_path_secret(),
            self.server.media_secret,
            self.server.metrics_token,
        ]
        # A URL's password (bot/ops/logs.py also hides any URL's password, whatever its length).
        for url in (self.database.url, self.providers.qq_anime.proxy):
            password = urlsplit(url).password if url else None
            if password:
                found += [password, unquote(password)]
        for name in type(self.providers).model_fields:
            provider = getattr(self.providers, name)
            found += [
                str(getattr(provider, key))
                for key in ("api_key", "app_secret", "app_code", "secret_key", "api_token")
                if getattr(provider, key, "")
            ]
        return found

    @property
    def media_dir(self) -> Path:
        if self.database.media_dir:
            return Path(self.database.media_dir)
        return Path(self.database.path).parent / "media"

    def provider_usable(self, name: str) -> bool:
        """Whether the provider ``name`` is configured to serve (and has the public URL it needs)."""
        section = getattr(self.providers, name)
        if section.needs_public_url and not self.server.public_url:
            return False
        return bool(section.usable)


def _expand_env(node: Any, env: dict[str, str], path: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _expand_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand_env(v, env, f"{path}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set")

    expanded = _ENV_REF.sub(replace, node)
    if expanded != node and _ENV_REF.fullmatch(node.strip()):
        # A value that is only a reference is parsed as YAML, so `${PORT}` can be a number.
        try:
            return yamltext.parse(expanded) if expanded else expanded
        except yaml.YAMLError:
            return expanded
    return expanded


def _describe(error: ValidationError) -> str:
    """One line per problem, each starting with the key it is about."""
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"])
        msg = "unknown key" if item["type"] == "extra_forbidden" else item["msg"].removeprefix("Value error, ")
        # A check of the whole config (a model validator) names its keys in its message.
        lines.append(f"{key}: {msg}" if key else msg)
    return "\n".join(lines)


def parse_settings(raw: dict[str, Any] | None, env: dict[str, str] | None = None) -> Settings:
    """Validate a config mapping, with environment substitution and overrides."""
    env = dict(os.environ) if env is None else env
    data = _expand_env(raw or {}, env)
    if not isinstance(data, dict):
        raise ConfigError("the config file must hold a mapping at the top level")
    if env.get(ENV_TOKEN):
        data.setdefault("telegram", {})
        if not isinstance(data["telegram"], dict):
            raise ConfigError("telegram: must be a mapping")
        data["telegram"]["token"] = env[ENV_TOKEN]
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err)) from None


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the YAML at ``path`` (or ``$PHOTOBOT_CONFIG``) and validate it."""
    env = dict(os.environ) if env is None else env
    path = path or env.get(ENV_CONFIG_PATH)
    if not path:
        raise ConfigUnreadable(f"no config file: pass --config or set {ENV_CONFIG_PATH}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigUnreadable(f"cannot read config file {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigUnreadable(f"cannot read config file {path}: it is not UTF-8 text") from None
    try:
        raw = yamltext.parse(text)
    except yaml.YAMLError as err:
        raise ConfigError(_yaml_problem(str(path), err)) from None
    return parse_settings(raw, env)


def _yaml_problem(path: str, err: yaml.YAMLError) -> str:
    """One line: the file, where and what. PyYAML's own text spans lines, calls the file
    "<unicode string>" and may quote the line itself (a key in it)."""

    def at(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    if not isinstance(err, yaml.MarkedYAMLError) or err.problem_mark is None:
        return f"{path} is not valid YAML"
    found = f"{path} is not valid YAML at {at(err.problem_mark)}: {err.problem}"
    if err.context and err.context_mark is not None:
        found += f" ({err.context} at {at(err.context_mark)})"
    return found
