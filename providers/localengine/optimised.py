"""The cut-out models as onnxruntime optimised them on this machine, kept beside each model, so that
a new process builds the full U²-Net's session in about half the time (0.43 to 0.23 s: no float16
weights to widen, no graph to rewrite; docs/benchmarks.md, "Cold start").

onnxruntime's fully optimised graph lays the convolutions out for this processor's vector width
(NCHWc blocks), so a copy is only good for the processor kind it was made on and the onnxruntime
that made it. Its name holds a digest of both and of the source model's size and modification
time, and a copy of another name is never read. It is written the first time a model is built
without one, where the models folder is writable (best effort: it may be read-only), and it
replaces that model's older copies. It is written under a temporary name and renamed, so a copy
is whole; one that onnxruntime cannot read anyway is deleted and the model built from its source.
"""

from __future__ import annotations

import hashlib
import os
import platform
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

SUFFIX = ".optimised.onnx"
_TEMPORARY = ".writing"


def _processor() -> str:
    """What onnxruntime's kernels choose by: the machine and its instruction set extensions."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return f"{platform.machine()} {line.strip()}"
    except OSError:
        pass
    return f"{platform.machine()} {platform.processor()}"


def copy_path(model: Path, runtime: str) -> Path:
    """Where the copy of ``model`` optimised by onnxruntime ``runtime`` on this processor is kept."""
    stat = model.stat()
    key = f"{model.name}\n{stat.st_size}\n{stat.st_mtime_ns}\n{runtime}\n{_processor()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return model.with_name(f"{model.stem}.{digest}{SUFFIX}")


def _others(model: Path, keep: Path) -> list[Path]:
    """The model's other copies, and copies left half written by a process that stopped."""
    found = model.parent.glob(f"{model.stem}.*{SUFFIX}*")
    return [path for path in found if path != keep]


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
            copy.unlink(missing_ok=True)
    if os.access(model.parent, os.W_OK):
        writing = copy.with_name(f"{copy.name}{_TEMPORARY}-{uuid.uuid4().hex}")
        with_copy = options(False)
        with_copy.optimized_model_filepath = str(writing)
        try:
            built = ort.InferenceSession(str(model), sess_options=with_copy, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - the copy could not be written: build as if read-only
            writing.unlink(missing_ok=True)
        else:
            _keep(model, writing, copy)
            return built
    return ort.InferenceSession(str(model), sess_options=options(False), providers=["CPUExecutionProvider"])


def _keep(model: Path, writing: Path, copy: Path) -> None:
    try:
        os.replace(writing, copy)
        for old in _others(model, copy):
            old.unlink(missing_ok=True)
    except OSError:
        writing.unlink(missing_ok=True)
