"""One aiohttp session per client, made on first use.

aiohttp binds a session to the event loop it was made in, and provider clients are built
before the bot's loop runs requests (and, in tests, sometimes outside any loop), so the
session is opened lazily by the first request.
"""

from __future__ import annotations

import aiohttp
from aiohttp.abc import AbstractResolver


class LazySession:
    def __init__(self, timeout: aiohttp.ClientTimeout, *, resolver: type[AbstractResolver] | None = None) -> None:
        self._timeout = timeout
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=self._resolver() if self._resolver else None)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
