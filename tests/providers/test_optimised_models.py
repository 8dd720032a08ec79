"""The cut-out models as onnxruntime optimised them on this machine (optimised.py): written beside
the model the first time it is built, read after that, and never a copy made for another model,
processor or onnxruntime, nor a damaged one."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="the photobot[local] extra is not installed")

import onnxruntime as ort

from providers.localengine import models, optimised
from providers.localengine.files import u2netp_path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """U²-Net-p in a folder of its own (the full U²-Net is kept the same way, and 20 times larger)."""
    source = u2netp_path()
    if source is None:
        pytest.skip("photobot models has not installed U²-Net-p")
    return Path(shutil.copy(source, tmp_path / "u2netp.onnx"))


class Options:
    """The engine's session options, counting what each session was built from."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def __call__(self, from_copy: bool) -> Any:
        self.built.append("copy" if from_copy else "model")
        return models._options(from_copy)


def _mask(session: Any) -> np.ndarray:
    grey = np.random.default_rng(0).random((1, 3, 320, 320)).astype(np.float32)
    return session.run(None, {session.get_inputs()[0].name: grey})[0]


def _copies(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name != "u2netp.onnx")


def test_the_copy_is_written_once_then_read_and_runs_as_the_model(model):
    options = Options()
    first = optimised.session(model, options)
    copy = optimised.copy_path(model, ort.__version__)
    assert _copies(model.parent) == [copy.name] and options.built == ["model"]
    again = optimised.session(model, options)
    assert options.built == ["model", "copy"]
    assert np.array_equal(_mask(again), _mask(first))
    plain = ort.InferenceSession(str(model), sess_options=models._options(False), providers=["CPUExecutionProvider"])
    assert np.array_equal(_mask(again), _mask(plain))


def test_a_damaged_copy_is_deleted_and_written_again(model):
    expected = _mask(optimised.session(model, Options()))
    copy = optimised.copy_path(model, ort.__version__)
    whole = copy.read_bytes()
    copy.write_bytes(whole[: len(whole) // 2])
    options = Options()
    assert np.array_equal(_mask(optimised.session(model, options)), expected)
    assert options.built == ["copy", "model"] and _copies(model.parent) == [copy.name]
    assert np.array_equal(_mask(optimised.session(model, options)), expected)
    assert options.built == ["copy", "model", "copy"]


def test_a_copy_is_named_for_its_model_runtime_and_processor(model, monkeypatch):
    name = optimised.copy_path(model, "1.25.1")
    assert name.parent == model.parent and name.name.startswith("u2netp.") and name.name.endswith(optimised.SUFFIX)
    assert optimised.copy_path(model, "1.25.1") == name
    assert optimised.copy_path(model, "1.26.0") != name
    monkeypatch.setattr(optimised, "_processor", lambda: "x86_64 flags: fpu sse2 avx2")
    avx2 = optimised.copy_path(model, "1.25.1")
    monkeypatch.setattr(optimised, "_processor", lambda: "x86_64 flags: fpu sse2 avx2 avx512f")
    assert optimised.copy_path(model, "1.25.1") not in (avx2, name)
    monkeypatch.undo()
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # `photobot models` wrote it again
    assert optimised.copy_path(model, "1.25.1") != name


def test_a_new_copy_replaces_an_older_models_and_long_abandoned_ones_only(model):
    folder = model.parent
    copy = optimised.copy_path(model, ort.__version__)
    source, environment = copy.name.removeprefix("u2netp.").removesuffix(optimised.SUFFIX).split("-")
    older_model = folder / f"u2netp.0123456789ab-{environment}{optimised.SUFFIX}"
    other_runtime = folder / f"u2netp.{source}-0123456789ab{optimised.SUFFIX}"  # another venv sharing it
    abandoned = folder / f"u2netp.{source}-0123456789ab{optimised.SUFFIX}.writing-1234"
    being_written = folder / f"u2netp.{source}-0123456789ab{optimised.SUFFIX}.writing-5678"
    other_model = folder / f"u2net.0123456789ab-{environment}{optimised.SUFFIX}"
    for path in (older_model, other_runtime, abandoned, being_written, other_model):
        path.write_bytes(b"old")
    long_ago = time.time() - optimised.ABANDONED_SECONDS - 60
    os.utime(abandoned, (long_ago, long_ago))
    optimised.session(model, Options())
    kept = [copy, other_runtime, being_written, other_model]
    assert _copies(folder) == sorted(path.name for path in kept)


def test_a_copy_that_cannot_be_deleted_is_left_and_the_model_built(model, monkeypatch):
    optimised.session(model, Options())
    copy = optimised.copy_path(model, ort.__version__)
    copy.write_bytes(b"unreadable")

    def refused(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refused)
    options = Options()
    assert _mask(optimised.session(model, options)).shape == (1, 1, 320, 320)
    assert options.built == ["copy", "model"]


def test_a_folder_it_cannot_write_builds_from_the_model_and_writes_nothing(model, monkeypatch):
    # Root may write anywhere, so the folder's answer is given, not made with chmod.
    monkeypatch.setattr(optimised.os, "access", lambda path, mode: False)
    options = Options()
    session = optimised.session(model, options)
    assert options.built == ["model"] and _copies(model.parent) == []
    assert _mask(session).shape == (1, 1, 320, 320)


def test_one_process_writes_the_copy_at_a_time(model):
    """The bot's engine workers all build at start: a claim beside the copy lets one write it, the
    others build from the model; a claim left by a process that stopped long ago is taken over."""
    copy = optimised.copy_path(model, ort.__version__)
    claim = copy.with_name(copy.name + ".claimed")
    claim.write_bytes(b"")  # another process is writing it
    options = Options()
    optimised.session(model, options)
    assert options.built == ["model"] and not copy.exists() and claim.exists()
    long_ago = time.time() - optimised.ABANDONED_SECONDS - 60
    os.utime(claim, (long_ago, long_ago))
    optimised.session(model, options)
    assert copy.is_file() and not claim.exists()
    assert _copies(model.parent) == [copy.name]
