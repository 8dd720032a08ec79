"""A fake 玩星 AI portrait API (provider document 001) behind a fake API Gateway, on 127.0.0.1.

The gateway part accepts ``Authorization: APPCODE <code>`` or an AppKey/AppSecret signature,
recomputed here from the received headers (stringToSign as API Gateway documents it) with a
Content-MD5 check. ``/swapface`` fetches source_url and target_url, the job moves pending ->
preparing -> running -> finish, and the result is POSTed to notify_url, again up to 10 times
until the answer is HTTP 200 with the body "successfully". ``/query`` reports job_status.
As the document says, a job not finished at its ``timeout`` (seconds, 7200 when not given) is
stopped, and the timeout error is sent to notify_url; result URLs live 24 hours. Both are
measured on ``clock``, which a test may replace with a ManualClock and move.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeService

STEPS = ("pending", "preparing", "running", "finish")
RESULT_SIZE = (1024, 1365)
#: Document 001: the task timeout when the request gives none, and how long result URLs live.
DEFAULT_TIMEOUT = 7200
RESULT_LIFETIME = 24 * 3600
#: The failure a job stopped at its timeout is notified (and queried) with. The document says a
#: timeout error is sent but names neither its status nor its error name: these are the fake's.
TIMED_OUT = (-20001, "Timeout")


@dataclass
class Job:
    job_id: str
    fields: dict[str, Any]
    step: int = 0
    fail: tuple[int, str] | None = None
    notify_answers: list[Any] = field(default_factory=list)
    #: When it was accepted and when it finished, on the fake's clock.
    started: float = 0.0
    finished: float | None = None

    @property
    def status(self) -> str:
        if self.fail and self.step >= len(STEPS) - 1:
            return "fail"
        return STEPS[min(self.step, len(STEPS) - 1)]


class FakeWanxing(FakeService):
    def __init__(
        self,
        app_key: str = "203753",
        app_secret: str = "wanxing-secret",
        app_code: str = "wanxing-appcode",
        step_seconds: float = 0.03,
    ) -> None:
        self.app_key, self.app_secret, self.app_code = app_key, app_secret, app_code
        self.step_seconds = step_seconds
        app = web.Application()
        app.router.add_post("/swapface", self._swapface, name="swapface")
        app.router.add_post("/query", self._query, name="query")
        app.router.add_get("/result/{name}", self._result, name="result")
        super().__init__(app)
        self.jobs: dict[str, Job] = {}
        self.requests: list[dict[str, Any]] = []
        self.auth_used: list[str] = []
        self.fetched: dict[str, tuple[int, int]] = {}
        self.next_failure: tuple[int, str] | None = None
        self.hold = False
        self.notify_retry_seconds = 0.02
        self._nonces: set[str] = set()
        #: Gateway refusals for the next signed requests, as (HTTP status, X-Ca-Error-Message).
        self.gateway_errors: list[tuple[int, str]] = []
        #: Every X-Ca-Error-Message the gateway answered.
        self.refusals: list[str] = []
        #: /query answers 503 this many times after taking the request's nonce.
        self.queries_unavailable = 0
        #: Bodies /query answers with, one per query, before answering normally again.
        self.odd_queries: list[dict[str, Any]] = []
        #: The clock of the jobs' timeouts and the results' lifetime.
        self.clock: Callable[[], float] = time.time

    @property
    def base_url(self) -> str:
        return self.server.url

    # --- the gateway -------------------------------------------------------------------

    def _authorised(self, request: web.Request, body: bytes) -> tuple[str | None, str]:
        """Which credential passed ("appcode" or "signature"), or None and the gateway's
        X-Ca-Error-Message for it (API Gateway's error code table)."""
        headers = request.headers
        if headers.get("Authorization", "").startswith("APPCODE "):
            if headers["Authorization"] == f"APPCODE {self.app_code}":
                return "appcode", ""
            return None, "Invalid AppCode"
        if headers.get("X-Ca-Key") != self.app_key:
            return None, "Invalid AppKey"
        if headers.get("X-Ca-Signature-Method") != "HmacSHA256":
            return None, "Invalid Signature Method"
        if headers.get("Content-MD5") != base64.b64encode(hashlib.md5(body).digest()).decode():
            return None, "Invalid Content-MD5"
        stamp, nonce = headers.get("X-Ca-Timestamp", ""), headers.get("X-Ca-Nonce", "")
        if not stamp.isdigit():
            return None, "Invalid Timestamp"
        if abs(time.time() * 1000 - int(stamp)) > 15 * 60 * 1000:
            return None, "Timestamp Expired"
        if not nonce:
            return None, "Invalid Nonce"
        if nonce in self._nonces:
            return None, "Nonce Used"
        signed = [h for h in headers.get("X-Ca-Signature-Headers", "").split(",") if h]
        if sorted(signed) != ["X-Ca-Key", "X-Ca-Nonce", "X-Ca-Signature-Method", "X-Ca-Timestamp"]:
            return None, "Invalid Signature"
        text = (
            "\n".join(
                [
                    request.method,
                    headers.get("Accept", ""),
                    headers.get("Content-MD5", ""),
                    headers.get("Content-Type", ""),
                    headers.get("Date", ""),
                ]
            )
            + "\n"
        )
        text += "".join(f"{name}:{headers.get(name, '')}\n" for name in sorted(signed)) + request.path
        expected = base64.b64encode(hmac.new(self.app_secret.encode(), text.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, headers.get("X-Ca-Signature", "")):
            return None, "Invalid Signature, Server StringToSign:`" + text.replace("\n", "#") + "`"
        self._nonces.add(nonce)
        return "signature", ""

    @staticmethod
    def _gateway_error(status: int, message: str) -> web.Response:
        return web.Response(status=status, headers={"X-Ca-Error-Message": message, "X-Ca-Error-Code": "A403XX"})

    async def _read(self, request: web.Request) -> dict[str, Any] | web.Response:
        body = await request.read()
        how, refusal = self._authorised(request, body)
        if how is None:
            self.refusals.append(refusal)
            status = 401 if refusal == "Empty Signature" else 400
            return self._gateway_error(status, refusal)
        if self.gateway_errors:  # flow control, quota, arrears: checked after the signature
            status, message = self.gateway_errors.pop(0)
            self.refusals.append(message)
            return self._gateway_error(status, message)
        self.auth_used.append(how)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return self._invalid()
        self.requests.append(payload)
        return payload

    @staticmethod
    def _invalid() -> web.Response:
        return web.json_response({"status": -310001, "error": "InvalidArguments", "errmsg": "参数错误"})

    # --- the API ------------------------------------------------------------------------

    async def _fetch(self, url: str) -> tuple[int, int] | None:
        try:
            data = (await self._http.get(url)).raise_for_status().content
            with Image.open(io.BytesIO(data)) as img:
                return img.size if img.format in ("JPEG", "PNG") else None
        except (httpx.HTTPError, OSError, ValueError, SyntaxError):  # what a broken download or a non-image raises
            return None

    async def _fetch_photos(self, job: Job) -> bool:
        for key in ("source_url", "target_url"):
            size = await self._fetch(job.fields[key])
            if size is None:
                return False
            self.fetched[key] = size
        return True

    async def _swapface(self, request: web.Request) -> web.Response:
        payload = await self._read(request)
        if isinstance(payload, web.Response):
            return payload
        urls = [payload.get(k) for k in ("source_url", "target_url", "notify_url")]
        timeout = payload.get("timeout", DEFAULT_TIMEOUT)
        if (
            not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls)
            or type(timeout) not in (int, float)
            or timeout <= 0
        ):
            return self._invalid()
        job = Job(uuid.uuid4().hex, payload, fail=self.next_failure, started=self.clock())
        self.next_failure = None
        self.jobs[job.job_id] = job
        self.spawn(self._run(job))
        return web.json_response({"status": 0, "errmsg": "SUCCESSFULLY", "error": "", "data": {"job_id": job.job_id}})

    async def _run(self, job: Job) -> None:
        """A queued job starts when it is not held; only then are its photos fetched (a queue can
        hold it for up to its timeout, so links must outlive that)."""
        timeout = job.fields.get("timeout", DEFAULT_TIMEOUT)
        while job.status not in ("finish", "fail"):
            await asyncio.sleep(self.step_seconds)
            if self.clock() - job.started >= timeout:  # "到达超时时间后，本任务就不再执行"
                job.fail, job.step = TIMED_OUT, len(STEPS) - 1
                await self.changed()
                break
            if self.hold:
                continue
            if job.step == 0 and not await self._fetch_photos(job):
                job.fail, job.step = (-10001, "DownloadImageFailed"), len(STEPS) - 1
            else:
                job.step += 1
            await self.changed()
        if job.status == "finish":
            job.finished = self.clock()
            note = {"job_id": job.job_id, "status": 0, "data": {"result_url": [self._result_url(job)]}}
        else:
            note = {"job_id": job.job_id, "status": job.fail[0], "error": job.fail[1], "data": {}}
        for _attempt in range(11):  # the first try and up to 10 more
            try:
                response = await self._http.post(job.fields["notify_url"], json=note)
                answer: Any = (response.status_code, response.text)
            except httpx.HTTPError:
                answer = None
            job.notify_answers.append(answer)
            await self.changed()
            if answer == (200, "successfully"):
                return
            await asyncio.sleep(self.notify_retry_seconds)

    def _result_url(self, job: Job) -> str:
        return f"{self.server.url}/result/{job.job_id}.jpg"

    async def _query(self, request: web.Request) -> web.Response:
        payload = await self._read(request)
        if isinstance(payload, web.Response):
            return payload
        if self.queries_unavailable:
            self.queries_unavailable -= 1
            return self._gateway_error(503, "Service Unavailable")
        if self.odd_queries:  # a well-formed answer that is not a job's status
            body = self.odd_queries.pop(0)
            await self.changed()
            return web.json_response(body)
        job = self.jobs.get(str(payload.get("job_id")))
        if job is None:
            return self._invalid()
        data: dict[str, Any] = {"job_status": job.status}
        if job.status == "finish":
            data["result_url"] = [self._result_url(job)]
        elif job.status == "fail":
            data.update(reason=job.fail[1], code=job.fail[0])
        return web.json_response({"status": 0, "data": data})

    async def _result(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["name"].removesuffix(".jpg"))
        if job is None or job.status != "finish":
            raise web.HTTPNotFound()
        if job.finished is not None and self.clock() - job.finished > RESULT_LIFETIME:
            raise web.HTTPNotFound()  # "有效期为24小时"
        out = io.BytesIO()
        Image.new("RGB", RESULT_SIZE, "#c8a2c8").save(out, "JPEG", quality=90)
        return web.Response(body=out.getvalue(), content_type="image/jpeg")
