"""python-telegram-bot's HTTP layer on aiohttp instead of httpx.

Every button press costs the bot two or three Bot API calls, so under load the bot's event
loop spends most of its time in the HTTP client. Measured on the project's machine (see
docs/benchmarks.md), an httpx request costs about 2 ms of CPU and an aiohttp request about
0.15 ms; with httpx the bot saturated one core at about 10 orders per second. aiohttp is
already a dependency (the web server), so this swaps the transport without adding one.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: python-telegram-bot's own defaults, in seconds.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
#: Uploads (photos, documents) get longer to be written.
MEDIA_WRITE_TIMEOUT = 20.0
_JSON = {"Content-Type": "application/json"}


def _given(value: Any, default: float | None) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


class AiohttpRequest(BaseRequest):
    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = READ_TIMEOUT,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: how the Bot API server's certificate is verified (a private CA of a local Bot
        API server, ``network.ca_file``); aiohttp's default verification without it."""
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=self._tls or True),
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        connect = _given(connect_timeout, CONNECT_TIMEOUT)
        pool = _given(pool_timeout, POOL_TIMEOUT)
        read = _given(read_timeout, self._read_timeout)
        write = _given(write_timeout, MEDIA_WRITE_TIMEOUT if files else READ_TIMEOUT)
        # aiohttp has no write timeout: an upload is bounded by write + read time in all.
        timeout = aiohttp.ClientTimeout(
            total=None if read is None or write is None else write + read + (connect or 0) + (pool or 0),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        body: Any = None
        headers = None
        if files:
            assert request_data is not None
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                data = content.read() if hasattr(content, "read") else content
                form.add_field(name, data, filename=filename, content_type=mimetype)
            # One buffer: aiohttp writes a form part by part, a socket write (a system call, the
            # receiver woken) for each boundary, header block and value, some fifteen an upload.
            multipart = form()
            body, headers = await multipart.as_bytes(), {"Content-Type": multipart.content_type}
        elif request_data is not None and (parameters := request_data.parameters):
            # JSON (the Bot API takes it for everything but uploads) costs less to build than
            # the form encoding python-telegram-bot's httpx layer sends. Encoded once, objects
            # (a keyboard) nested as they are: python-telegram-bot's json_payload encodes each
            # object on its own, twice, then the whole with those strings escaped inside.
            body, headers = json.dumps(parameters).encode(), _JSON
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


async def call_with_query(
    request: BaseRequest, base_url: str, method: str, parameters: Mapping[str, str | int], **timeouts: Any
) -> Any:
    """A Bot API call made past python-telegram-bot's ``Bot`` (its object parsing, its rate limiter),
    its parameters in the query string as the Bot API takes them (lists and objects as JSON text,
    booleans as ``true``/``false``); Telegram's ``result``, and what python-telegram-bot's call
    raises. ``base_url``: the Bot API's, with the token (``Bot.base_url``)."""
    return await request.post(f"{base_url}/{method}?{urlencode(parameters)}", **timeouts)
