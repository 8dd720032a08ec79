"""玩星 AI 写真: the user's face onto a template portrait (provider document 001).

Asynchronous: ``POST {base}/swapface`` with ``source_url``, ``target_url``, ``notify_url`` and
``timeout``; the result is POSTed to ``notify_url`` (which must answer HTTP 200 with the body
``successfully``), and ``POST {base}/query`` reports ``job_status``. Requests go through
Alibaba Cloud API Gateway, signed with AppKey/AppSecret or sent with an APPCODE.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from providers.base import Answer, NonEmpty, TaskProvider, WebUrl, parse_answer
from providers.errors import (
    AuthenticationError,
    BadResponse,
    ProviderDomainError,
    ProviderStatusError,
    QuotaExceeded,
    RateLimited,
    UnexpectedStatus,
)
from providers.models import CallbackAnswer, InputImage, InputLimits, Phase, ResultImage, Submission, TaskStatus
from providers.orders import PortraitOrder

DEFAULT_BASE_URL = "https://swapface-api.segapi.com"
DEFAULT_TIMEOUT = 30.0
#: The document: a task takes 30-60 s, more when queued; its own default timeout is 7200 s.
DEFAULT_TASK_TIMEOUT = 600
POLL_INTERVAL = 5.0
#: Recommended input sizes: 640..2500 px for the user photo, 800..2000 px for templates.
SOURCE_MIN_SIDE, SOURCE_MAX_SIDE = 640, 2500
ACCEPT = "application/json"
CONTENT_TYPE = "application/json; charset=utf-8"
_PROGRESS = {"pending": 10, "preparing": 30, "running": 60}
#: Words in the gateway's X-Ca-Error-Message when it refuses the bot's credentials ("Invalid
#: Signature", "Invalid AppKey", "Invalid AppCode", ...); it answers such requests with HTTP 400.
_CREDENTIAL_WORDS = ("signature", "appkey", "appsecret", "appcode", "unauthorized")
#: API Gateway's 403s that are not about credentials (its error code table): flow control, which
#: passes, and an account out of paid calls, which only the operator can fix.
_THROTTLED = "throttled by"
_QUOTA_MESSAGES = ("quota exhausted", "quota expired", "user arrears", "expiry of authorization")


class _Created(Answer):
    job_id: NonEmpty


class _Job(Answer):
    job_status: Literal["pending", "preparing", "running", "finish", "fail"]
    result_url: list[WebUrl] | None = None
    reason: object = None
    code: object = None


@dataclass(frozen=True)
class GatewayCredentials:
    """AppKey + AppSecret (signature) or an AppCode; exactly one way is used."""

    app_key: str = ""
    app_secret: str = ""
    app_code: str = ""


def string_to_sign(method: str, path: str, headers: Mapping[str, str], signed: list[str], content_md5: str) -> str:
    """API Gateway's stringToSign: METHOD, Accept, Content-MD5, Content-Type, Date, then each
    signed header as ``name:value`` in sorted order, then the path (no query or form here)."""
    lines = [
        method.upper(),
        headers.get("Accept", ""),
        content_md5,
        headers.get("Content-Type", ""),
        headers.get("Date", ""),
    ]
    text = "\n".join(lines) + "\n"
    text += "".join(f"{name}:{headers[name]}\n" for name in sorted(signed))
    return text + path


def sign(app_secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).digest()).decode()


def gateway_headers(
    credentials: GatewayCredentials,
    method: str,
    url: str,
    body: bytes,
    *,
    timestamp_ms: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers for one request: an APPCODE, or the AppKey/AppSecret signature."""
    headers = {"Accept": ACCEPT, "Content-Type": CONTENT_TYPE}
    if credentials.app_code:
        return {**headers, "Authorization": f"APPCODE {credentials.app_code}"}
    content_md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    headers.update(
        {
            "Content-MD5": content_md5,
            "X-Ca-Key": credentials.app_key,
            "X-Ca-Timestamp": str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)),
            "X-Ca-Nonce": nonce or str(uuid.uuid4()),
            "X-Ca-Signature-Method": "HmacSHA256",
        }
    )
    signed = ["X-Ca-Key", "X-Ca-Nonce", "X-Ca-Signature-Method", "X-Ca-Timestamp"]
    headers["X-Ca-Signature-Headers"] = ",".join(signed)
    path = urlsplit(url).path or "/"
    headers["X-Ca-Signature"] = sign(credentials.app_secret, string_to_sign(method, path, headers, signed, content_md5))
    return headers


class WanxingClient(TaskProvider[PortraitOrder]):
    name = "wanxing"
    takes_url = True
    calls_back = True
    # The document: source_url is a jpg or png of 640..2500 px a side.
    # Templates (target_url): jpg or png of 800..2000 px a side.
    reference_limits = InputLimits(min_side=800, max_side=2000, formats=frozenset({"JPEG", "PNG"}))
    input_limits = InputLimits(min_side=SOURCE_MIN_SIDE, max_side=SOURCE_MAX_SIDE, formats=frozenset({"JPEG", "PNG"}))

    def __init__(
        self,
        credentials: GatewayCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        task_timeout: int = DEFAULT_TASK_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.task_timeout = task_timeout
        self.poll_interval = poll_interval
        # The provider stops the task at its timeout and notifies us; a little later we stop waiting.
        self.deadline = deadline if deadline is not None else float(task_timeout) + 60.0

    def http_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderStatusError:
        """The gateway explains its refusals in ``X-Ca-Error-Message`` (answers the backend made
        itself carry none): throttling is passing (retried with backoff, never accepted), an account
        out of calls or in arrears is the operator's, and only a signature, key or AppCode error is
        about credentials. Any other 4xx is a plain refusal, whatever its status."""
        reason = headers.get("X-Ca-Error-Message", "")
        words = reason.lower()
        if reason and words.startswith(_THROTTLED):
            return RateLimited(f"wanxing: {reason}", status=429, provider=self.name, data=reason, never_accepted=True)
        if reason and any(words.startswith(message) for message in _QUOTA_MESSAGES):
            return QuotaExceeded(f"wanxing: {reason}", status=status, provider=self.name, data=reason)
        if reason and status in (400, 401, 403) and any(w in words.replace(" ", "") for w in _CREDENTIAL_WORDS):
            return AuthenticationError(
                f"wanxing: the gateway refused the credentials: {reason}",
                status=status,
                provider=self.name,
                data=reason,
            )
        if status == 403:  # not a credential problem the gateway named: not taken for one
            return ProviderStatusError(
                f"wanxing: HTTP 403 {reason}".strip(), status=status, provider=self.name, data=reason
            )
        return super().http_error(status, headers, body)

    async def _post(self, path: str, payload: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        body = json.dumps(payload).encode()
        # Signed for each attempt: the gateway refuses a nonce it has seen ("Nonce Used").
        return await self.request_json(
            "POST",
            url,
            idempotent=idempotent,
            headers=lambda: gateway_headers(self.credentials, "POST", url, body),
            content=body,
        )

    async def submit(
        self, order: PortraitOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or not image.url or not callback_url:
            raise ValueError("wanxing needs the photo's URL and a notify_url")
        if not isinstance(order.target_url, str):
            raise ValueError("wanxing needs the template's URL, not a stored file")
        payload = {
            "source_url": image.url,
            "target_url": order.target_url,
            "notify_url": callback_url,
            "timeout": self.task_timeout,
        }
        answer = await self._post("/swapface", payload, idempotent=False)
        if answer.get("status") != 0:
            raise ProviderStatusError(
                f"wanxing: {answer.get('error')} {answer.get('errmsg')}",
                status=400 if answer.get("error") == "InvalidArguments" else 502,
                provider=self.name,
                data=answer,
            )
        return Submission(task_id=parse_answer(_Created, answer.get("data"), self.name).job_id)

    async def query(self, task_id: str) -> TaskStatus:
        answer = await self._post("/query", {"job_id": task_id}, idempotent=True)
        data = answer.get("data")
        if answer.get("status") != 0 or not isinstance(data, dict):
            # Not a failed job (that is job_status "fail"): asked again a few times.
            raise UnexpectedStatus(f"wanxing: query status {answer.get('status')}", provider=self.name, data=answer)
        job = parse_answer(_Job, data, self.name)
        if job.job_status == "finish":
            if not job.result_url:
                raise BadResponse("wanxing: finished without result_url", provider=self.name, data=answer)
            images = (ResultImage(url=job.result_url[0]),)
            return TaskStatus(Phase.DONE, progress=100, images=images, raw_state=job.job_status)
        if job.job_status == "fail":
            error = ProviderDomainError(f"wanxing: {job.reason} ({job.code})", provider=self.name, data=data)
            return TaskStatus(Phase.FAILED, error=error, raw_state=job.job_status)
        return TaskStatus(Phase.PENDING, progress=_PROGRESS[job.job_status], raw_state=job.job_status)

    def callback_answer(self) -> CallbackAnswer:
        """The document: answer HTTP 200 with the body "successfully", or it is sent again."""
        return CallbackAnswer(body=b"successfully", content_type="text/plain")
