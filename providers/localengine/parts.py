"""A model's parts (tflite.py) kept on disk beside it, so that a new process does not cut Face
Mesh with irises at MediaPipe's operations and pack its parts again (0.16 s of every cold start).

``photobot models`` writes the file (``<model>.parts``); the engine writes it too where it finds
none it can use (best effort: the models folder may be read-only). A file is used only if it was
cut from exactly this model (its SHA-256), by this way of cutting (``VERSION``), and its parts are
the bytes that were written (their SHA-256): anything else is cut again from the model, never run.

The file: a first line naming the format, a line with the SHA-256 of all that follows it, a line
of JSON (the plan: steps, tensors, where each part's bytes are, the model's digest), then the
parts' bytes one after another.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from providers.localengine.tflite import Custom, Part, Plan, needs_split, split

#: Raised whenever the cutting in tflite.py changes what it makes of the same model.
VERSION = 3
_MAGIC = b"photobot tflite parts\n"
SUFFIX = ".parts"


def parts_path(model: Path) -> Path:
    """Where the parts of the model file ``model`` are kept."""
    return model.with_name(model.name + SUFFIX)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dump(plan: Plan, source: bytes) -> bytes:
    """The file's bytes for ``plan``, cut from the model ``source``."""
    payload = bytearray()
    steps: list[dict[str, Any]] = []
    for step in plan.steps:
        if isinstance(step, Custom):
            custom = {"custom": step.name, "options": dict(step.options)}
            steps.append({**custom, "inputs": step.inputs, "output": step.output})
            continue
        steps.append({"at": len(payload), "size": len(step.content), "inputs": step.inputs, "outputs": step.outputs})
        payload += step.content
    header = {
        "version": VERSION,
        "source": _digest(source),
        "inputs": plan.inputs,
        "outputs": plan.outputs,
        "steps": steps,
    }
    body = json.dumps(header).encode() + b"\n" + bytes(payload)
    return _MAGIC + _digest(body).encode() + b"\n" + body


def load(data: bytes, source: bytes) -> Plan | None:
    """The plan in a file's bytes, or None where they are not the parts of ``source`` cut this way
    (another model, an older cut, damaged or cut short)."""
    if not data.startswith(_MAGIC):
        return None
    digest, _, body = data[len(_MAGIC) :].partition(b"\n")
    if digest != _digest(body).encode():
        return None
    line, _, payload = body.partition(b"\n")
    try:
        header = json.loads(line)
        if header["version"] != VERSION or header["source"] != _digest(source):
            return None
        steps: list[Part | Custom] = []
        for step in header["steps"]:
            if "custom" in step:
                steps.append(Custom(step["custom"], step["options"], tuple(step["inputs"]), int(step["output"])))
                continue
            at, size = int(step["at"]), int(step["size"])
            content = payload[at : at + size]
            if len(content) != size:
                return None
            steps.append(Part(content, tuple(step["inputs"]), tuple(step["outputs"])))
        return Plan(tuple(steps), tuple(header["inputs"]), tuple(header["outputs"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def write(path: Path, plan: Plan, source: bytes) -> None:
    """The parts' file at ``path``, renamed into place: a process never reads half a file."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")  # never another writer's
    try:
        partial.write_bytes(dump(plan, source))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def plan_of(model: Path) -> Plan:
    """The plan of the model file ``model``: from its parts' file where that is good, else cut
    again and the file written again where the folder allows (``photobot models`` calls this to
    write it)."""
    source = model.read_bytes()
    if not needs_split(source):
        return split(source)
    path = parts_path(model)
    try:
        kept = load(path.read_bytes(), source)
    except OSError:
        kept = None
    if kept is not None:
        return kept
    plan = split(source)
    try:
        write(path, plan, source)
    except OSError:
        pass  # a read-only models folder: cut on every start, as before the file existed
    return plan
