"""glibc's allocator as each process sets it (providers/heap.py). The engine's processes keep freed
memory for the next allocation (models.reuse_freed_memory): onnxruntime allocates every layer's
output anew, and glibc handed each large block back to the system, to be faulted in again page by
page on the next run. The bot's process gives large blocks back (a large upload's pixels). Checked
in a process of its own, as the setting holds for the whole process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: glibc's own account of the process's memory (mallinfo2, glibc 2.33 and later); ``set_up`` is the
#: process's allocator setting of the mode in ``sys.argv[1]``.
_MALLINFO = """
import ctypes, sys
import numpy as np
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
        ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
def set_up():
    if sys.argv[1] == "keep":  # the local engine's processes
        from providers.localengine.models import reuse_freed_memory
        assert reuse_freed_memory()
    if sys.argv[1] == "bot":  # the bot's process
        from bot.main.cli.server import _return_freed_memory
        _return_freed_memory()
"""
#: Allocates and frees 32 MB, then prints how much of it glibc mapped on its own and how much it
#: kept in the heap once freed.
_PROBE = (
    _MALLINFO
    + """
set_up()
block = np.ones(32 * 2**20, dtype=np.uint8)
mapped = libc.mallinfo2().hblkhd
del block
print(mapped // 2**20, libc.mallinfo2().fordblks // 2**20)
"""
)
#: Allocates and frees 16 MB (glibc then raises its threshold to that size), then prints how much of
#: an 8 MB block glibc mapped on its own.
_PROBE_AFTER_LARGE_FREE = (
    _MALLINFO
    + """
set_up()
first = np.ones(16 * 2**20, dtype=np.uint8)
del first
block = np.ones(8 * 2**20, dtype=np.uint8)
print(libc.mallinfo2().hblkhd // 2**20)
"""
)


def _probe(mode: str) -> tuple[int, int]:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    mapped, kept = run.stdout.split()
    return int(mapped), int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_large_freed_block_stays_in_the_heap():
    try:
        default = _probe("default")
    except subprocess.CalledProcessError as err:
        if "mallinfo2" in err.stderr:
            pytest.skip("glibc older than 2.33")
        raise
    mapped, kept = default
    assert mapped == 32 and kept < 32  # mapped on its own, and handed back when freed
    mapped, kept = _probe("keep")
    assert mapped == 0 and kept >= 32  # taken from the heap, and kept there for the next


def test_an_engine_worker_gives_freed_memory_back_once_idle(monkeypatch):
    import threading

    from providers.localengine import models, worker

    given_back = threading.Event()
    monkeypatch.setattr(models, "release_freed_memory", given_back.set)
    monkeypatch.setattr(worker, "IDLE_TRIM_SECONDS", 0.05)
    worker._trim_when_idle(True)  # a photo ended
    worker._trim_when_idle(False)  # the next one started at once: nothing is given back meanwhile
    assert not given_back.wait(0.3)
    worker._trim_when_idle(True)
    assert given_back.wait(10)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_the_bot_gives_large_freed_blocks_back_even_after_a_larger_one():
    """The bot's process (bot.main.cli.server) fixes the threshold low: a large upload's pixels go
    back to the system when freed, where glibc would have raised its threshold past them."""

    def mapped(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _PROBE_AFTER_LARGE_FREE, mode],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "mallinfo2" in run.stderr:
            pytest.skip("glibc older than 2.33")
        assert run.returncode == 0, run.stderr
        return int(run.stdout)

    assert mapped("default") == 0  # glibc's own threshold rose to 16 MB: the block came from the heap
    assert mapped("bot") == 8
