"""One aiohttp session per client, made on first use, and the TLS settings every one shares.

aiohttp binds a session to the event loop it was made in, and provider clients are built
before the bot's loop runs requests (and, in tests, sometimes outside any loop), so the
session is opened lazily by the first request.

Every https connection verifies the server's certificate and host name, always: against the
system's CA certificates, OpenSSL's ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when they are set, and
the operator's ``network.ca_file`` (a provider or proxy behind a private CA). Nothing here can
turn verification off.
"""

from __future__ import annotations

import os
import ssl
from functools import lru_cache

import aiohttp
from aiohttp.abc import AbstractResolver


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """The client TLS settings for provider requests and result downloads: certificates and host
    names verified, ``ca_file`` (PEM) trusted besides the default CA certificates.

    Made once per process for each CA file (loading the system's CA certificates takes about
    20 ms, and blocks); the environment is read when it is made, as OpenSSL reads it."""
    return _context(ca_file, os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))


@lru_cache(maxsize=8)
def _context(ca_file: str, _cert_file_env: str, _cert_dir_env: str) -> ssl.SSLContext:
    # The environment is part of the key: a context made before SSL_CERT_FILE was set would not
    # know the CA it names.
    context = ssl.create_default_context()  # CERT_REQUIRED, check_hostname, the default CA paths
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    # As aiohttp's own default context.
    context.options |= ssl.OP_NO_COMPRESSION
    context.set_alpn_protocols(("http/1.1",))
    return context


def tls_problem(err: aiohttp.ClientConnectorError) -> str | None:
    """What went wrong in the TLS handshake, in words for the operator's log (None: the failure
    was not TLS's)."""
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        refused = err.certificate_error
        reason = getattr(refused, "verify_message", "") or str(refused)
        return f"TLS certificate refused: {reason} (a private CA's certificate goes in network.ca_file)"
    if isinstance(err, aiohttp.ClientSSLError):
        return f"TLS handshake failed: {err.os_error}"
    return None


class LazySession:
    def __init__(
        self,
        timeout: aiohttp.ClientTimeout,
        *,
        resolver: type[AbstractResolver] | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = timeout
        self._resolver = resolver
        self._tls = tls if tls is not None else tls_context()
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=self._resolver() if self._resolver else None, ssl=self._tls)
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
