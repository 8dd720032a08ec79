"""A fake Hili PhotoEnhance API (provider document 002) on 127.0.0.1.

Checks the multipart body, ``third_code`` and the ``token`` header (md5(secret_key + ts)
+ "," + ts, with ts within ``token_window`` of the fake's clock: two minutes, as the document
says; a test that moves a :class:`~tests.fakes.clock.ManualClock` makes a slow retry in no
time); a task answers status 100 for a number of
queries, then 200; download gives a result URL served by the fake. An upload takes one of
the account's remaining uses, a failed upload none. Errnos can be scripted per endpoint.
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from PIL import Image

from tests.fakes.clock import ManualClock
from tests.fakes.server import LoopbackServer

REPAIR_TYPES = {"sr", "sr,repair", "sr,repair,colour", "bg"}
MESSAGES = {
    9999: "请求参数token不合法",
    9101: "剩余下载次数为0",
    9001: "传入参数错误",
    9005: "文件上传类型不支持",
    9006: "上传失败",
    9009: "图片异常,处理失败",
    9002: "图片不存在,请确认图片是否上传成功",
    500: "其他错误",
}
#: Document 002: the token's timestamp is valid for two minutes.
TOKEN_WINDOW = 120.0


@dataclass
class Upload:
    mdf: str
    repair_type: str
    rgb: str | None
    size: tuple[int, int]
    polls_left: int


class FakeHili:
    def __init__(
        self,
        third_code: str = "photobot-test",
        secret_key: str = "hili-secret",
        nums: int = 100,
        *,
        clock: Callable[[], float] = time.time,
        token_window: float = TOKEN_WINDOW,
    ) -> None:
        self.third_code = third_code
        self.secret_key = secret_key
        self.nums = nums
        self.clock = clock
        self.token_window = token_window
        app = web.Application(client_max_size=30 * 1024 * 1024)
        for path in ("upload", "status", "download"):
            app.router.add_post(f"/api/third/photo/{path}", getattr(self, f"_{path}"), name=path)
        app.router.add_post("/api/third/company/nums", self._nums, name="nums")
        app.router.add_get("/static/{name}", self._static, name="result")
        self.server = LoopbackServer(app, clock if isinstance(clock, ManualClock) else None)
        self.uploads: dict[str, Upload] = {}
        self.upload_calls = 0
        #: What every /company/nums call answered.
        self.nums_calls: list[int] = []
        self.tokens: list[str] = []
        #: errnos for the next calls of an endpoint, e.g. {"upload": [9009]}.
        self.errnos: dict[str, list[int]] = {}
        #: status queries that answer 100 before 200.
        self.processing_polls = 2
        self.expired: set[str] = set()

    @property
    def base_url(self) -> str:
        return self.server.url

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    @staticmethod
    def _fail(errno: int) -> web.Response:
        return web.json_response({"code": 9000, "errno": errno, "msg": MESSAGES.get(errno, "error")})

    async def _checked(self, request: web.Request, endpoint: str) -> tuple[dict, web.Response | None]:
        if not request.content_type.startswith("multipart/form-data"):
            return {}, self._fail(9001)
        form = await request.post()
        fields = dict(form)
        header = request.headers.get("token", "")
        self.tokens.append(header)
        digest, _, stamp = header.partition(",")
        fresh = stamp.isdigit() and abs(self.clock() - int(stamp)) <= self.token_window
        if not fresh or digest != hashlib.md5((self.secret_key + stamp).encode()).hexdigest():
            return fields, self._fail(9999)
        if fields.get("third_code") != self.third_code:
            return fields, self._fail(9001)
        scripted = self.errnos.get(endpoint)
        if scripted:
            return fields, self._fail(scripted.pop(0))
        return fields, None

    async def _upload(self, request: web.Request) -> web.Response:
        self.upload_calls += 1
        fields, failure = await self._checked(request, "upload")
        if failure is not None:
            return failure
        if self.nums <= 0:
            return self._fail(9101)
        repair_type = str(fields.get("repair_type", ""))
        upload = fields.get("file")
        if repair_type not in REPAIR_TYPES or not isinstance(upload, web.FileField):
            return self._fail(9001)
        rgb = fields.get("rgb")
        if repair_type == "bg":
            parts = str(rgb or "").split(",")
            if len(parts) != 3 or not all(p.isdigit() and int(p) <= 255 for p in parts):
                return self._fail(9001)
        try:
            with Image.open(io.BytesIO(upload.file.read())) as img:
                if img.format not in ("JPEG", "PNG"):
                    return self._fail(9005)
                size = img.size
        except (OSError, ValueError, SyntaxError):  # what a broken download or a non-image raises
            return self._fail(9009)
        mdf = uuid.uuid4().hex
        self.uploads[mdf] = Upload(mdf, repair_type, str(rgb) if rgb else None, size, self.processing_polls)
        self.nums -= 1
        return web.json_response({"code": 200, "data": {"img_url": f"{self.base_url}/static/{mdf}_in.jpg", "mdf": mdf}})

    def _find(self, fields: dict) -> Upload | None:
        mdf = str(fields.get("mdf", ""))
        return None if mdf in self.expired else self.uploads.get(mdf)

    async def _status(self, request: web.Request) -> web.Response:
        fields, failure = await self._checked(request, "status")
        if failure is not None:
            return failure
        upload = self._find(fields)
        if upload is None:
            return self._fail(9002)
        if upload.polls_left > 0:
            upload.polls_left -= 1
            return web.json_response({"code": 200, "data": {"msg": "图片处理中", "status": 100}})
        return web.json_response({"code": 200, "data": {"msg": "图片处理完成", "status": 200}})

    async def _download(self, request: web.Request) -> web.Response:
        fields, failure = await self._checked(request, "download")
        if failure is not None:
            return failure
        upload = self._find(fields)
        if upload is None or upload.polls_left > 0:
            return web.json_response({"code": 9000, "errno": 9002, "msg": "数据已失效,请重新上传"})
        return web.json_response({"code": 200, "data": {"url": f"{self.base_url}/static/{upload.mdf}_out.jpg"}})

    async def _nums(self, request: web.Request) -> web.Response:
        _fields, failure = await self._checked(request, "nums")
        if failure is not None:
            return failure
        self.nums_calls.append(self.nums)
        return web.json_response({"code": 200, "data": {"code": self.third_code, "nums": self.nums}})

    async def _static(self, request: web.Request) -> web.Response:
        mdf = request.match_info["name"].removesuffix("_out.jpg")
        upload = self.uploads.get(mdf)
        if upload is None:
            raise web.HTTPNotFound()
        width, height = upload.size
        if upload.repair_type == "bg":
            colour = tuple(int(v) for v in (upload.rgb or "255,255,255").split(","))
        else:
            width, height = width * 2, height * 2  # super-resolution doubles the size
            colour = (200, 160, 120) if "colour" in upload.repair_type else (128, 128, 128)
        out = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=90)
        return web.Response(body=out.getvalue(), content_type="image/jpeg")
