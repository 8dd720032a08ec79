"""Fetching result images from provider URLs: http(s) only, size-capped, no private addresses."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from providers.errors import ResultDownloadError

DEFAULT_DOWNLOAD_TIMEOUT = 60.0
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def looks_like_image(data: bytes) -> bool:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data.startswith(_IMAGE_MAGIC)


async def _check_host(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ResultDownloadError(f"cannot resolve result host: {err}") from err
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ResultDownloadError("result URL points to a private or local address")


class Downloader:
    """Downloads result images with the checks every provider result needs."""

    def __init__(
        self,
        *,
        max_bytes: int,
        allow_private_addresses: bool = False,
        timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    ) -> None:
        self.max_bytes = max_bytes
        self.allow_private = allow_private_addresses
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> bytes:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ResultDownloadError("result URL is not http(s)")
        if not self.allow_private:
            await _check_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ResultDownloadError(f"result download answered HTTP {response.status_code}")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise ResultDownloadError("result is larger than the download limit")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ResultDownloadError("result is larger than the download limit")
                    chunks.append(chunk)
        except httpx.HTTPError as err:
            raise ResultDownloadError(f"result download failed: {type(err).__name__}") from err
        data = b"".join(chunks)
        if not looks_like_image(data):
            raise ResultDownloadError("result is not an image")
        return data
