"""A fake QQ anime API (provider document 000) on 127.0.0.1.

Always HTTP 200, like the real one: a missing or wrong ``x-sign-value`` (md5 of
"https://h5.tu.qq.com" + len(body) + "HQ31X02e" over the raw body), a missing
``x-sign-version``, Origin, Referer or User-Agent, or a malformed body answers -2111
AUTH_FAILED; GIF or WebP answer -2100; an image larger than ``max_side`` answers 2111
VOLUMN_LIMIT ("rate limit or image too big"), however often it is sent. Success returns four
``img_urls`` served by the fake, at the document's sizes for vertical or horizontal inputs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw

from tests.fakes.server import LoopbackServer

PATH = "/trpc.shadow_cv.ai_processor_cgi.AIProcessorCgi/Process"
BUSI_IDS = {"ai_painting_anime_entry", "different_dimension_me_img_entry", "ai_painting_anime_img_entry"}
#: Document c.1.i / c.1.ii: the four variants' sizes (the first is a PNG despite its name).
SIZES = {
    "vertical": [(720, 1280), (1000, 930), (830, 1400), (720, 1462)],
    "horizontal": [(720, 1280), (800, 1257), (1120, 940), (720, 1462)],
}


class FakeQQAnime:
    def __init__(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post(PATH, self._process, name="process")
        app.router.add_get("/img/{name}", self._image, name="result")
        app.router.add_get("/video/{name}", self._video, name="video")
        #: Whether answers carry video_urls (the document's example does), which expire on request.
        self.with_videos = True
        self.expired_videos: set[str] = set()
        self.video_fetches = 0
        self.server = LoopbackServer(app)
        self.requests: list[dict[str, Any]] = []
        #: Codes to answer the next requests with, e.g. [2111, 2111] (then success).
        self.next_codes: list[int] = []
        self.results: dict[str, tuple[str, int]] = {}
        #: The longest side converted; a larger image is "too big" (2111), every time.
        self.max_side = 2048
        #: Entries put before the real links in ``video_urls`` (a test's odd ones: null, not a URL).
        self.odd_videos: list[Any] = []

    @property
    def url(self) -> str:
        return self.server.url + PATH

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    @staticmethod
    def _fail(code: int, msg: str) -> web.Response:
        return web.json_response({"code": code, "msg": msg})

    async def _process(self, request: web.Request) -> web.Response:
        raw = await request.read()
        text = raw.decode("utf-8", errors="replace")
        self.requests.append({"headers": dict(request.headers), "body": text})
        expected = hashlib.md5(f"https://h5.tu.qq.com{len(text)}HQ31X02e".encode()).hexdigest()
        headers_ok = (
            request.headers.get("x-sign-value") == expected
            and request.headers.get("x-sign-version") == "v1"
            and request.headers.get("Origin") == "https://h5.tu.qq.com"
            and request.headers.get("Referer") == "https://h5.tu.qq.com/"
            and bool(request.headers.get("User-Agent"))
        )
        if not headers_ok:
            return self._fail(-2111, "AUTH_FAILED")
        try:
            body = json.loads(text)
            extra = json.loads(body["extra"])
            image = base64.b64decode(body["images"][0], validate=True)
            busi_id = body["busiId"]
        except (ValueError, KeyError, IndexError, TypeError):
            return self._fail(-2111, "AUTH_FAILED")
        if busi_id not in BUSI_IDS or not isinstance(extra, dict) or "version" not in extra:
            return self._fail(-2111, "AUTH_FAILED")
        try:
            with Image.open(io.BytesIO(image)) as img:
                fmt, size = img.format, img.size
        except (OSError, ValueError, SyntaxError):  # what a broken download or a non-image raises
            return self._fail(-2100, "PARAM_INVALID")
        if fmt not in ("JPEG", "PNG"):
            return self._fail(-2100, "PARAM_INVALID")
        if max(size) > self.max_side:
            return self._fail(2111, "VOLUMN_LIMIT")
        if self.next_codes:
            code = self.next_codes.pop(0)
            messages = {
                2114: "IMG_ILLEGAL",
                2111: "VOLUMN_LIMIT",
                -2100: "PARAM_INVALID",
                -2111: "AUTH_FAILED",
                2119: "user_ip_country 西班牙",
                1001: "b'no face in img'",
            }
            return self._fail(code, messages.get(code, "error"))
        orientation = "horizontal" if extra.get("version") == 2 and size[0] > size[1] else "vertical"
        key = uuid.uuid4().hex
        urls = []
        for index in range(4):
            self.results[f"{key}_{index}"] = (orientation, index)
            urls.append(f"{self.server.url}/img/{key}_{index}.jpg")
        videos = [f"{self.server.url}/video/{key}_{index}.mp4" for index in range(2)] if self.with_videos else []
        extra_out = {"video_urls": [*self.odd_videos, *videos], "img_urls": urls}
        return web.json_response(
            {"code": 0, "msg": "", "images": [], "faces": [], "extra": json.dumps(extra_out), "videos": []}
        )

    async def _video(self, request: web.Request) -> web.Response:
        """The transformation video: served while its conversion is known (QQ's links expire)."""
        key = request.match_info["name"].removesuffix(".mp4").rsplit("_", 1)[0]
        if f"{key}_0" not in self.results or key in self.expired_videos:
            raise web.HTTPNotFound()
        self.video_fetches += 1
        return web.Response(body=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, content_type="video/mp4")

    async def _image(self, request: web.Request) -> web.Response:
        name = request.match_info["name"].removesuffix(".jpg")
        if name not in self.results:
            raise web.HTTPNotFound()
        orientation, index = self.results[name]
        width, height = SIZES[orientation][index]
        img = Image.new("RGB", (width, height), "#ffd6e8")
        ImageDraw.Draw(img).text((10, 10), f"{orientation} {index}", fill="#000000")
        out = io.BytesIO()
        img.save(out, "PNG" if index == 0 else "JPEG")
        return web.Response(body=out.getvalue(), content_type="image/jpeg")
