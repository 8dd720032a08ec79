"""Comparing what a stranger sent with a secret of ours, in constant time, whatever they sent."""

from __future__ import annotations

import hmac


def same_secret(offered: str, expected: str) -> bool:
    """Whether ``offered`` (a request's header or path: aiohttp makes lone surrogates of bytes that
    are not UTF-8, which a plain ``encode`` refuses with an error, a stranger's 500) is
    ``expected``, compared in constant time."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), offered.encode("utf-8", "surrogatepass"))
