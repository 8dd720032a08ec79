"""What a service is: everything about one thing a user buys, in one object.

A service (ID photo, anime, ...) is not a provider (PicWish, QQ, ...): it names the providers that
can do its work, in order of preference, and holds its dialog, its order model, its price, the
lines that describe an order on the summary and how a finished job's files are shown. The
registry (``bot/services/registry.py``) lists the services in menu order; the application builds
each one's conversation from ``start`` and ``steps`` (``bot/main/app.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from telegram import Update
from telegram.ext import BaseHandler

from bot.config import Settings
from bot.storage.repo import Job
from bot.telegram.context import Context
from bot.telegram.ui.results import ResultView, plain_result
from providers.orders import Order

if TYPE_CHECKING:
    from bot.main.wiring import Wiring

OrderT = TypeVar("OrderT", bound=Order)
Handlers = list[BaseHandler[Update, Any, Any]]


def no_handlers() -> Handlers:
    return []


@dataclass(frozen=True)
class Service(Generic[OrderT]):
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
    describe: Callable[[OrderT, str, Wiring], str]
    #: How each finished file is shown (``settings`` for prices on the buttons under it).
    present: Callable[[Job, int, bytes, str, Settings], ResultView] = plain_result
    #: Measures a finished result its provider did not report on (where the head is in an ID photo
    #: PicWish made), for its caption; None when there is nothing to measure.
    measure: Callable[[Job, bytes, Wiring], Awaitable[dict[str, Any] | None]] | None = None
    #: Builds the order Try again offers when the same order cannot work again (an ID photo whose
    #: PicWish preview expired: made again from the stored photo).
    retry: Callable[[Job], OrderT] | None = None
    #: Other ways into its conversation (a button under a finished result).
    reentries: Callable[[], Handlers] = no_handlers
    #: Buttons that work outside its conversation (free re-edits of a result).
    handlers: Callable[[], Handlers] = no_handlers

    def serving_provider(
        self, settings: Settings, out_of_service: frozenset[str] = frozenset(), down: frozenset[str] = frozenset()
    ) -> str | None:
        """The first of its providers that is configured to serve and in service, if any. One that
        is ``down`` (bot/ops/health.py) is passed over only while another can stand in for it: with
        none, orders still go to it (and fail with a refund) rather than the service vanishing."""
        usable = [name for name in self.providers if name not in out_of_service and settings.provider_usable(name)]
        return next((name for name in usable if name not in down), usable[0] if usable else None)

    def again(self, job: Job) -> OrderT:
        """The order of a failed job, for its Try again button: the same one, unless ``retry``
        says how to make it again."""
        return self.retry(job) if self.retry is not None else self.order(job.options)

    def order(self, stored: Mapping[str, Any]) -> OrderT:
        """The order stored in a job row, validated again."""
        return self.order_model.model_validate(stored)
