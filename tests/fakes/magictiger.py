"""A fake MagicTiger image API (provider document 003) on 127.0.0.1.

The document leaves URLs, the auth header and the status/type numbers open; this fake
fixes them (POST JSON to ``/v1/<operation>``, header ``token``, statuses below) and the
tests configure the bot to match, as an operator would from their account. ``createtask``
really downloads ``picurl`` (so the bot's signed /media/ links are exercised), tasks move
through the queue over time, ``gettask`` finds a task only under the ``type`` it was created
with, and the account-wide callback is POSTed with ``token`` and ``md5`` headers and must be
answered as documented. Before the first callback the URL is checked, as the document says
("We will validate your url first"): a GET and a POST naming no task, neither carrying the
token (the document names the token for callbacks only), each of which must get the success
answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web
from PIL import Image

from tests.fakes.server import FakeService

WAITING, PROCESSING, DONE, FAILED = 0, 1, 2, 3
ENHANCE, COLORIZE = 1, 2
EXPECTED_CALLBACK_ANSWER = {"code": 0, "msg": "", "data": {"success": True}}


@dataclass
class Task:
    taskid: str
    type: int
    chtaskid: str
    size: tuple[int, int]
    queuenum: int
    status: int = WAITING
    deleted: bool = False
    fail_with: int | None = None
    callbacks: list[Any] = field(default_factory=list)


class FakeMagicTiger(FakeService):
    def __init__(self, token: str = "tiger-token", step_seconds: float = 0.03) -> None:
        self.token = token
        self.step_seconds = step_seconds
        app = web.Application()
        for operation in ("createtask", "gettask", "deletetask"):
            app.router.add_post(f"/v1/{operation}", getattr(self, f"_{operation}"), name=operation)
        app.router.add_get("/out/{name}", self._output, name="result")
        super().__init__(app)
        self.tasks: dict[str, Task] = {}
        self.creates: list[dict[str, Any]] = []
        self.next_create_codes: list[int] = []
        #: Codes the next gettasks answer with instead of the task (one each).
        self.next_get_codes: list[int] = []
        #: Error code the next created task fails with (status FAILED), if any.
        self.next_failure: int | None = None
        self.initial_queue = 2
        #: Faces the photos are taken to show: each adds a close-up to an enhanced (not colorized) task.
        self.faces_in_photo = 1
        self.hold = False
        #: The account-wide callback URL (set by the test, as in the provider's console).
        self.callback_url: str | None = None
        self.callback_answers: list[Any] = []
        #: The URL check made before the first callback ("We will validate your url first"): its
        #: answers, and whether the URL passed. A URL that fails it gets no callbacks.
        self.probe_answers: list[Any] = []
        self.callback_url_valid: bool | None = None
        #: The ``type`` of every gettask that named a task under another type than its own.
        self.wrong_types: list[Any] = []
        #: The task ids of deletetasks refused because the task had finished.
        self.refused_deletes: list[str] = []

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    @staticmethod
    def _answer(code: int, msg: str = "", data: Any = None) -> web.Response:
        return web.json_response({"code": code, "msg": msg, "data": data})

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("token") != self.token:
            return web.json_response({"code": 401, "msg": "invalid token"}, status=401)
        try:
            body = await request.json()
        except ValueError:
            return self._answer(1001001, "invalid json")
        return body if isinstance(body, dict) else self._answer(1001001, "invalid json")

    async def _createtask(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        self.creates.append(body)
        if self.next_create_codes:
            return self._answer(self.next_create_codes.pop(0), "scripted failure")
        if body.get("type") not in (ENHANCE, COLORIZE):
            return self._answer(1001001, "Create task failed")
        try:
            picture = (await self._http.get(str(body.get("picurl")))).raise_for_status().content
            with Image.open(io.BytesIO(picture)) as img:
                size, fmt = img.size, img.format
        except (httpx.HTTPError, OSError, ValueError, SyntaxError):  # what a broken download or a non-image raises
            return self._answer(1001002, "Validate picurl fail")
        if fmt not in ("JPEG", "PNG"):
            return self._answer(1001004, "Unsupport file types")
        if len(picture) > 20 * 1024 * 1024 or not all(64 <= side <= 9216 for side in size):
            return self._answer(1001003, "Image too large")
        task = Task(
            uuid.uuid4().hex,
            body["type"],
            str(body.get("chtaskid", "")),
            size,
            self.initial_queue,
            fail_with=self.next_failure,
        )
        self.next_failure = None
        self.tasks[task.taskid] = task
        self.spawn(self._advance(task))
        await self.changed()
        return self._answer(0, "", {"taskid": task.taskid, "status": task.status, "queuenum": task.queuenum})

    async def _advance(self, task: Task) -> None:
        while task.status in (WAITING, PROCESSING) and not task.deleted:
            await asyncio.sleep(self.step_seconds)
            if not self.hold and not task.deleted:
                await self.step(task)
        if not task.deleted and self.callback_url and await self._callback_url_passes():
            payload = json.dumps({"code": 0, "msg": "", "data": self._task_data(task)})
            headers = {
                "token": self.token,
                "md5": hashlib.md5(payload.encode()).hexdigest(),
                "Content-Type": "application/json",
            }
            try:
                response = await self._http.post(self.callback_url, content=payload, headers=headers)
                answer: Any = response.json() if response.status_code == 200 else response.status_code
            except (httpx.HTTPError, ValueError):
                answer = None
            self.callback_answers.append(answer)
            await self.changed()

    async def _callback_url_passes(self) -> bool:
        """Validate the callback URL once, as the provider does before using it: a GET, then a POST
        naming no task, neither with the token, each of which must get the documented success answer."""
        if self.callback_url_valid is None and self.callback_url:
            answers: list[Any] = []
            for method, kwargs in (("GET", {}), ("POST", {"json": {"code": 0, "msg": "", "data": {}}})):
                try:
                    response = await self._http.request(method, self.callback_url, **kwargs)
                    answers.append(response.json() if response.status_code == 200 else response.status_code)
                except (httpx.HTTPError, ValueError):
                    answers.append(None)
            self.probe_answers = answers
            self.callback_url_valid = all(answer == EXPECTED_CALLBACK_ANSWER for answer in answers)
            await self.changed()
        return bool(self.callback_url_valid)

    async def step(self, task: Task) -> None:
        """One move through the queue: a place forward, then processing, then the end."""
        if task.queuenum > 0:
            task.queuenum -= 1
        elif task.status == WAITING:
            task.status = PROCESSING
        else:
            task.status = FAILED if task.fail_with else DONE
        await self.changed()

    def _task_data(self, task: Task) -> dict[str, Any]:
        data: dict[str, Any] = {
            "taskid": task.taskid,
            "status": task.status,
            "queuenum": task.queuenum,
            "errorcode": task.fail_with or 0,
            "errormsg": "failed" if task.fail_with else "",
            "chtaskid": task.chtaskid,
            "facenum": 0,
            "facelist": [],
        }
        if task.status == DONE:
            # Document 003: facelist lists Colorize's output images; for the other types it lists
            # the faces found, each with its close-up, beside outputurl, the whole enhanced image.
            outputs = 2 if task.type == COLORIZE else 1 + self.faces_in_photo
            urls = [f"{self.server.url}/out/{task.taskid}_{i}.jpg" for i in range(outputs)]
            faces = urls if task.type == COLORIZE else urls[1:]
            data.update(outputurl=urls[0], facenum=len(faces))
            data["facelist"] = [{"outputurl": url, "outpathext": "jpg"} for url in faces]
        return data

    async def _live_task(self, request: web.Request) -> Task | web.Response:
        """The request's task, or the documented answer for a bad token, a missing or deleted task."""
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        task = self.tasks.get(str(body.get("taskid")))
        if task is None:
            return self._answer(1002001, "Task not exist")
        if task.deleted:
            return self._answer(1002002, "Task was deleted")
        return task

    async def _gettask(self, request: web.Request) -> web.Response:
        task = await self._live_task(request)
        if isinstance(task, web.Response):
            return task
        if self.next_get_codes:
            return self._answer(self.next_get_codes.pop(0), "scripted failure")
        asked = await request.json()
        if type(asked.get("type")) is not int or asked["type"] != task.type:
            # Document 003: gettask takes the task's "Enhance Type" too; under another no task is found.
            self.wrong_types.append(asked.get("type"))
            return self._answer(1002001, "Task not exist")
        return self._answer(0, "", self._task_data(task))

    async def _deletetask(self, request: web.Request) -> web.Response:
        task = await self._live_task(request)
        if isinstance(task, web.Response):
            return task
        if task.status in (DONE, FAILED):
            # A finished task is not dropped: its work is done (and charged), its outputs stay to
            # fetch. Document 003's answer says whether "the operation is successful or not".
            self.refused_deletes.append(task.taskid)
            return self._answer(0, "", {"success": False})
        task.deleted = True
        await self.changed()
        return self._answer(0, "", {"success": True})

    async def _output(self, request: web.Request) -> web.Response:
        taskid, _, index = request.match_info["name"].removesuffix(".jpg").partition("_")
        task = self.tasks.get(taskid)
        if task is None or task.status != DONE:
            raise web.HTTPNotFound()
        out = io.BytesIO()
        colour = (90, 140, 200) if index == "0" else (200, 120, 90)
        whole = index == "0" or task.type == COLORIZE
        size = (task.size[0] * 2, task.size[1] * 2) if whole else (256, 256)  # a face close-up is small
        Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
        return web.Response(body=out.getvalue(), content_type="image/jpeg")
