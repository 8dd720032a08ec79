"""A TCP relay on 127.0.0.1 in front of a real server (the tests' PostgreSQL) that can stop
answering without closing anything, as a server does whose machine stalled or vanished: the
client's bytes are still taken (the relay's kernel acknowledges them), and nothing comes back.

``stall()`` silences every connection open now, for good; with ``stall_new`` a connection made
later is accepted and never answered either (otherwise it is relayed: the server's replacement
answering at the same address). ``stall_on`` silences it all, the connections made later
included, as the client sends given bytes (a statement's text): the server falls silent while
that statement is under way, whatever the client sent before it; ``stall_one`` silences only the
connection that sends them (a server gone quiet on that one connection while the others, and new
ones, are answered: a pooled connection left over from a failover). The relay counts the silenced
connections the client itself closed: a client that noticed the silence and gave up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class _Link:
    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.server: asyncio.StreamWriter | None = None
        self.silent = False


class StallingRelay:
    def __init__(self, url: str) -> None:
        target = urlsplit(url)
        self._target = target
        self._host = target.hostname or "127.0.0.1"
        self._port = target.port or 5432
        self._links: set[_Link] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._given_up = 0
        self._changed = asyncio.Condition()
        #: A connection made from now on is accepted and never answered.
        self.stall_new = False
        #: Bytes that, once a client sends them, stall every connection and ``stall_new`` before
        #: they reach the server.
        self.stall_on: bytes | None = None
        #: Bytes that, once a client sends them, stall the connection they came on (only it),
        #: before they reach the server.
        self.stall_one: bytes | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The server's URL, through this relay."""
        netloc = self._target.netloc.rsplit("@", 1)
        address = f"127.0.0.1:{self.port}"
        return urlunsplit(self._target._replace(netloc=f"{netloc[0]}@{address}" if len(netloc) == 2 else address))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stall(self) -> None:
        """Every connection open now answers nothing from here on."""
        for link in self._links:
            link.silent = True

    async def given_up(self, count: int, timeout: float) -> None:
        """Wait until the client has closed ``count`` silenced connections."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self._given_up >= count)

        await asyncio.wait_for(enough(), timeout)

    async def stop(self) -> None:
        """Close every connection (each end sees it reset) and stop listening."""
        if self._server is not None:
            self._server.close()
        for link in self._links:
            for writer in (link.client, link.server):
                if writer is not None:
                    writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)  # each ends with its connections

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer)
        link.silent = self.stall_new
        self._links.add(link)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, link.server = await asyncio.open_connection(self._host, self._port)
            back = asyncio.create_task(self._pump(up_reader, writer, link))
            self._tasks.add(back)
            await self._pump(reader, link.server, link, watched=True)
            if link.silent:  # the client closed a connection that no longer answered
                async with self._changed:
                    self._given_up += 1
                    self._changed.notify_all()
        except OSError:
            writer.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, *, watched: bool = False
    ) -> None:
        """Copy until ``reader`` ends, then end ``writer`` too; once the link is silent, whatever
        comes is dropped and nothing is ended. ``watched``: the client's side, looked at for
        ``stall_on`` (also across two reads)."""
        tail = b""
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                seen = tail + data
                if watched and (marker := self.stall_on):
                    if marker in seen:
                        self.stall_on = None
                        self.stall()
                        self.stall_new = True
                if watched and (one := self.stall_one) and one in seen:
                    self.stall_one = None
                    link.silent = True
                markers = [m for m in (self.stall_on, self.stall_one) if m]
                tail = seen[len(seen) - max(map(len, markers)) + 1 :] if markers else b""
                if not link.silent:
                    writer.write(data)
                    await writer.drain()
            if not link.silent:
                writer.close()
