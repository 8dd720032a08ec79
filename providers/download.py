"""Fetching result images from provider URLs: http(s) only, size-capped, no private addresses.

The address check sits in the connection's own DNS resolver, so the address that is checked
is the address that is connected to: a name that resolves to a public address when checked
and to a private one when connected (DNS rebinding) has no second lookup to exploit.
"""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from providers.errors import ResultDownloadError
from providers.session import LazySession, tls_context, tls_problem

DEFAULT_DOWNLOAD_TIMEOUT = 60.0
CHUNK_BYTES = 64 * 1024
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def looks_like_image(data: bytes) -> bool:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(_IMAGE_MAGIC)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: RFC 8215's local-use IPv4/IPv6 translation prefix: a translator of the local network's own, which
#: may embed any IPv4 address (at a prefix length of its choosing), so none of it is public. Python
#: before 3.12.4 calls it global.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches through a translator or tunnel: NAT64 (64:ff9b::/96),
    6to4 (2002::/16) or the old IPv4-compatible form (::a.b.c.d)."""
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _is_public(address: str) -> bool:
    """Whether an address is public, also the IPv4 address inside an IPv6 one that leads to it
    (``64:ff9b::7f00:1`` is global to Python, yet a NAT64 gateway connects it to 127.0.0.1)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip in _LOCAL_NAT64:
        return False
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return ip.is_global and (inner is None or inner.is_global)


class PrivateAddress(OSError):
    """The host resolves to a private, loopback or link-local address."""


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing any host with a non-public address among its answers."""

    def __init__(self) -> None:
        self._resolver = aiohttp.DefaultResolver()

    async def resolve(
        self,
        host: str,
        port: int = 0,
        family: socket.AddressFamily = socket.AF_INET,
    ) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        if not all(_is_public(answer["host"]) for answer in answers):
            raise PrivateAddress(f"{host} has a private or local address")
        return answers

    async def close(self) -> None:
        await self._resolver.close()


class Downloader:
    """Downloads result images with the checks every provider result needs."""

    def __init__(
        self,
        *,
        max_bytes: int,
        allow_private_addresses: bool = False,
        timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        ca_file: str = "",
    ) -> None:
        self.max_bytes = max_bytes
        self.allow_private = allow_private_addresses
        self._session = LazySession(
            aiohttp.ClientTimeout(total=timeout),
            resolver=None if allow_private_addresses else PublicOnlyResolver,
            tls=tls_context(ca_file),
        )

    async def aclose(self) -> None:
        await self._session.aclose()

    async def fetch(self, url: str) -> bytes:
        try:
            parts = URL(url)
        except ValueError as err:
            raise ResultDownloadError("result URL is not http(s)") from err
        if parts.scheme not in ("http", "https") or not parts.host:
            raise ResultDownloadError("result URL is not http(s)")
        # aiohttp connects to an IP literal without asking the resolver.
        if not self.allow_private and _is_ip(parts.host) and not _is_public(parts.host):
            raise ResultDownloadError("result URL points to a private or local address")
        try:
            async with self._session.get().get(url, allow_redirects=False) as response:
                if response.status != 200:
                    raise ResultDownloadError(f"result download answered HTTP {response.status}")
                if response.content_length is not None and response.content_length > self.max_bytes:
                    raise ResultDownloadError("result is larger than the download limit")
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ResultDownloadError("result is larger than the download limit")
                    chunks.append(chunk)
        except aiohttp.ClientConnectorError as err:
            if isinstance(err.os_error, PrivateAddress):
                raise ResultDownloadError("result URL points to a private or local address") from err
            raise ResultDownloadError(f"result download failed: {tls_problem(err) or type(err).__name__}") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ResultDownloadError(f"result download failed: {type(err).__name__}") from err
        data = b"".join(chunks)
        if not looks_like_image(data):
            raise ResultDownloadError("result is not an image")
        return data


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
