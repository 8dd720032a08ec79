"""The cut-out models as onnxruntime optimised them on this machine, kept beside each model, so that
a new process builds the full U²-Net's session in about half the time (no graph to rewrite: the
8-bit network 0.35-0.54 to 0.16-0.22 s, the one stored in float16 0.43 to 0.23 s;
docs/benchmarks.md, "Cold start").

onnxruntime's fully optimised graph lays the convolutions out for this processor's vector width
(NCHWc blocks), so a copy is only good for the processor kind it was made on and the onnxruntime
that made it. Its name holds two digests: of the source model (its size and modification time)
and of the environment (this recipe's ``RECIPE``, onnxruntime's version, the processor's
instruction sets); a copy of another name is never read. It is written the first time a model is
built without one, where the models folder is writable and has room (best effort: it may be
read-only), and it replaces the copies of an older source model; copies for other environments
sharing the folder (another onnxruntime, another machine) stay, so that they do not replace each
other on every start. One process at a time writes it (a claim file beside it; the others build
from the model meanwhile). It is written under a temporary name and renamed, so a copy is whole;
one that onnxruntime cannot read is deleted where it can be, and the model built from its source.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

SUFFIX = ".optimised.onnx"
_TEMPORARY = ".writing"
#: Raised whenever what is saved changes (the session options, the level of optimisation saved).
RECIPE = 1
#: A temporary copy this old was left by a process that stopped while writing it.
ABANDONED_SECONDS = 3600
#: Room to leave on the disk beyond the copy itself.
SPARE_BYTES = 512 * 2**20


def extensions_line(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's instruction set extensions as Linux lists them (the first ``flags`` or, on
    ARM, ``Features`` line of ``cpuinfo``), or "" where it cannot be read."""
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as info:
            return next((line.strip() for line in info if line.startswith(("flags", "Features"))), "")
    except OSError:
        return ""


@lru_cache(maxsize=1)
def _processor() -> str:
    """What onnxruntime's kernels choose by: the machine and its instruction set extensions."""
    return f"{platform.machine()} {extensions_line() or platform.processor()}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _source_digest(model: Path) -> str:
    stat = model.stat()
    return _digest(f"{model.name}\n{stat.st_size}\n{stat.st_mtime_ns}")


def copy_path(model: Path, runtime: str) -> Path:
    """Where the copy of ``model`` optimised by onnxruntime ``runtime`` on this processor is kept."""
    environment = _digest(f"{RECIPE}\n{runtime}\n{_processor()}")
    return model.with_name(f"{model.stem}.{_source_digest(model)}-{environment}{SUFFIX}")


def _abandoned(path: Path) -> bool:
    """Whether ``path`` (a temporary copy, a claim) was left by a process that stopped long ago."""
    return time.time() - path.stat().st_mtime > ABANDONED_SECONDS


def _stale(model: Path, keep: Path) -> list[Path]:
    """Copies of an older source model, and temporary copies left long ago by a process that stopped."""
    source = _source_digest(model)
    stale = []
    for path in model.parent.glob(f"{model.stem}.*{SUFFIX}*"):
        if path == keep:
            continue
        with contextlib.suppress(OSError):
            if _TEMPORARY in path.name:
                if _abandoned(path):
                    stale.append(path)
            elif not path.name.startswith(f"{model.stem}.{source}-"):
                stale.append(path)
    return stale


def _writable(model: Path) -> bool:
    """Whether a copy (at most about twice the model's size) can be written beside ``model``."""
    if not os.access(model.parent, os.W_OK):
        return False
    try:
        free = shutil.disk_usage(model.parent).free
    except OSError:
        return False
    return free > 2 * model.stat().st_size + SPARE_BYTES


def session(model: Path, options: Callable[[bool], Any]) -> Any:
    """An onnxruntime session of ``model``, built from its optimised copy where there is one.
    ``options(copy)`` makes the session options: for a copy it should ask for the basic level of
    optimisation only (the rest is done already)."""
    import onnxruntime as ort

    copy = copy_path(model, ort.__version__)
    if copy.is_file():
        try:
            return ort.InferenceSession(str(copy), sess_options=options(True), providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - onnxruntime's errors share no base class but Exception
            with contextlib.suppress(OSError):  # a folder this process may not change
                copy.unlink(missing_ok=True)
    if not copy.exists() and _writable(model) and _claim(copy):
        try:
            writing = copy.with_name(f"{copy.name}{_TEMPORARY}-{uuid.uuid4().hex}")
            with_copy = options(False)
            with_copy.optimized_model_filepath = str(writing)
            try:
                built = ort.InferenceSession(str(model), sess_options=with_copy, providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001 - the copy could not be written: build as if read-only
                with contextlib.suppress(OSError):
                    writing.unlink(missing_ok=True)
            else:
                _keep(model, writing, copy)
                return built
        finally:
            with contextlib.suppress(OSError):
                _claim_path(copy).unlink(missing_ok=True)
    return ort.InferenceSession(str(model), sess_options=options(False), providers=["CPUExecutionProvider"])


def _claim_path(copy: Path) -> Path:
    return copy.with_name(f"{copy.name}.claimed")


def _claim(copy: Path) -> bool:
    """Whether this process may write ``copy``: one writer at a time (the bot's engine workers all
    build at start, and each would write its own, 45-177 MB for the full U²-Net); a claim left by a
    process that stopped is taken over after ``ABANDONED_SECONDS``."""
    claim = _claim_path(copy)
    for _ in range(2):
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            with contextlib.suppress(OSError):
                if _abandoned(claim):
                    claim.unlink(missing_ok=True)
                    continue
            return False
        except OSError:
            return False
    return False


def _keep(model: Path, writing: Path, copy: Path) -> None:
    try:
        os.replace(writing, copy)
        for old in _stale(model, copy):
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            writing.unlink(missing_ok=True)
