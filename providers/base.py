"""Shared HTTP handling for provider clients: timeouts, retries and status mapping.

Retries follow one rule: a request that may have been accepted is never sent again.
Idempotent requests (queries) retry connection errors, 408, 429 and 5xx. A paid
submission retries only when the provider cannot have accepted it: the connection
was never made, or the answer was 429 / 503.

Requests go over aiohttp, like the Bot API calls (bot/telegram/transport.py): under load an
httpx request cost about ten times the CPU (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import Annotated, Any, Generic, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from providers.errors import (
    AuthenticationError,
    BadResponse,
    ProviderConnectionError,
    ProviderError,
    ProviderStatusError,
    ProviderTimeout,
    QuotaExceeded,
    RateLimited,
    ServerError,
)
from providers.models import CallbackAnswer, InputImage, InputLimits, Submission, TaskStatus
from providers.orders import Order
from providers.session import LazySession, tls_context, tls_problem

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_BACKOFF = 8.0
#: The largest answer body read from a provider whose answers are small JSON documents (links and
#: states, not images): with every concurrent provider call (``jobs.max_concurrent``) at its cap, a
#: hostile or broken endpoint holds a few tens of MB of the bot's memory at most. A provider that
#: may inline a result image (PicWish) sets its own ``max_answer_bytes``.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_RETRY_AFTER = 60.0

#: What ``json.loads`` raises on text that is not JSON it can hold: JSONDecodeError and
#: UnicodeDecodeError (both ValueErrors), a ValueError for an integer of more than 4300 digits, and
#: RecursionError for arrays or objects nested deeper than the decoder goes ("[" * 100000).
JSON_ERRORS = (ValueError, RecursionError)

#: A form field: a plain value, or a file as (filename, data, content type).
FormValue = str | tuple[str, bytes, str]

_NOT_ACCEPTED_STATUSES = (429, 503)
_RETRY_STATUSES = (408, 429, 500, 502, 503, 504)


#: A string that must not be empty (an id), and a link the bot may fetch.
NonEmpty = Annotated[str, Field(min_length=1)]
WebUrl = Annotated[str, Field(pattern=r"^https?://")]


class Answer(BaseModel):
    """A provider answer's documented shape. Types are strict (a number sent as a string is not the
    document's shape); fields the document does not name are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


AnswerT = TypeVar("AnswerT", bound=Answer)


def parse_answer(model: type[AnswerT], body: object, provider: str) -> AnswerT:
    """The one place an answer's shape is checked: one that is not the document's is a BadResponse
    (which the job runner takes for a passing glitch a few times before giving up)."""
    try:
        return model.model_validate(body)
    except ValidationError as err:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "answer"
        raise BadResponse(
            f"{provider}: {model.__name__} answer not as documented: {where}: {problem['msg']}",
            provider=provider,
            data=body,
        ) from err


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


class _WaitRetryAfter(wait_base):
    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: Any) -> float:
        err = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return err.retry_after
        return self.fallback(retry_state)


def status_error(
    provider: str, status: int, message: str, data: Any = None, retry_after: float | None = None
) -> ProviderStatusError:
    """The typed error for an HTTP-like status code."""
    if status in (401, 403):
        return AuthenticationError(message, status=status, provider=provider, data=data)
    if status == 402:  # Payment Required: the account has no paid credits left
        return QuotaExceeded(message, status=status, provider=provider, data=data)
    if status == 429:
        return RateLimited(message, status=status, provider=provider, data=data, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, status=status, provider=provider, data=data)
    return ProviderStatusError(message, status=status, provider=provider, data=data)


class HttpProvider:
    """Base for provider clients; owns one aiohttp session."""

    name = "provider"
    #: The largest answer body read from this provider (``_read_capped``).
    max_answer_bytes: int = MAX_ANSWER_BYTES

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        proxy: str | None = None,
        ca_file: str = "",
    ) -> None:
        """``ca_file``: CA certificates (PEM) trusted for https besides the system's
        (``network.ca_file``); certificates are verified whatever it is (providers/session.py)."""
        self.max_retries = max_retries
        self._wait = _WaitRetryAfter(wait_random_exponential(multiplier=backoff, max=max_backoff))
        self._proxy = proxy
        # No proxy from HTTP(S)_PROXY: aiohttp would look them up on a thread for every request.
        # A provider that needs a proxy has its own setting (providers.qq_anime.proxy).
        self._session = LazySession(
            aiohttp.ClientTimeout(total=timeout, connect=min(timeout, DEFAULT_CONNECT_TIMEOUT)),
            tls=tls_context(ca_file),
        )

    async def aclose(self) -> None:
        await self._session.aclose()

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool,
        headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        form: Mapping[str, FormValue] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        """Send with retries; return the decoded JSON object of a 2xx answer.

        The body is one of ``form`` (always sent as multipart/form-data), ``json_body`` or raw ``content``.
        ``headers`` may be a function, called for each attempt: a gateway that refuses a signature it
        has seen (a reused nonce) gets a fresh one each time.
        """
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(_safe_to_resend if idempotent else _never_accepted),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                sent = headers() if callable(headers) else headers
                data: bytes | None = content
                if form is not None:
                    data, content_type = await _multipart(form)
                    sent = {**(sent or {}), "Content-Type": content_type}
                return await self._send_once(method, url, headers=sent, data=data, json=json_body)
        raise AssertionError("unreachable")

    def http_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderStatusError:
        """The typed error for an HTTP error answer; a provider whose gateway explains itself in
        headers refines it."""
        return status_error(
            self.name,
            status,
            f"{self.name}: HTTP {status}",
            data=_excerpt(body),
            retry_after=retry_after_seconds(headers),
        )

    async def _send_once(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._session.get().request(
                method, url, proxy=self._proxy, allow_redirects=False, **kwargs
            ) as response:
                text = await _read_capped(response, self.name, self.max_answer_bytes)
                status, headers = response.status, response.headers
        except aiohttp.ConnectionTimeoutError as err:
            raise ProviderConnectionError(
                f"{self.name}: cannot connect", provider=self.name, never_accepted=True
            ) from err
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise ProviderTimeout(f"{self.name}: timed out", provider=self.name) from err
        except aiohttp.ClientConnectorError as err:  # refused, unresolvable, or its TLS handshake failed
            raise ProviderConnectionError(
                f"{self.name}: {tls_problem(err) or 'cannot connect'}", provider=self.name, never_accepted=True
            ) from err
        except aiohttp.ClientError as err:
            raise ProviderConnectionError(f"{self.name}: {type(err).__name__}", provider=self.name) from err
        if status >= 400:
            error = self.http_error(status, headers, text)
            error.never_accepted = error.never_accepted or status in _NOT_ACCEPTED_STATUSES
            raise error
        try:
            body = json.loads(text)
        except JSON_ERRORS as err:
            raise BadResponse(f"{self.name}: answer is not JSON", provider=self.name, data=_excerpt(text)) from err
        if not isinstance(body, dict):
            raise BadResponse(f"{self.name}: answer is not a JSON object", provider=self.name, data=body)
        return body


async def _read_capped(response: aiohttp.ClientResponse, provider: str, limit: int) -> bytes:
    """The answer body, refused once it passes ``limit`` bytes, or at once when it says it will (a
    broken or hostile endpoint must not make the bot hold gigabytes)."""
    if (response.content_length or 0) > limit:
        raise BadResponse(f"{provider}: answer of {response.content_length} bytes is too large", provider=provider)
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise BadResponse(f"{provider}: answer is larger than {limit} bytes", provider=provider)
    return bytes(body)


def _safe_to_resend(err: BaseException) -> bool:
    """An idempotent request is sent again after a connection failure or a passing HTTP error."""
    return isinstance(err, ProviderConnectionError) or (
        isinstance(err, ProviderStatusError) and err.status in _RETRY_STATUSES
    )


def _never_accepted(err: BaseException) -> bool:
    """Any other request only when the provider cannot have acted on it."""
    return isinstance(err, ProviderError) and err.never_accepted


async def _multipart(form: Mapping[str, FormValue]) -> tuple[bytes, str]:
    """``form`` as a multipart/form-data body, and its Content-Type. Joined into one buffer: aiohttp
    writes a form part by part, three socket writes a field (a photo's upload took some ten), and
    each write costs a system call and wakes the receiver; one buffer is sent in one or two."""
    data = aiohttp.FormData(default_to_multipart=True)
    for name, value in form.items():
        if isinstance(value, tuple):
            filename, content, content_type = value
            data.add_field(name, content, filename=filename, content_type=content_type)
        else:
            data.add_field(name, value)
    writer = data()
    return await writer.as_bytes(), writer.content_type


def _excerpt(body: bytes) -> str:
    return body[:500].decode("utf-8", errors="replace")


OrderT = TypeVar("OrderT", bound=Order)


class TaskProvider(HttpProvider, Generic[OrderT]):
    """What the job runner needs from a provider client; subclasses implement submit and query.

    What a provider can do is declared here, by the provider, and read by the bot's services
    (never by importing a client module): ``input_limits``, ``features``, ``catalogs``,
    ``takes_url``, ``cancellable``.
    """

    #: Seconds between two status queries, and how long a job may take in all.
    poll_interval: float = 1.0
    deadline: float = 300.0
    #: True when the provider fetches the input from a URL instead of taking an upload.
    takes_url: bool = False
    #: The input the provider takes (the runner scales a photo down to ``max_side``).
    input_limits: InputLimits = InputLimits()
    #: The rule for reference pictures it takes besides the photo (玩星's templates), if any.
    reference_limits: InputLimits | None = None
    #: Optional parts of an order the provider can make (an ID photo's "beauty", "outfit", ...).
    features: frozenset[str] = frozenset()
    #: Named lists of values a user picks from ("outfits", "layout_sizes", "repair_modes").
    catalogs: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    #: True when the provider calls our callback URL when a task ends (polling is then a fallback).
    calls_back: bool = False
    #: True when the provider can drop an accepted task and confirm it (MagicTiger's deletetask), so
    #: that cancelling a running job costs nothing; other providers' tasks run to the end and are paid.
    #: The user's Cancel of a running job gives the credits back only where this is True.
    cancellable: bool = False
    #: True when the provider deletes an accepted task on request (``cancel``), charged for or not:
    #: a task the bot stopped waiting for (past its deadline) is deleted, not left to run.
    drops_tasks: bool = False
    #: True when the provider checks its account-wide callback URL before using it (a GET, or a POST
    #: naming no task): such a probe gets the success answer and wakes nothing.
    probes_callback_url: bool = False
    #: Set where the provider's free previews are the finished photo, kept to be bought as it is
    #: (``TaskStatus.kept_preview``; the local engine's): how many a user may have made in an hour,
    #: so that free previews cannot keep it busy. None: it makes no such previews.
    kept_previews_per_hour: int | None = None
    #: True when the finished ID photo is framed from the photo's own pixels alone (nothing made up
    #: but a little below and beside it): a photo that ends too close below the chin for a spec's
    #: frame cannot be made, and the bot says so as the spec is picked (bot/services/idphoto/fit.py).
    frames_from_the_photo: bool = False
    #: True when submitting has no side effect (no request, no charge): an interrupted job
    #: is simply run again after a restart instead of being failed.
    rerun_safe: bool = False

    async def submit(
        self, order: OrderT, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        """Create the provider task; raises ProviderError. Never resends an accepted request.

        ``reference`` is our own id for the task (the job id), for providers that echo one back.
        """
        raise NotImplementedError

    async def query(self, task_id: str) -> TaskStatus:
        """The task's current status; raises ProviderError when it cannot be read."""
        raise NotImplementedError

    async def uses_left(self) -> int | None:
        """Paid uses left on the account, where the provider reports it (Hili); else None."""
        return None

    async def cancel(self, task_id: str) -> bool:
        """Ask the provider to drop the task; True only when it confirmed that it did."""
        return False

    def check_callback(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Extra checks of a callback beyond the per-job secret in its path."""
        return True

    def callback_job_id(self, body: bytes) -> str | None:
        """For providers with one account-wide callback URL: our job id in the callback body."""
        return None

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer()
