"""``photobot idphoto`` and ``photobot specs``: the local engine and the spec catalog, without a bot.

``idphoto`` takes a photo through what the bot does with one: the same reading of the file (size
limits, HEIC, orientation), the same face check, the same verdict on the spec (bot/services/idphoto/
fit.py), then the local engine's placement and its measurements; a refusal prints the advice a chat
user gets and exits 1. Problems with the command itself (a spec that is not found, a colour the spec
does not take, an unreadable file, a path that is no regular file: a FIFO, a directory, a device)
exit 2; Ctrl-C prints one line and ends the process by SIGINT (bot.main.cli). At most the input
limit and one byte more is read. The engine runs in this process: there is no event loop
to keep free.

``--report`` prints the checklist the chat's free preview shows (the rule's bands in millimetres, the
pose, eyes, mouth, sharpness, light, the cut-out), and a doubtful cut-out is then a warning in it, not
a refusal, as in the chat; ``--json`` gives the same to scripts: one object on stdout, the items with
their key, status, value, unit, band and line of text, or ``{"refused": code, "message": ...}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.ops.images import MAX_INPUT_BYTES, MAX_STORED_BYTES, MAX_STORED_SIDE, ImageRejected, image_size, normalise
from bot.services.idphoto.choices import DEFAULT_COLORS, gradient_end, parse_mm, size_refusal
from bot.services.idphoto.fit import judge
from bot.services.idphoto.report_text import check_line, checklist_text, placement_text, size_fields, spec_text
from bot.telegram.ui.i18n import t
from providers.localengine.checklist import Checklist
from providers.specs import Spec, SpecCatalog, load_catalog

REFUSED = 1
USAGE = 2
#: The engine itself failed (a model file damaged after the start's check, memory run out): not a
#: refusal of the photo, which a script tells apart by this code.
ENGINE_FAILED = 3
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def _fail(text: str, code: int) -> int:
    print(text, file=sys.stderr)
    return code


def _spec_line(spec: Spec, lang: str) -> str:
    colours = (
        t(lang, "list.separator").join(t(lang, f"cli.colour_{name}") for name in spec.colors)
        if spec.colors
        else t(lang, "cli.any_colour")
    )
    if spec.custom is not None:
        bounds = spec.custom
        return t(lang, "cli.custom_line", id=spec.spec_id, name=spec.name(lang), min=bounds.min_mm, max=bounds.max_mm)
    return t(
        lang,
        "cli.spec_line",
        id=spec.spec_id,
        name=spec.name(lang),
        colours=colours,
        **size_fields(spec),
    )


def list_specs(args: argparse.Namespace) -> int:
    """Every spec by category, or those matching the query, best first."""
    lang: str = args.lang
    catalog = load_catalog()
    query = " ".join(args.query)
    if query:
        found = catalog.search(query)
        if not found:
            return _fail(t(lang, "cli.no_match", query=query), USAGE)
        print(t(lang, "cli.matches", query=query, count=len(found)))
        for spec in found:
            print("  " + _spec_line(spec, lang))
        return 0
    for category in catalog.categories:
        print(catalog.category_name(category, lang))
        for spec in catalog.in_category(category):
            print("  " + _spec_line(spec, lang))
    return 0


def _find_spec(catalog: SpecCatalog, text: str) -> Spec | None:
    """A spec by its id, or the first one a search finds."""
    found = catalog.search(text)
    return found[0] if found else None


def _colour(text: str, spec: Spec, lang: str, catalog: SpecCatalog) -> tuple[str, str] | str:
    """(name, hex) of the background asked for, or the message why it cannot be had."""
    allowed = spec.colors or DEFAULT_COLORS
    wanted = text.strip().lower()
    named = {name: name for name in catalog.palette}
    named.update({t(lang, f"cli.colour_{name}").lower(): name for name in catalog.palette})
    if wanted in named:
        name = named[wanted]
        if name not in allowed:
            names = t(lang, "list.separator").join(t(lang, f"cli.colour_{n}") for n in allowed)
            return t(lang, "cli.colour_not_allowed", name=spec.name(lang), allowed=names)
        return name, catalog.palette[name]
    match = _HEX.match(wanted)
    if match is None:
        return t(lang, "cli.bad_colour", text=text[:20])
    if spec.colors is not None:
        names = t(lang, "list.separator").join(t(lang, f"cli.colour_{n}") for n in allowed)
        return t(lang, "cli.colour_not_allowed", name=spec.name(lang), allowed=names)
    return f"#{match.group(1).upper()}", match.group(1).upper()


def _sized(spec: Spec, size_text: str | None, lang: str) -> Spec | str:
    """The spec at its typed size (a custom one), or the message why not."""
    if spec.custom is None:
        if size_text:
            return t(lang, "cli.size_only_custom", name=spec.name(lang), w=spec.mm[0], h=spec.mm[1])
        return spec
    size = parse_mm(size_text or "")
    if size is None:
        return t(lang, "cli.needs_size", name=spec.name(lang))
    return size_refusal(lang, spec.custom, size) or spec.sized(*size)


def make(args: argparse.Namespace) -> int:
    """An ID photo of ``args.photo`` for ``args.spec``, written to ``args.output``."""
    from providers.localengine import available

    lang: str = args.lang
    catalog = load_catalog()
    found = _find_spec(catalog, args.spec)
    if found is None:
        return _fail(t(lang, "cli.no_spec", query=args.spec), USAGE)
    spec = _sized(found, args.size, lang)
    if isinstance(spec, str):
        return _fail(spec, USAGE)
    colour = _colour(args.bg, spec, lang, catalog)
    if isinstance(colour, str):
        return _fail(colour, USAGE)
    if not available():
        from providers.localengine.install import damaged

        broken = damaged()
        text = t(lang, "cli.damaged_models", files=", ".join(broken)) if broken else t(lang, "cli.no_engine")
        return _fail(text, USAGE)
    try:
        data = _read_photo(args.photo)
    except NotAFile as err:
        return _fail(t(lang, "cli.not_a_file", path=args.photo, kind=t(lang, f"cli.kind_{err.kind}")), USAGE)
    except OSError as err:
        return _fail(t(lang, "cli.cannot_read", path=args.photo, reason=err.strerror or err), USAGE)
    if len(data) > MAX_INPUT_BYTES:
        return _fail(t(lang, "input.file_too_large"), REFUSED)
    from providers.localengine.models import build_cutout_soon, reuse_freed_memory

    reuse_freed_memory()
    # The cut-out models' sessions build while the photo is decoded and its face checked.
    builder = build_cutout_soon()
    try:
        try:
            image = normalise(data, max_side=MAX_STORED_SIDE, max_bytes=MAX_STORED_BYTES)
        except ImageRejected as err:
            return _fail(t(lang, f"input.{err.code}"), REFUSED)
        try:
            return _make(image.data, spec, colour, args, lang)
        except EngineFailed as err:
            return _fail(t(lang, "cli.engine_failed", reason=err.reason), ENGINE_FAILED)
    finally:
        builder.join()


class EngineFailed(Exception):
    """The engine itself failed on a photo (``reason``: what its libraries raised)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextlib.contextmanager
def _engine_work() -> Iterator[None]:
    """The engine's own calls: LiteRT's start-up notes silenced, and whatever its libraries raise
    (a model damaged since the start, memory run out) one EngineFailed; a photo's refusal
    (FaceCheckError) goes through."""
    from providers.localengine.faces import FaceCheckError

    with _native_logs_silenced():
        try:
            yield
        except FaceCheckError:
            raise
        except Exception as err:  # whatever onnxruntime or LiteRT raise
            raise EngineFailed(type(err).__name__) from err


class NotAFile(Exception):
    """The path names something other than a regular file (``kind``: fifo, directory, device, socket)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _read_photo(path: str) -> bytes:
    """The file at ``path``, at most ``MAX_INPUT_BYTES`` + 1 bytes of it (one more than the limit
    shows that it is too large). Only a regular file, or a symlink to one, is read: a FIFO would
    hang and a device (a symlink to /dev/zero) would never end. It is opened without blocking (a
    FIFO's open waits for a writer) and judged by what was opened, not by a look at the path first."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(_kind(mode))
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as file:
        return file.read(MAX_INPUT_BYTES + 1)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "fifo"), (stat.S_ISDIR, "directory"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "device"


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """LiteRT's native code writes its start-up notes (TensorFlow Lite's delegates) straight to
    file descriptor 2; an operator trying the engine wants the result, not those."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _refuse(text: str, code: str, args: argparse.Namespace) -> int:
    """A photo the chat would refuse: its advice, and for ``--json`` what it was, on stdout."""
    if args.json:
        print(json.dumps({"refused": code, "message": text}, ensure_ascii=False))
    return _fail(text, REFUSED)


def _make(photo: bytes, spec: Spec, colour: tuple[str, str], args: argparse.Namespace, lang: str) -> int:
    from providers.localengine.faces import FaceCheckError, inspect_face
    from providers.localengine.pipeline import make_id_photo, render_id_photo

    with _engine_work():
        findings = inspect_face(photo)
    problem = findings.problem or findings.id_problem
    if problem is not None:
        return _refuse(t(lang, f"face.{problem}"), problem, args)
    verdict = judge(spec, findings, frames_from_the_photo=True)
    if verdict.refusal is not None:
        refusal = t(lang, verdict.refusal, title=spec.name(lang), width=spec.px[0], height=spec.px[1])
        return _refuse(refusal, verdict.refusal.removeprefix("face."), args)
    for advice in verdict.advice:
        print(t(lang, advice), file=sys.stderr)
    _, hex_colour = colour
    # With the checklist the person sees what the cut-out left and decides, as with the chat's preview.
    checked = args.report or args.json
    try:
        with _engine_work():
            result = (render_id_photo if checked else make_id_photo)(
                photo,
                size=spec.px,
                dpi=spec.dpi,
                bg_color=hex_colour,
                bg_color2=gradient_end(hex_colour) if args.gradient else None,
                rule=spec.rule.rule_id,
            )
    except FaceCheckError as err:
        return _refuse(t(lang, f"face.{err.code}"), err.code, args)
    try:
        Path(args.output).write_bytes(result.data)
    except OSError as err:
        return _fail(t(lang, "cli.cannot_write", path=args.output, reason=err.strerror or err), USAGE)
    width, height = image_size(result.data)
    report = result.report()
    if checked:
        from providers.localengine.measure import report_of

        shares, cut_out, hands = result.shares, result.cut_out, result.hands
        with _engine_work():
            report = report_of(
                result.data, hex_colour, result.rule, spec.mm, shares=shares, cut_out=cut_out, hands=hands
            )
    if args.json:
        print(json.dumps(_json_report(spec, report, args.output, (width, height), lang), ensure_ascii=False, indent=2))
        return 0
    print(spec_text(lang, spec))
    print(checklist_text(spec, report, lang) if checked else placement_text(spec, report, lang))
    print(t(lang, "cli.written", path=args.output, width=width, height=height, dpi=spec.dpi))
    return 0


def _json_report(spec: Spec, report: dict[str, Any], output: str, size: tuple[int, int], lang: str) -> dict[str, Any]:
    """What ``--json`` prints: the spec, the file written, the rule, and the checklist with each
    item's line of text in the chosen language."""
    checklist = Checklist.from_json(report.get("checklist") or [])
    return {
        "spec": {"id": spec.spec_id, "name": spec.name(lang), "mm": list(spec.mm), "dpi": spec.dpi},
        "file": {"path": output, "width": size[0], "height": size[1]},
        "rule": report["rule"],
        "official": spec.rule.official and not spec.fallback,
        "worst": checklist.worst,
        "checklist": [{**item.to_json(), "text": check_line(item, lang)} for item in checklist.items],
    }
