"""A TCP proxy on 127.0.0.1 in front of the test PostgreSQL server, that loses the answer of one
statement after the server has committed it: the fault of a network that breaks between the
server's answer and the client (a NAT or a load balancer dropping the connection).

What the client sends passes as it is. The server's answer is read message by message (a type
byte and a length: the protocol's own framing); once armed with a marker, the proxy withholds the
first answer with a data row that holds the marker, up to and with its ReadyForQuery (sent once
the statement's implicit transaction committed), then closes both sides of that connection. The
client sees its connection lost in the middle of the statement, as with a real fault.
"""

from __future__ import annotations

import asyncio
import struct
from urllib.parse import urlsplit, urlunsplit

#: The requests a client may send before its startup message; the server answers each with one
#: byte ("N": not here), outside the message framing.
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class CuttingProxy:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._parts = parts
        self._server: asyncio.Server | None = None
        self._marker: bytes | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        #: How many answers were lost.
        self.cuts = 0

    @property
    def url(self) -> str:
        """The server's URL, through the proxy."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        netloc = f"{self._parts.username}@127.0.0.1:{port}" if self._parts.username else f"127.0.0.1:{port}"
        return urlunsplit(self._parts._replace(netloc=netloc))

    def arm(self, marker: bytes) -> None:
        """Lose the next answer with a data row that holds ``marker``."""
        self._marker = marker

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for pump in self._pumps:
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self._upstream)
        one_byte_answers = [0]
        pumps = (
            asyncio.create_task(self._from_client(client_reader, server_writer, one_byte_answers)),
            asyncio.create_task(self._from_server(server_reader, client_writer, one_byte_answers)),
        )
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._pumps.difference_update(pumps)
            for writer in (client_writer, server_writer):
                writer.close()

    @staticmethod
    async def _from_client(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, one_byte_answers: list[int]
    ) -> None:
        while True:  # the startup phase: requests framed by their length alone
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            if code in (_SSL_REQUEST, _GSSENC_REQUEST):
                one_byte_answers[0] += 1  # counted before it is sent: the answer cannot come first
                writer.write(head)
                await writer.drain()
                continue
            writer.write(head + await reader.readexactly(length - 8))
            await writer.drain()
            break
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    async def _from_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, one_byte_answers: list[int]
    ) -> None:
        cutting = False
        while True:
            kind = await reader.readexactly(1)
            if one_byte_answers[0]:
                one_byte_answers[0] -= 1
                writer.write(kind)
                continue
            head = await reader.readexactly(4)
            message = kind + head + await reader.readexactly(struct.unpack("!i", head)[0] - 4)
            if not cutting and kind == b"D" and self._marker is not None and self._marker in message:
                self._marker = None
                cutting = True
            if cutting:
                if kind == b"Z":  # committed, and ready for the next statement: the answer is lost
                    self.cuts += 1
                    return
                continue
            writer.write(message)
            await writer.drain()
