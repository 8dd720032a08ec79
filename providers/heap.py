"""glibc's allocator, set for the process that calls: from what size a block gets a mapping of its own
(unmapped when freed) and from what size the heap's free top goes back to the system (``mallopt``),
and giving free memory back now (``malloc_trim``). Elsewhere (musl, macOS) nothing changes.

The bot sets a low threshold (what a large upload freed goes back, bot.main.cli.server); the local
engine's processes a high one (what onnxruntime frees is reused, providers.localengine.models).
"""

from __future__ import annotations

import ctypes
import sys
from functools import lru_cache
from typing import Any

#: mallopt's parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


@lru_cache(maxsize=1)
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # another C library (musl): its own allocator
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def map_from(size: int, *, trim_from: int | None = None) -> bool:
    """Blocks of ``size`` bytes or more get mappings of their own, smaller ones stay in the heap for
    reuse once freed, and with ``trim_from`` the heap's free top goes back to the system from that
    size; fixed, where glibc would raise its threshold by itself. Whether it was set: a glibc that
    refuses the size (older ones took at most 32 MB) keeps its own settings, since setting the trim
    threshold alone would fix the other at 128 KB."""
    libc = _glibc()
    if libc is None or not libc.mallopt(M_MMAP_THRESHOLD, size):
        return False
    return trim_from is None or bool(libc.mallopt(M_TRIM_THRESHOLD, trim_from))


def give_back() -> None:
    """Give the free memory of every heap back to the system now (about 10 ms)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
