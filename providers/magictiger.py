"""MagicTiger image API (provider document 003): enhancement with a visible queue.

The document names operations (``createtask``, ``gettask``, ``deletetask``) but not their
URLs, the authentication header, nor the numbers behind "Enhance Type" and "Task Status".
All of those come from configuration; this module only assumes what the document says:
JSON requests, ``code == 0`` for success, the fields of each answer, and the callback's
``token`` header and expected answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.base import JSON_ERRORS, Answer, NonEmpty, TaskProvider, parse_answer
from providers.comparing import same_secret
from providers.errors import (
    BadResponse,
    ImageTooLarge,
    InputDownloadFailed,
    InvalidImage,
    ProviderDomainError,
    ProviderError,
    ProviderStatusError,
    UnexpectedStatus,
)
from providers.models import CallbackAnswer, InputImage, InputLimits, Phase, ResultImage, Submission, TaskStatus
from providers.orders import EnhanceOrder

DEFAULT_TIMEOUT = 30.0
POLL_INTERVAL = 2.0
DEADLINE = 1800.0
#: The document's limits: at most 20 MB, each side 64..9216 px.
MAX_SIDE = 9216
CALLBACK_ANSWER = b'{"code": 0, "msg": "", "data": {"success": true}}'
#: Whether a deleted task costs nothing, so that a user's Cancel may give the credits back. The
#: document does not say so (insufficient balance is a createtask error: a task is charged when
#: created); only the operator's terms can (``providers.magictiger.cancellable``).
CANCELLABLE = False


class InsufficientBalance(ProviderDomainError):
    code = "provider_quota"


class TaskGone(ProviderDomainError):
    code = "result_expired"


class UnsupportedFileType(InvalidImage):
    code = "unsupported_format"


_ERRORS: dict[int, type[ProviderDomainError]] = {
    1001001: ProviderDomainError,  # Create task failed
    1001002: InputDownloadFailed,  # Validate picurl fail
    1001003: ImageTooLarge,  # Image too large
    1001004: UnsupportedFileType,  # Unsupport file types
    1003002: InsufficientBalance,  # Insufficient balance
    1002001: TaskGone,  # Task not exist
    1002002: TaskGone,  # Task was deleted
}


@dataclass(frozen=True)
class MagicTigerApi:
    """Everything the document leaves to configuration."""

    base_url: str
    api_token: str
    auth_header: str = "token"
    operations: Mapping[str, str] = field(
        default_factory=lambda: {"createtask": "createtask", "gettask": "gettask", "deletetask": "deletetask"}
    )
    #: "Task Status" values that mean finished and failed; any other value is still in progress.
    done_status: tuple[int, ...] = ()
    failed_status: tuple[int, ...] = ()
    #: Name of a createtask field that carries a per-task callback URL, if the account has one.
    callback_param: str = ""


def _fetchable(url: str | None) -> bool:
    return url is not None and url.startswith(("http://", "https://"))


class _Created(Answer):
    taskid: NonEmpty
    #: The task's place in the queue, which the user sees at once.
    queuenum: int | None = None


class _Face(Answer):
    outputurl: str | None = None


class _Task(Answer):
    status: int
    queuenum: int | None = None
    errorcode: int | None = None
    errormsg: str | None = None
    #: One output per face for face operations, else one ``outputurl`` for the whole photo.
    facelist: list[_Face] | None = None
    outputurl: str | None = None


class UnknownQueryCode(UnexpectedStatus):
    """A gettask answer with a code document 003 does not list for it: asking is free and the task
    is already paid for, so it is taken for a passing glitch a few times in a row (the job runner's
    MAX_BAD_ANSWERS) before the job fails with it."""

    code = ProviderStatusError.code


def _error(code: int, message: str, data: Any, *, query: bool = False) -> ProviderError:
    error_type = _ERRORS.get(code)
    if error_type is None and query:
        return UnknownQueryCode(f"magictiger: code {code} {message}", provider="magictiger", data=data)
    if error_type is None:
        return ProviderStatusError(f"magictiger: code {code} {message}", status=code, provider="magictiger", data=data)
    return error_type(f"magictiger: {message or code}", provider="magictiger", data=data)


class MagicTigerClient(TaskProvider[EnhanceOrder]):
    name = "magictiger"
    takes_url = True
    calls_back = True
    cancellable = CANCELLABLE
    drops_tasks = True
    probes_callback_url = True  # document 003: "We will validate your url first"
    input_limits = InputLimits(max_side=MAX_SIDE, max_bytes=20 * 1024 * 1024)

    def __init__(
        self,
        api: MagicTigerApi,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = POLL_INTERVAL,
        deadline: float = DEADLINE,
        cancellable: bool = CANCELLABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.api = api
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.cancellable = cancellable

    async def _call(self, operation: str, payload: dict[str, Any], *, idempotent: bool) -> Any:
        url = f"{self.api.base_url.rstrip('/')}/{self.api.operations[operation]}"
        headers = {self.api.auth_header: self.api.api_token}
        body = await self.request_json("POST", url, idempotent=idempotent, headers=headers, json_body=payload)
        code = body.get("code")
        if code != 0:
            query = operation == "gettask"
            raise _error(code if isinstance(code, int) else -1, str(body.get("msg", "")), body, query=query)
        return body.get("data")

    async def submit(
        self, order: EnhanceOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or not image.url:
            raise ValueError("magictiger fetches the photo from a URL")
        payload: dict[str, Any] = {"picurl": image.url, "type": order.type}
        if reference:
            payload["chtaskid"] = reference
        if self.api.callback_param and callback_url:
            payload[self.api.callback_param] = callback_url
        data = await self._call("createtask", payload, idempotent=False)
        created = parse_answer(_Created, data, self.name)
        # The task id carries the type, which gettask needs as well, and what its facelist holds.
        task_id = json.dumps({"taskid": created.taskid, "type": order.type, "outputs": order.outputs})
        queued = TaskStatus(Phase.PENDING, queue_position=created.queuenum) if created.queuenum else None
        return Submission(task_id=task_id, status=queued)

    async def query(self, task_id: str) -> TaskStatus:
        ref = json.loads(task_id)
        try:
            data = await self._call("gettask", {"taskid": ref["taskid"], "type": ref["type"]}, idempotent=True)
        except TaskGone as err:
            return TaskStatus(Phase.FAILED, error=err)
        return self.parse_task(data, outputs=ref.get("outputs", "image"))

    def parse_task(self, data: Any, *, outputs: str = "image") -> TaskStatus:
        """A task's status; when done, its images: for Colorize ("list") every output image, else
        the whole enhanced image first and the face close-ups after it, as extras."""
        task = parse_answer(_Task, data, self.name)
        status = task.status
        if status in self.api.failed_status:
            error = _error(task.errorcode or 0, task.errormsg or "", data)
            failure = (
                error
                if isinstance(error, ProviderDomainError)
                else ProviderDomainError(str(error), provider=self.name, data=data)
            )
            return TaskStatus(Phase.FAILED, error=failure, raw_state=status)
        if status not in self.api.done_status:
            return TaskStatus(Phase.PENDING, progress=0, queue_position=task.queuenum, raw_state=status)
        faces = [face.outputurl for face in task.facelist or [] if _fetchable(face.outputurl)]
        if outputs == "list":
            images = [ResultImage(url=url) for url in faces or [task.outputurl] if _fetchable(url)]
        elif _fetchable(task.outputurl):
            images = [ResultImage(url=task.outputurl), *(ResultImage(url=url, extra=True) for url in faces)]
        else:  # no whole image: the face outputs are all there is
            images = [ResultImage(url=url) for url in faces]
        if not images:
            raise BadResponse("magictiger: finished task without an output", provider=self.name, data=data)
        return TaskStatus(Phase.DONE, progress=100, images=tuple(images), raw_state=status)

    async def cancel(self, task_id: str) -> bool:
        """deletetask; its ``success`` is the provider's word that the task is dropped (a finished
        task is not: its result is there to fetch)."""
        data = await self._call("deletetask", {"taskid": json.loads(task_id)["taskid"]}, idempotent=True)
        return isinstance(data, dict) and data.get("success") is True

    def check_callback(self, headers: Mapping[str, str], body: bytes) -> bool:
        """The callback carries our API token in the ``token`` header."""
        return same_secret(headers.get("token", ""), self.api.api_token)

    def callback_job_id(self, body: bytes) -> str | None:
        """For the account-wide callback URL: our job id is the task's ``chtaskid``."""
        try:
            data = json.loads(body)["data"]
        except (*JSON_ERRORS, KeyError, TypeError):
            return None
        job_id = data.get("chtaskid") if isinstance(data, dict) else None
        return job_id if isinstance(job_id, str) else None

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer(body=CALLBACK_ANSWER)
