"""A fake PicWish ID photo API (provider document 004) on 127.0.0.1.

It checks ``X-API-KEY`` and every form field against the document, advances each task
through the documented states over time (0 queued, 2 preparing, 4 processing, 1 done),
POSTs the callback body to ``callback_url`` in the document's callback shape (``image`` a file
name, not a URL: a callback only says the task ended), and serves result JPEGs at the requested
pixel size (or a 5/6-inch print sheet) with the requested DPI and background colour, as a link
or (``base64_results``) inline in the answer, both of which the document allows.
What the document says expires does: a result link works for ``result_lifetime`` seconds (one
hour) after its task finished, and an ``image_id`` names a photo for ``image_id_lifetime`` (the
document gives no figure; an hour here too); both on the fake's ``clock``, which a test may
move by hand (tests.fakes.clock.ManualClock). Tests script failures: HTTP errors, negative
states, held tasks.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from aiohttp import web
from PIL import Image, ImageDraw

from providers.specs import load_catalog
from tests.fakes.server import FakeService

CLOTHES = (
    {f"man_{i}" for i in range(1, 21)} | {f"woman_{i}" for i in range(1, 21)} | {f"child_{i}" for i in range(1, 11)}
)
HEX = re.compile(r"^[0-9A-Fa-f]{6}$")
BINARY = {
    "sync",
    "change_bg",
    "auto_bright",
    "auto_smooth",
    "auto_thin_face",
    "auto_sharp",
    "preview",
    "add_label",
    "layout",
    "layout_vertical",
}
INTS = {
    "spec_id",
    "dpi",
    "px_width",
    "px_height",
    "mm_width",
    "mm_height",
    "face_width",
    "min_face_width",
    "max_face_width",
    "face_height",
    "min_face_height",
    "max_face_height",
    "head_top",
    "min_head_top",
    "max_head_top",
    "chin_top",
    "min_chin_top",
    "max_chin_top",
    "eyes_top",
    "min_eyes_top",
    "max_eyes_top",
    "quality",
    "min_file_size",
    "max_file_size",
    "label_height",
    "layout_qr_code_size",
}
FLOATS = {"bright_factor", "smooth_factor", "thin_face_factor", "sharp_factor"}
STRINGS = {
    "image_url",
    "last_id",
    "bg_color",
    "bg_color2",
    "clothes_id",
    "label_text",
    "layout_size",
    "layout_bg_color",
    "layout_qr_code_data",
    "layout_label_text",
    "callback_url",
}
#: The document: the sheet canvas is grey unless layout_bg_color names a colour.
SHEET_GREY = "C8C8C8"
#: Print sheets at 300 dpi: 5 inch = 5x3.5 in, 6 inch = 6x4 in.
SHEETS = {"5inch": (1500, 1050), "6inch": (1800, 1200)}
STEPS = [(0, 0), (2, 10), (4, 40), (4, 80), (1, 100)]
#: The document: "The URL of the result image is valid for 1 hour."
RESULT_LIFETIME = 3600.0
#: How long an image_id serves as last_id: the document is silent; an hour, like the links.
IMAGE_ID_LIFETIME = 3600.0
#: The spec ids of the document's table (the bot's catalog copies it row for row, plus its own
#: custom size, which PicWish does not know).
DOCUMENTED_SPECS = frozenset(spec.spec_id for spec in load_catalog().documented)


def _mm_pixels(fields: dict[str, str]) -> tuple[int, int]:
    """A size in millimetres at the task's DPI (default 300), in pixels."""
    dpi = int(fields.get("dpi", 300))
    return round(int(fields["mm_width"]) * dpi / 25.4), round(int(fields["mm_height"]) * dpi / 25.4)


@lru_cache(maxsize=8)
def _scaled(photo: bytes, width: int) -> Image.Image:
    """A photo scaled to ``width`` (cached: a load benchmark sends one photo many times, and the
    fake shares the bot's cores)."""
    with Image.open(io.BytesIO(photo)) as img:
        return img.convert("RGB").resize((width, round(img.height * width / img.width)))


@dataclass
class Task:
    task_id: str
    fields: dict[str, str]
    image: bytes | None
    states: list[tuple[int, int]]
    step: int = 0
    image_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    held: bool = False
    callbacks: list[int] = field(default_factory=list)
    #: time.monotonic() when it was created, finished, and last asked about (for bench/load.py);
    #: ``arrived_at`` is when its create request reached the fake, before the upload was read.
    created_at: float = field(default_factory=time.monotonic)
    arrived_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    #: When it finished by the fake's clock (what its link and image id expire from).
    done_at: float | None = None
    queried_at: float | None = None
    #: time.monotonic() of every status query about it.
    query_times: list[float] = field(default_factory=list)

    @property
    def state(self) -> int:
        return self.states[min(self.step, len(self.states) - 1)][0]

    @property
    def progress(self) -> int:
        return self.states[min(self.step, len(self.states) - 1)][1]


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"status": status, "message": message}, status=status)


class FakePicwish(FakeService):
    def __init__(
        self,
        api_key: str = "picwish-test-key",
        step_seconds: float = 0.02,
        *,
        clock: Callable[[], float] = time.time,
        result_lifetime: float = RESULT_LIFETIME,
        image_id_lifetime: float = IMAGE_ID_LIFETIME,
    ) -> None:
        self.api_key = api_key
        self.step_seconds = step_seconds
        self.clock = clock
        self.result_lifetime = result_lifetime
        self.image_id_lifetime = image_id_lifetime
        #: Finished photos come back inline, as base64 in ``image``, instead of as a link.
        self.base64_results = False
        #: Finished photos come back with a drawn figure instead of the person: no face to find in
        #: them (a result botched).
        self.faceless_results = False
        super().__init__(self._app())
        self.tasks: dict[str, Task] = {}
        self.images: dict[str, Task] = {}  # image_id -> task, for last_id
        self.creates: list[dict[str, str]] = []
        self.queries: int = 0
        #: time.monotonic() of every status query.
        self.query_times: list[float] = []
        #: Scripted answers for the next create / query calls: (http status, json body or raw text).
        self.create_failures: list[tuple[int, Any]] = []
        self.query_failures: list[tuple[int, Any]] = []
        #: State scripts for the next created tasks (e.g. [(0, 0), (-7, 0)]).
        self.next_states: list[list[tuple[int, int]]] = []
        #: State scripts for every task of a spec (its ``spec_id`` field), whatever order they come in.
        self.states_by_spec: dict[str, list[tuple[int, int]]] = {}
        self.hold_new_tasks = False
        #: Seconds the server waits before answering (to make clients time out).
        self.delay = 0.0
        #: Endpoints ("create", "query") whose next request is held until the event is set;
        #: ``held`` is set once such a request has arrived (to stop a client mid-request).
        self.hold: dict[str, asyncio.Event] = {}
        self.held: dict[str, asyncio.Event] = {}
        self.task_created = asyncio.Event()
        self.callback_results: list[int] = []

    @property
    def base_url(self) -> str:
        return self.server.url

    def _image_known(self, image_id: str) -> bool:
        """Whether ``image_id`` still names a photo: its task finished within ``image_id_lifetime``."""
        task = self.images.get(image_id)
        return task is not None and task.done_at is not None and self.clock() - task.done_at <= self.image_id_lifetime

    def forget_images(self) -> None:
        """PicWish no longer keeps the images of finished tasks: their ids fail as last_id."""
        self.images.clear()

    async def _hold_if_asked(self, endpoint: str) -> None:
        """Hold the request while the test acts; a gate marked ``abandoned`` (the client was killed)
        still lets the request through: PicWish got it, whatever became of the client."""
        gate = self.hold.pop(endpoint, None)
        if gate is not None:
            self.held.setdefault(endpoint, asyncio.Event()).set()
            await gate.wait()

    def release(self, task_id: str | None = None) -> None:
        """Let held tasks run on to completion."""
        for task in self.tasks.values():
            if task_id in (None, task.task_id) and task.held:
                task.held = False
                self._advance_later(task)

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=40 * 1024 * 1024)
        app.router.add_post("/idphoto", self._create, name="create")
        app.router.add_get("/idphoto/{task_id}", self._query, name="query")
        app.router.add_get("/results/{name}", self._result, name="result")
        return app

    # --- create ----------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        if request.headers.get("X-API-KEY") != self.api_key:
            return _bad("Invalid API key", 401)
        if not request.content_type.startswith("multipart/form-data"):
            return _bad("multipart/form-data expected")
        form = await request.post()
        fields: dict[str, str] = {}
        image: bytes | None = None
        for key, value in form.items():
            if isinstance(value, web.FileField):
                if key != "image_file":
                    return _bad(f"unexpected file field {key}")
                image = value.file.read()
            else:
                fields[key] = str(value)
        await self._hold_if_asked("create")
        self.creates.append(fields)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.create_failures:
            status, body = self.create_failures.pop(0)
            return (
                web.json_response(body, status=status)
                if isinstance(body, dict)
                else web.Response(status=status, text=body)
            )
        problem = self._check(fields, image)
        if problem:
            return _bad(problem)
        task_id = str(uuid.uuid4())
        if fields.get("spec_id") in self.states_by_spec:
            states = list(self.states_by_spec[fields["spec_id"]])
        else:
            states = self.next_states.pop(0) if self.next_states else list(STEPS)
        task = Task(task_id, fields, image, states, held=self.hold_new_tasks, arrived_at=arrived)
        self.tasks[task_id] = task
        self.images[task.image_id] = task
        self.task_created.set()
        await self.changed()
        if not task.held:
            self._advance_later(task)
        return web.json_response({"status": 200, "message": "ok", "data": {"task_id": task_id}})

    def _check(self, fields: dict[str, str], image: bytes | None) -> str | None:
        for key, value in fields.items():
            if key in BINARY:
                if value not in ("0", "1"):
                    return f"{key} must be 0 or 1"
            elif key in INTS:
                if not value.lstrip("-").isdigit():
                    return f"{key} must be an integer"
            elif key in FLOATS:
                try:
                    if not 0 <= float(value) <= 1:
                        return f"{key} must be within [0, 1]"
                except ValueError:
                    return f"{key} must be a number"
            elif key not in STRINGS:
                return f"unknown parameter {key}"
        if fields.get("sync", "0") != "0":
            return "the fake serves asynchronous tasks only"
        if image is None and "image_url" not in fields and "last_id" not in fields:
            return "image_file, image_url or last_id is required"
        if "last_id" in fields and image is None and not self._image_known(fields["last_id"]):
            return "last_id not found"
        if image is not None:
            if len(image) > 15 * 1024 * 1024:
                return "image too large"
            try:
                with Image.open(io.BytesIO(image)) as img:
                    if img.format not in ("JPEG", "PNG", "BMP", "WEBP", "TIFF"):
                        return "unsupported image format"
                    if max(img.size) > 4096:
                        return "image resolution over 4096x4096"
            except (OSError, ValueError, SyntaxError):  # what a broken download or a non-image raises
                return "invalid image file"
        if "dpi" in fields and not 10 <= int(fields["dpi"]) <= 1000:
            return "dpi must be within [10, 1000]"
        for key in ("px_width", "px_height"):
            if key in fields and not 0 < int(fields[key]) < 1800:
                return f"{key} must be below 1800"
        if ("px_width" in fields) != ("px_height" in fields):
            return "px_width and px_height go together"
        if ("mm_width" in fields) != ("mm_height" in fields):
            return "mm_width and mm_height go together"
        if "mm_width" in fields:
            if "px_width" in fields:
                return "pass (px_width, px_height) or (mm_width, mm_height), not both"
            if not all(0 < int(fields[key]) < 180 for key in ("mm_width", "mm_height")):
                return "mm_width and mm_height must be below 180mm"
            if max(_mm_pixels(fields)) >= 1800:
                return "the size in pixels must be below 1800"
        if "spec_id" in fields and int(fields["spec_id"]) not in DOCUMENTED_SPECS:
            return "unknown spec_id"
        for key in ("bg_color", "bg_color2", "layout_bg_color"):
            if key in fields and not HEX.match(fields[key]):
                return f"{key} must be a hex colour"
        if "clothes_id" in fields and fields["clothes_id"] not in CLOTHES:
            return "unknown clothes_id"
        if "layout_size" in fields and fields["layout_size"] not in SHEETS:
            return "layout_size must be 5inch or 6inch"
        if "callback_url" in fields and not fields["callback_url"].startswith(("http://", "https://")):
            return "callback_url must be a URL"
        return None

    # --- states over time ---------------------------------------------------------------

    def _advance_later(self, task: Task) -> None:
        self.spawn(self._advance(task))

    async def _advance(self, task: Task) -> None:
        while not task.held and task.state not in (1,) and task.state >= 0 and task.step < len(task.states) - 1:
            await asyncio.sleep(self.step_seconds)
            if task.held:
                return
            task.step += 1
            if task.state == 1:
                task.finished_at = time.monotonic()
                task.done_at = self.clock()
            await self.changed()
        if (task.state == 1 or task.state < 0) and "callback_url" in task.fields:
            await self._send_callback(task)

    async def _send_callback(self, task: Task) -> None:
        """The document's callback: the task's id and state, and ``image`` a file name, not a link
        (its other example has no URL either): it says the task ended, the query says the rest."""
        data: dict[str, Any] = {"task_id": task.task_id, "state": task.state}
        if task.state == 1:
            data["image"] = f"{task.task_id}.jpg"
        body = {"status": 200, "message": "success", "data": data}
        try:
            response = await self._http.post(task.fields["callback_url"], json=body)
            task.callbacks.append(response.status_code)
            self.callback_results.append(response.status_code)
        except httpx.HTTPError:
            self.callback_results.append(0)

    # --- query --------------------------------------------------------------------------

    async def _query(self, request: web.Request) -> web.Response:
        if request.headers.get("X-API-KEY") != self.api_key:
            return _bad("Invalid API key", 401)
        await self._hold_if_asked("query")
        self.queries += 1
        self.query_times.append(time.monotonic())
        await self.changed()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.query_failures:
            status, body = self.query_failures.pop(0)
            return (
                web.json_response(body, status=status)
                if isinstance(body, dict)
                else web.Response(status=status, text=body)
            )
        task = self.tasks.get(request.match_info["task_id"])
        if task is None:
            return _bad("task not found", 404)
        task.queried_at = time.monotonic()
        task.query_times.append(task.queried_at)
        return web.json_response(self._status_body(task))

    def _status_body(self, task: Task) -> dict[str, Any]:
        data: dict[str, Any] = {
            "task_id": task.task_id,
            "state": task.state,
            "progress": task.progress,
            "created_at": 1758771079,
            "processed_at": 1758771079,
        }
        if task.state == 1:
            inline = self.base64_results
            data.update(
                image=base64.b64encode(self.render(task)).decode()
                if inline
                else f"{self.base_url}/results/{task.task_id}.jpg",
                image_id=task.image_id,
                completed_at=1758771080,
                return_type=2 if inline else 1,
                state_detail="Complete",
            )
        return {"status": 200, "message": "success", "data": data}

    # --- results ------------------------------------------------------------------------

    def result_size(self, task: Task) -> tuple[int, int]:
        if task.fields.get("layout") == "1":
            width, height = SHEETS[task.fields.get("layout_size", "5inch")]
            return (height, width) if task.fields.get("layout_vertical") == "1" else (width, height)
        source = (
            self.images[task.fields["last_id"]].fields
            if "last_id" in task.fields and "px_width" not in task.fields
            else task.fields
        )
        if "mm_width" in source:
            return _mm_pixels(source)
        return int(source.get("px_width", 295)), int(source.get("px_height", 413))

    def _person(self, task: Task) -> bytes | None:
        """The photo a task works on: its upload, or that of the task its ``last_id`` names."""
        while task.image is None and task.fields.get("last_id") in self.images:
            task = self.images[task.fields["last_id"]]
        return task.image

    async def _result(self, request: web.Request) -> web.Response:
        task = self.tasks.get(request.match_info["name"].removesuffix(".jpg"))
        if task is None or task.state != 1 or task.done_at is None:
            raise web.HTTPNotFound()
        if self.clock() - task.done_at > self.result_lifetime:
            raise web.HTTPForbidden(text="Request has expired")  # what a signed storage link says
        return web.Response(body=self.render(task), content_type="image/jpeg")

    def render(self, task: Task) -> bytes:
        """The finished photo of ``task``."""
        width, height = self.result_size(task)
        colour = "#" + task.fields.get("bg_color", "FFFFFF")
        if task.fields.get("layout") == "1":  # the sheet's canvas: grey unless layout_bg_color says
            colour = "#" + task.fields.get("layout_bg_color", SHEET_GREY)
        img = Image.new("RGB", (width, height), colour)
        person = None if self.faceless_results else self._person(task)
        if person is not None and task.fields.get("layout") != "1":
            # The uploaded photo, scaled into the frame below a margin of background: a real face
            # in the result, as PicWish's own has, for the bot's measurement of where the head is.
            inner = round(width * 0.8)
            img.paste(_scaled(person, inner), ((width - inner) // 2, round(height * 0.08)))
        draw = ImageDraw.Draw(img)
        if person is None or task.fields.get("layout") == "1":
            draw.ellipse((width * 0.3, height * 0.15, width * 0.7, height * 0.6), fill="#e0b8a0")
            draw.rectangle((width * 0.15, height * 0.65, width * 0.85, height), fill="#333344")
        if task.fields.get("preview") == "1":
            draw.text((10, 10), "PREVIEW", fill="#ff0000")
        dpi = int(task.fields.get("dpi", 300))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=92, dpi=(dpi, dpi))
        return out.getvalue()
