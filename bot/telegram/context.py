"""What every handler reaches: the typed python-telegram-bot context with the user's session, the
bot's wiring (its parts, opened by bot/main/wiring.py) and the contract each service fulfils.

The context holds the wiring, which lists the services, whose callbacks take the context: the
three live in one module, so that they need not import each other. Nothing below the Telegram
layer imports it; services (bot/services/) import it, never the other way, and reach the bot
through ``context.deps`` (:class:`ServiceDeps`), a narrow view of the wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from telegram import InlineKeyboardButton, Update
from telegram.ext import Application, BaseHandler, CallbackContext, ContextTypes, ExtBot

from bot.config import Settings
from bot.domain.ordering import PlacedBefore, Refusal, place_order
from bot.domain.session import PendingOrder, ServiceState, Session
from bot.jobs.runner import JobRunner
from bot.ops.accounts import AccountWatch
from bot.ops.health import ProviderHealth
from bot.ops.limits import DecodeBudget, RequestLimiter, Turns
from bot.ops.media import MediaSigner, MediaStore
from bot.ops.metrics import Metrics
from bot.ops.photos import PhotoKeeper
from bot.ops.retention import MediaSweeper
from bot.ops.templates import TemplateGallery
from bot.storage.jobs import Job, Jobs
from bot.storage.ledger import Ledger
from bot.storage.payments import Payments
from bot.storage.store import Store
from bot.storage.users import Users
from bot.telegram.alerts import OperatorAlerts
from bot.telegram.direct import DirectCalls
from bot.telegram.inbox import UpdateInbox
from bot.telegram.reconcile import StarReconciler
from bot.telegram.ui.results import Bundle, ResultView, plain_result
from bot.telegram.web import WebServer
from providers.base import TaskProvider
from providers.download import Downloader
from providers.localengine.worker import EngineWorker
from providers.orders import Order
from providers.specs import SpecCatalog

OrderT = TypeVar("OrderT", bound=Order)
Handlers = list[BaseHandler[Update, Any, Any]]


def no_handlers() -> Handlers:
    return []


class ServiceDeps(Protocol):
    """What a service reaches of the bot (bot/services/ read it as ``context.deps``, never the whole
    wiring): the settings, the spec catalog, stored files, portrait templates, the jobs (read), the
    local engine's checks, which provider serves what, and placing an order. Not the runner, the
    web server, payments, alerts or the operator's tools."""

    @property
    def settings(self) -> Settings: ...

    @property
    def catalog(self) -> SpecCatalog: ...

    @property
    def media(self) -> MediaStore: ...

    @property
    def templates(self) -> TemplateGallery: ...

    @property
    def jobs(self) -> Jobs: ...

    @property
    def engine(self) -> EngineWorker | None: ...

    @property
    def enabled_services(self) -> Mapping[str, str]: ...

    def provider_for(self, service: str) -> TaskProvider[Any] | None: ...

    def standing_in(self, service: str) -> str | None: ...

    def price(self, service: str, order: Order, provider: str) -> int: ...

    async def place_order(
        self, order: PendingOrder, *, user_id: int, chat_id: int, status_message_id: int | None
    ) -> Job | PlacedBefore | Refusal: ...

    @property
    def order_turns(self) -> Turns:
        """A user's Confirm and Cancel, one at a time (``Wiring.order_turns``)."""
        ...


@dataclass(frozen=True)
class Service(Generic[OrderT]):
    """Everything about one thing a user buys, in one object.

    A service (ID photo, anime, ...) is not a provider (PicWish, QQ, ...): it names the providers
    that can do its work, in order of preference, and holds its dialog, its order model, its
    price, the lines that describe an order on the summary and how a finished job's files are
    shown. The registry (``bot/services/registry.py``) lists the services in menu order; the
    application builds each one's conversation from ``start`` and ``steps`` (``bot/main/app.py``).
    """

    #: The name in callback data, job rows and the locale catalogs (``service.<name>``).
    name: str
    #: The providers able to serve it, in order of preference: the first usable one does.
    providers: tuple[str, ...]
    #: What its dialog builds, the job row stores (as JSON) and the provider is handed.
    order_model: type[OrderT]
    #: The handler of its button in the service menu; returns the first step (or END).
    start: Callable[[Update, Context], Coroutine[Any, Any, object]]
    #: Its conversation: each step (a namespaced state) and the handlers that answer it. A
    #: function, because each Application needs handlers of its own.
    steps: Callable[[], Mapping[object, Handlers]]
    #: Credits for an order made by the named provider; prices are configuration.
    price: Callable[[OrderT, Settings, str], int]
    #: The lines that describe an order on the summary.
    describe: Callable[[OrderT, str, ServiceDeps], str]
    #: What its dialog keeps in the user's session between steps (a draft, a choice waiting for the
    #: next step), kept and read back with the session; None when each step's button carries all.
    state_model: type[ServiceState] | None = None
    #: A few words that tell one of its orders from another in /orders (an ID photo's spec);
    #: None where the service's name says enough.
    label: Callable[[OrderT, str], str] | None = None
    #: How each finished file is shown (``settings`` for prices on the buttons under it).
    present: Callable[[Job, int, bytes, str, Settings], ResultView] = plain_result
    #: Measures a finished result its provider did not report on (where the head is in an ID photo
    #: PicWish made), for its caption; None when there is nothing to measure.
    measure: Callable[[Job, Path, ServiceDeps], Awaitable[dict[str, Any] | None]] | None = None
    #: Builds the order Try again offers when the same order cannot work again (an ID photo whose
    #: PicWish preview expired: made again from the stored photo).
    retry: Callable[[Job], OrderT] | None = None
    #: For an order whose result its provider made already (a bought local preview: the engine
    #: hands back the photo it made), the order key buying it is placed under; None for another.
    #: Its Try again stays with that provider under that key, whoever serves the service now:
    #: another would make another photo, at its price.
    made_already: Callable[[OrderT], str | None] | None = None
    #: Other ways into its conversation (a button under a finished result).
    reentries: Callable[[], Handlers] = no_handlers
    #: Buttons that work outside its conversation (free re-edits of a result).
    handlers: Callable[[], Handlers] = no_handlers
    #: One line naming one of several orders placed together (an ID photo's size and colour), for
    #: the summary's list of them (``PendingOrder.extras``); None where a service takes no extras.
    part: Callable[[OrderT, str, ServiceDeps], str] | None = None
    #: Whether an album (a media group of photos) can be one order of it: offered under an album;
    #: and the zip of the exact files of such an order, sent once all its jobs were delivered.
    albums: bool = False
    bundle: Callable[[list[Job], str], Bundle | None] | None = None
    #: Rows of buttons of its own under the summary's Confirm / Cancel (an ID photo's "another size").
    summary_buttons: Callable[[PendingOrder, str, ServiceDeps], list[list[InlineKeyboardButton]]] | None = None

    def serving_provider(
        self, settings: Settings, out_of_service: frozenset[str] = frozenset(), down: frozenset[str] = frozenset()
    ) -> str | None:
        """The first of its providers that is configured to serve and in service, if any. One that
        is ``down`` (bot/ops/health.py) is passed over only while another can stand in for it: with
        none, orders still go to it (and fail, their credits released) rather than the service vanishing."""
        usable = [name for name in self.providers if name not in out_of_service and settings.provider_usable(name)]
        return next((name for name in usable if name not in down), usable[0] if usable else None)

    def again(self, job: Job) -> OrderT:
        """The order of a failed job, for its Try again button: the same one, unless ``retry``
        says how to make it again."""
        return self.retry(job) if self.retry is not None else self.order(job.options)

    def order(self, stored: Mapping[str, Any]) -> OrderT:
        """The order stored in a job row, validated again."""
        return self.order_model.model_validate(stored)


def serving(
    services: Iterable[Service[Any]],
    settings: Settings,
    out_of_service: frozenset[str] = frozenset(),
    down: frozenset[str] = frozenset(),
) -> dict[str, str]:
    """Service name -> the first usable provider that can serve it, in the order given; providers
    ``out_of_service`` (an account with no uses left) are passed over, and those ``down`` where
    another provider can stand in (see Service.serving_provider)."""
    found: dict[str, str] = {}
    for service in services:
        if (provider := service.serving_provider(settings, out_of_service, down)) is not None:
            found[service.name] = provider
    return found


@dataclass
class Wiring:
    settings: Settings
    db: Store
    users: Users
    ledger: Ledger
    jobs: Jobs
    payments: Payments
    alerts: OperatorAlerts
    health: ProviderHealth
    metrics: Metrics
    media: MediaStore
    signer: MediaSigner
    catalog: SpecCatalog
    templates: TemplateGallery
    providers: dict[str, TaskProvider[Any]]
    downloader: Downloader
    runner: JobRunner
    web: WebServer
    limiter: RequestLimiter
    sweeper: MediaSweeper
    accounts: AccountWatch
    photos: PhotoKeeper
    decodes: DecodeBudget
    #: The local engine (face checks before any charge), or None without its models.
    engine: EngineWorker | None
    #: Webhook updates waiting for the process that handles updates.
    inbox: UpdateInbox
    #: Bot API calls that must not wait behind the rate limiter (pre-checkout answers).
    direct: DirectCalls
    #: Compares Telegram's Star transactions with the payments received (bot/telegram/reconcile.py).
    reconciler: StarReconciler
    #: /paysupport questions per user and hour.
    support_limiter: RequestLimiter
    #: Every service by name, in menu order (``bot.services.registry``).
    services: Mapping[str, Service[Any]]
    #: Set when this process must stop: it lost its right to poll Telegram (bot/main/app.py).
    halt: asyncio.Event = field(default_factory=asyncio.Event)
    #: Payments an admin's /refund is refunding now. Telegram reports every refund with a
    #: ``refunded_payment`` message, which may overtake its answer to refundStarPayment: that
    #: report is then the admin's own refund, not news to alert them about.
    refunding: set[str] = field(default_factory=set)
    #: A user's Confirm and Cancel of a summary, one at a time: a Cancel pressed right after
    #: Confirm (the summary not yet edited) learns how that Confirm ended before it answers.
    order_turns: Turns = field(default_factory=Turns)

    @property
    def enabled_services(self) -> dict[str, str]:
        """The services on offer, in menu order, each with the provider that serves it now:
        providers out of paid uses or down (bot/ops/health.py) are passed over."""
        return serving(self.services.values(), self.settings, self.accounts.exhausted, self.health.down())

    def standing_in(self, service: str) -> str | None:
        """The provider that usually serves ``service`` when it is down and another serves it."""
        usual = self.services[service].serving_provider(self.settings, self.accounts.exhausted)
        now = self.enabled_services.get(service)
        return usual if usual is not None and now not in (None, usual) and usual in self.health.down() else None

    def price(self, service: str, order: Order, provider: str) -> int:
        """Credits for ``order`` of ``service`` made by ``provider`` (bot/domain/ordering.OrderDesk)."""
        return self.services[service].price(order, self.settings, provider)

    async def place_order(
        self, order: PendingOrder, *, user_id: int, chat_id: int, status_message_id: int | None
    ) -> Job | PlacedBefore | Refusal:
        """Store the job, hold its price and start it, or say why not (bot/domain/ordering.py)."""
        return await place_order(self, order, user_id=user_id, chat_id=chat_id, status_message_id=status_message_id)

    def provider_for(self, service: str) -> TaskProvider[Any] | None:
        """The client serving ``service`` now; dialogs read its declared capabilities."""
        name = self.enabled_services.get(service)
        return self.providers.get(name) if name is not None else None

    async def close(self) -> None:
        await self.sweeper.stop()
        await self.accounts.stop()
        await self.reconciler.stop()
        await self.runner.stop()
        await self.web.stop()
        for provider in self.providers.values():
            await provider.aclose()
        await self.downloader.aclose()
        await self.direct.stop()


class BotData:
    """python-telegram-bot creates this; :func:`bot.main.wiring.open_wiring` fills it."""

    wiring: Wiring

    def __init__(self) -> None:
        #: The albums this process is finishing, by (user, media group): their tasks
        #: (bot/telegram/conversations/album.py).
        self.albums_finishing: dict[tuple[int, str], asyncio.Task[Any]] = {}


class Context(CallbackContext[ExtBot, Session, dict, BotData]):
    @property
    def wiring(self) -> Wiring:
        return self.bot_data.wiring

    @property
    def deps(self) -> ServiceDeps:
        """The part of the wiring a service reaches."""
        return self.bot_data.wiring

    @property
    def session(self) -> Session:
        assert self.user_data is not None
        return self.user_data

    @property
    def lang(self) -> str:
        """The user's language, set for every update by ``conversations.common.register_user``."""
        return self.session.lang or "en"


CONTEXT_TYPES = ContextTypes(context=Context, user_data=Session, chat_data=dict, bot_data=BotData)
PhotoBotApp = Application[ExtBot, Context, Session, dict, BotData, Any]
