"""The engine's processes keep freed memory for the next allocation (models.reuse_freed_memory):
onnxruntime allocates every layer's output anew, and glibc handed each large block back to the
system, to be faulted in again page by page on the next run. Checked in a process of its own, as
the setting holds for the whole process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Allocates and frees 32 MB, then prints how much of it glibc mapped on its own and how much it
#: kept in the heap once freed (mallinfo2, glibc 2.33 and later).
_PROBE = """
import ctypes, sys
import numpy as np
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
        ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    from providers.localengine.models import reuse_freed_memory
    assert reuse_freed_memory()
block = np.ones(32 * 2**20, dtype=np.uint8)
mapped = libc.mallinfo2().hblkhd
del block
print(mapped // 2**20, libc.mallinfo2().fordblks // 2**20)
"""


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
