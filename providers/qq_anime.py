"""QQ "Different Dimension Me" anime conversion (provider document 000).

One synchronous JSON request with the photo as base64. The signature is
``x-sign-value = md5("https://h5.tu.qq.com" + str(len(body)) + "HQ31X02e")`` over the exact
JSON text that is sent. Errors come back as HTTP 200 with ``code != 0``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from typing import Annotated, Any

from pydantic import Field, Json, field_validator
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from providers.base import Answer, NonEmpty, TaskProvider, parse_answer
from providers.errors import (
    InvalidImage,
    ProviderDomainError,
    RateLimited,
)
from providers.models import InputImage, InputLimits, Phase, ResultImage, Submission, TaskStatus
from providers.orders import AnimeOrder

log = logging.getLogger(__name__)

DEFAULT_URL = "https://ai.tu.qq.com/trpc.shadow_cv.ai_processor_cgi.AIProcessorCgi/Process"
DEFAULT_BUSI_ID = "ai_painting_anime_entry"
DEFAULT_TIMEOUT = 90.0
#: 2111 VOLUMN_LIMIT: "retrying may return successfully after some retries".
VOLUME_LIMIT_RETRIES = 3
VOLUME_LIMIT_BACKOFF = 2.0
SIGN_ORIGIN = "https://h5.tu.qq.com"
SIGN_SALT = "HQ31X02e"
HEADERS = {
    "Origin": "https://h5.tu.qq.com",
    "Referer": "https://h5.tu.qq.com/",
    "User-Agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Content-Type": "application/json",
}
#: Which of the four ``img_urls`` holds each layout (document section c.1.i / c.1.ii, extra.version 2):
#: vertical: [1] two-side comparison, [2] result only; horizontal: [1] two-side (easier to crop), [2] result only.
LAYOUTS: dict[str, dict[str, int]] = {
    "vertical": {"anime": 2, "side_by_side": 1},
    "horizontal": {"anime": 2, "side_by_side": 1},
}


class _Images(Answer):
    img_urls: Annotated[list[NonEmpty], Field(min_length=1)]
    #: The transformation videos (the document's example has two); links that expire. A video is a
    #: by-product: an entry that is not a link is dropped (and logged), the finished picture kept.
    video_urls: list[str] = Field(default_factory=list)

    @field_validator("video_urls", mode="before")
    @classmethod
    def _links_only(cls, value: object) -> list[str]:
        entries = value if isinstance(value, list) else [value]
        links = [entry for entry in entries if isinstance(entry, str) and entry.startswith(("http://", "https://"))]
        if len(links) != len(entries) and value is not None:
            log.warning("qq_anime: dropped video_urls entries that are not links: %.200r", value)
        return links


class _Converted(Answer):
    """A code 0 answer: the result links are in ``extra``, a JSON document inside a string."""

    extra: Json[_Images]


class NoFace(ProviderDomainError):
    code = "no_face"


class ImageNotAllowed(ProviderDomainError):
    code = "image_not_allowed"


class RegionBlocked(ProviderDomainError):
    code = "region_blocked"


class VolumeLimit(RateLimited):
    code = "provider_busy"


class RequestRefused(ProviderDomainError):
    """-2111 AUTH_FAILED: document 000 reads it as "possibly invalid request body, missing parts
    on the request body or headers". QQ has no key to refuse: the request itself is what it no
    longer takes (its format or signature changed), which only an update of the bot can fix."""

    code = "request_refused"


def sign(body: str) -> str:
    """The ``x-sign-value`` for a request whose JSON text is ``body``."""
    return hashlib.md5(f"{SIGN_ORIGIN}{len(body)}{SIGN_SALT}".encode()).hexdigest()


def _error(code: int, message: str, data: Any) -> Exception:
    if code == 1001:
        return NoFace(f"qq_anime: {message}", provider="qq_anime", data=data)
    if code == 2114:
        return ImageNotAllowed(f"qq_anime: {message}", provider="qq_anime", data=data)
    if code == 2111:
        return VolumeLimit(f"qq_anime: {message}", status=2111, provider="qq_anime", data=data, never_accepted=True)
    if code == 2119:
        return RegionBlocked(f"qq_anime: {message}", provider="qq_anime", data=data)
    if code == -2100:
        return InvalidImage(f"qq_anime: {message}", provider="qq_anime", data=data)
    if code == -2111:
        return RequestRefused(f"qq_anime: {message} (request not accepted)", provider="qq_anime", data=data)
    return ProviderDomainError(f"qq_anime: code {code} {message}", provider="qq_anime", data=data)


class QQAnimeClient(TaskProvider[AnimeOrder]):
    name = "qq_anime"
    deadline = 600.0
    #: Large photos are answered with 2111 VOLUMN_LIMIT; a phone-screen size converts well.
    # The document: gif, webp and other uncommon formats seem to be refused (-2100).
    input_limits = InputLimits(max_side=1600, formats=frozenset({"JPEG", "PNG"}))
    #: The endpoint is free and keeps nothing: asking again costs no one anything, so failed
    #: requests are retried and a job interrupted by a restart is simply run again.
    rerun_safe = True

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        busi_id: str = DEFAULT_BUSI_ID,
        timeout: float = DEFAULT_TIMEOUT,
        volume_limit_retries: int = VOLUME_LIMIT_RETRIES,
        volume_limit_backoff: float = VOLUME_LIMIT_BACKOFF,
        proxy: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, proxy=proxy, **kwargs)
        self.url = url
        self.busi_id = busi_id
        self.volume_limit_retries = volume_limit_retries
        self.volume_limit_backoff = volume_limit_backoff
        self.proxied = bool(proxy)

    def body(self, image: bytes, busi_id: str | None = None) -> str:
        extra = {
            "face_rects": [],
            "version": 2,
            "platform": "web",
            "data_report": {"parent_trace_id": str(uuid.uuid4()), "root_channel": "", "level": 1},
        }
        return json.dumps(
            {
                "busiId": busi_id or self.busi_id,
                "images": [base64.b64encode(image).decode()],
                "extra": json.dumps(extra),
            }
        )

    async def convert(self, image: bytes, *, busi_id: str | None = None) -> _Images:
        """The four ``img_urls`` for the photo; raises a typed error for each documented code."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.volume_limit_retries + 1),
            wait=wait_random_exponential(multiplier=self.volume_limit_backoff, max=30),
            retry=retry_if_exception_type(VolumeLimit),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._convert_once(image, busi_id)
        raise AssertionError("unreachable")

    async def _convert_once(self, image: bytes, busi_id: str | None) -> _Images:
        text = self.body(image, busi_id)
        headers = {**HEADERS, "x-sign-value": sign(text), "x-sign-version": "v1"}
        answer = await self.request_json("POST", self.url, idempotent=True, headers=headers, content=text.encode())
        code = answer.get("code")
        if code != 0:
            error = _error(code if isinstance(code, int) else -1, str(answer.get("msg", "")), answer)
            if isinstance(error, RequestRefused):
                log.warning("qq_anime refused the request itself (-2111): %.300r", answer)
            if isinstance(error, RegionBlocked) and not self.proxied:
                log.warning(
                    "qq_anime refuses requests from this region; set providers.qq_anime.proxy "
                    "to a proxy in mainland China, or use the overseas url and busi_id"
                )
            raise error
        return parse_answer(_Converted, answer, self.name).extra

    async def submit(
        self, order: AnimeOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or image.data is None:
            raise ValueError("qq_anime needs the photo's bytes")
        converted = await self.convert(image.data, busi_id=order.busi_id or None)
        urls = converted.img_urls
        index = LAYOUTS[order.orientation][order.layout]
        chosen = urls[min(index, len(urls) - 1)]
        videos = tuple(converted.video_urls[:1])
        status = TaskStatus(Phase.DONE, progress=100, images=(ResultImage(url=chosen),), videos=videos)
        return Submission(task_id=f"sync-{uuid.uuid4().hex}", status=status)

    async def query(self, task_id: str) -> TaskStatus:
        """A synchronous task has no status to ask for: its answer was lost with a restart."""
        error = ProviderDomainError("qq_anime: synchronous result not kept across a restart", provider=self.name)
        return TaskStatus(Phase.FAILED, error=error)
