"""Hili PhotoEnhance (provider document 002): upscale, repair, colorize, ID photo background.

Every call is a multipart POST with header ``token = md5(secret_key + ts) + "," + ts``
(a fresh timestamp for each attempt, retries included: it is valid two minutes) and the field ``third_code``.
``code == 200`` is success; ``code == 9000`` is failure with an ``errno``.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Literal

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from providers.base import Answer, FormValue, NonEmpty, TaskProvider, WebUrl, parse_answer
from providers.errors import (
    AuthenticationError,
    BadResponse,
    InvalidImage,
    ProviderDomainError,
    ProviderStatusError,
    UnexpectedStatus,
)
from providers.models import InputImage, Phase, ResultImage, Submission, TaskStatus
from providers.orders import RepairOrder

DEFAULT_BASE_URL = "http://sdkphoto.fangtangtv.com"
DEFAULT_TIMEOUT = 60.0
POLL_INTERVAL = 2.0
#: Results are deleted after one hour; a task not done by then is lost anyway.
DEADLINE = 1800.0
#: Uploads tried again after errno 9006 "上传失败" (upload failed), which the document says is not
#: charged ("上传失败不扣费"): Hili did not take the photo, so sending it again cannot charge twice.
UPLOAD_FAILED_RETRIES = 2
NUMS_PATH = "/api/third/company/nums"
REPAIR_TYPES = {"upscale": "sr", "repair": "sr,repair", "colorize": "sr,repair,colour", "background": "bg"}
_RGB = re.compile(r"^(\d{1,3}),(\d{1,3}),(\d{1,3})$")


class _Envelope(Answer):
    """Every answer: code 200 with data, or 9000 with the error's errno and msg."""

    code: int
    errno: object = None
    msg: object = ""
    data: object = None


class _Uploaded(Answer):
    mdf: NonEmpty


class _Status(Answer):
    #: 100 while working, 200 when done.
    status: Literal[100, 200]


class _Download(Answer):
    url: WebUrl


class _Nums(Answer):
    nums: int


class QuotaExhausted(ProviderDomainError):
    """9101: no uploads left on the account."""

    code = "provider_quota"


class UnsupportedFileType(InvalidImage):
    code = "unsupported_format"


class UploadFailed(ProviderDomainError):
    code = "upload_failed"


class ResultExpired(ProviderDomainError):
    code = "result_expired"


class OtherError(ProviderDomainError):
    """errno 500, "其他错误" (another error): Hili's own failure, reported in a well-formed answer."""

    code = "provider_failed"


class OtherQueryError(UnexpectedStatus):
    """errno 500 to a status or download query of a photo Hili already has (and charged for): the
    document says no more than "another error", and asking is free, so it is taken for a passing
    glitch a few times in a row (the job runner's MAX_BAD_ANSWERS) before the job fails with it."""

    code = OtherError.code


def token(secret_key: str, timestamp: str) -> str:
    """The ``token`` header: ``md5(secret_key + timestamp) + "," + timestamp``."""
    return hashlib.md5((secret_key + timestamp).encode("utf8")).hexdigest() + "," + timestamp


def _error(errno: Any, message: str, data: Any, path: str = "") -> Exception:
    kw = {"provider": "hili", "data": data}
    if errno == 9999:
        return AuthenticationError(f"hili: {message}", status=401, **kw)
    if errno == 9002 and path == NUMS_PATH:
        # "数据未找到" (no data found) for the account itself: third_code names no account at Hili.
        return AuthenticationError(f"hili: no account for this third_code: {message}", status=401, **kw)
    if errno == 9101:
        return QuotaExhausted(f"hili: {message}", **kw)
    if errno == 9001:
        return ProviderStatusError(f"hili: {message}", status=400, **kw)
    if errno == 9005:
        return UnsupportedFileType(f"hili: {message}", **kw)
    if errno == 9006:
        return UploadFailed(f"hili: {message}", never_accepted=True, **kw)
    if errno == 9009:
        return InvalidImage(f"hili: {message}", **kw)
    if errno == 9002:
        return ResultExpired(f"hili: {message}", **kw)
    if errno == 500:
        return OtherError(f"hili: errno 500 {message}", **kw)
    return ProviderDomainError(f"hili: errno {errno} {message}", **kw)


def rgb_field(value: str) -> str:
    """Validates "R,G,B" (0..255 each) as the API's ``rgb`` field."""
    match = _RGB.match(value.replace(" ", ""))
    if not match or any(int(v) > 255 for v in match.groups()):
        raise ValueError(f"not an R,G,B colour: {value!r}")
    return ",".join(str(int(v)) for v in match.groups())


class HiliClient(TaskProvider[RepairOrder]):
    name = "hili"
    catalogs = MappingProxyType({"repair_modes": tuple(REPAIR_TYPES)})

    def __init__(
        self,
        third_code: str,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        deadline: float = DEADLINE,
        clock: Callable[[], float] = time.time,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.third_code = third_code
        self._secret_key = secret_key
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.deadline = deadline
        self._clock = clock

    async def _call(
        self, path: str, fields: dict[str, str], *, idempotent: bool, file: tuple[str, bytes, str] | None = None
    ) -> Any:
        parts: dict[str, FormValue] = {"third_code": self.third_code, **fields}
        if file is not None:
            parts["file"] = file
        body = await self.request_json(
            "POST", f"{self.base_url}{path}", idempotent=idempotent, headers=self._headers, form=parts
        )
        envelope = parse_answer(_Envelope, body, self.name)
        if envelope.code == 200:
            return envelope.data
        if envelope.code == 9000:
            raise _error(envelope.errno, str(envelope.msg), body, path)
        raise BadResponse(f"hili: unexpected code {envelope.code}", provider=self.name, data=body)

    def _headers(self) -> dict[str, str]:
        """A fresh token for every attempt, retries included: it is valid for two minutes only, and
        a third attempt after two slow ones would otherwise be refused as a bad credential."""
        return {"token": token(self._secret_key, str(int(self._clock())))}

    async def upload(self, image: bytes, repair_type: str, rgb: str | None = None) -> str:
        """Upload for processing (this is what Hili charges, unless it fails); returns the ``mdf``."""
        if repair_type not in REPAIR_TYPES.values():
            raise ValueError(f"unknown repair_type {repair_type!r}")
        fields = {"repair_type": repair_type}
        if repair_type == "bg":
            if rgb is None:
                raise ValueError("rgb is required with repair_type bg")
            fields["rgb"] = rgb_field(rgb)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(UPLOAD_FAILED_RETRIES + 1),
            wait=self._wait,
            retry=retry_if_exception_type(UploadFailed),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                data = await self._call(
                    "/api/third/photo/upload", fields, idempotent=False, file=("photo.jpg", image, "image/jpeg")
                )
                return parse_answer(_Uploaded, data, self.name).mdf
        raise AssertionError("unreachable")

    async def status(self, mdf: str) -> int:
        data = await self._call("/api/third/photo/status", {"mdf": mdf}, idempotent=True)
        return parse_answer(_Status, data, self.name).status

    async def download_url(self, mdf: str) -> str:
        data = await self._call("/api/third/photo/download", {"mdf": mdf}, idempotent=True)
        return parse_answer(_Download, data, self.name).url

    async def remaining(self) -> int:
        """How many uploads the account has left (``/api/third/company/nums``)."""
        data = await self._call(NUMS_PATH, {}, idempotent=True)
        return parse_answer(_Nums, data, self.name).nums

    async def submit(
        self, order: RepairOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or image.data is None:
            raise ValueError("hili needs the photo's bytes")
        if order.mode not in REPAIR_TYPES:
            raise ValueError(f"unknown repair mode {order.mode}")
        return Submission(task_id=await self.upload(image.data, REPAIR_TYPES[order.mode], order.rgb))

    async def uses_left(self) -> int | None:
        return await self.remaining()

    async def query(self, task_id: str) -> TaskStatus:
        try:
            if await self.status(task_id) == 100:
                return TaskStatus(Phase.PENDING, progress=50)
            url = await self.download_url(task_id)
        except OtherError as err:
            raise OtherQueryError(str(err), provider=self.name, data=err.data) from err
        except ProviderDomainError as err:
            return TaskStatus(Phase.FAILED, error=err)
        return TaskStatus(Phase.DONE, progress=100, images=(ResultImage(url=url),))
