"""An album made into one order of ID photos (issue 27: "a family in one order").

The person chooses the spec, colour and options once, for the album (its photos collected by
bot/telegram/conversations/album.py). Before the summary every photo goes through the checks one
photo gets before any charge: the face check (one face, straight, eyes open, sharp, lit) and
whether it can make the chosen spec (``fit.judge``). The photos refused are named, each with its
own advice, and left out of the price; the rest are one order: one job per photo
(``PendingOrder.extras``, placed by ``Jobs.create_many`` in one ``order_group``), each at
the spec's full price and settled on its own, so a photo whose making fails is not charged.

With the local engine an album skips the free preview one photo gets: ten watermarked previews
to look through before a Confirm would bury the summary, and the checks above already ran on each
photo. Each photo is then made as a paid photo without a preview is: a doubtful cut-out fails
that photo (free) with the advice to stand before a plain wall, and the others are delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from bot.domain.session import Album, AlbumPhoto, ExtraOrder, PendingOrder
from bot.services.idphoto.fit import frames_from_the_photo, judge
from bot.services.idphoto.state import IdPhotoDraft
from bot.storage.jobs import Job, JobState
from bot.telegram.context import Context
from bot.telegram.conversations.album import numbered_line
from bot.telegram.conversations.common import face_findings
from bot.telegram.conversations.intake import refusal_text
from bot.telegram.ui.i18n import t
from bot.telegram.ui.results import Bundle
from providers.orders import IdPhotoOrder
from providers.specs import Spec, load_catalog

NAME = "idphoto"


@dataclass
class AlbumCheck:
    """What the checks made of an album's photos for one spec: those that can be made, in order,
    and, by reason, the photos refused (why, and what to do) or made with a warning. One line a
    reason, naming its photos: ten photos with the same advice, a line each, made a summary
    longer than Telegram shows (4,096 characters), and the album could not be ordered."""

    accepted: list[AlbumPhoto] = field(default_factory=list)
    #: Reason (refused) or advice (warned) text -> the numbers of its photos, in the album's order.
    refused: dict[str, list[int]] = field(default_factory=dict)
    warnings: dict[str, list[int]] = field(default_factory=dict)

    def refuse(self, number: int, reason: str) -> None:
        self.refused.setdefault(reason, []).append(number)

    def warn(self, number: int, advice: str) -> None:
        self.warnings.setdefault(advice, []).append(number)

    @property
    def refused_count(self) -> int:
        return sum(len(numbers) for numbers in self.refused.values())

    def notes(self, lang: str) -> str:
        return "\n".join(
            [numbered_line(lang, "album.refused_line", numbers, reason) for reason, numbers in self.refused.items()]
            + [numbered_line(lang, "album.advice_line", numbers, advice) for advice, numbers in self.warnings.items()]
        )


async def check_album(context: Context, album: Album, spec: Spec) -> AlbumCheck:
    """Every photo of ``album`` through the checks before a charge, for ``spec``. Raises the
    engine's EngineBusy / EngineTimeout as the one photo's check does (nothing is charged)."""
    lang = context.lang
    checked = AlbumCheck()
    title = spec.name(lang)
    for photo in album.photos:
        if photo.photo is None:
            reason = refusal_text(context, photo.refusal or "input.download_failed")
            checked.refuse(photo.number, reason)
            continue
        findings = await face_findings(context, photo.photo)
        problem = findings.problem or findings.id_problem
        verdict = judge(spec, findings, frames_from_the_photo=frames_from_the_photo(context.deps.provider_for(NAME)))
        if problem is not None or verdict.refusal is not None:
            key = f"face.{problem}" if problem is not None else verdict.refusal or ""
            checked.refuse(photo.number, t(lang, key, title=title, width=spec.px[0], height=spec.px[1]))
            continue
        checked.accepted.append(photo)
        for advice in verdict.advice:
            checked.warn(photo.number, t(lang, advice))
    return checked


def album_order(draft: IdPhotoDraft, checked: AlbumCheck, lang: str) -> PendingOrder:
    """One order of the accepted photos, each its own job at the full price: the first photo's order
    and the others as its extras, each naming its photo's number in the album."""
    parts = [
        (IdPhotoOrder.model_validate({**draft.order.model_dump(), "album_photo": photo.number}), photo)
        for photo in checked.accepted
    ]
    refs = [photo.photo.ref if photo.photo is not None else None for _, photo in parts]
    numbers = t(lang, "list.separator").join(str(photo.number) for photo in checked.accepted)
    count = len(checked.accepted) + len(checked.refused)
    notes = t(lang, "album.order", made=len(parts), count=count, numbers=numbers)
    if len(parts) > 1:  # one photo is its own file: no zip of one
        notes += " " + t(lang, "album.order_zip")
    if lines := checked.notes(lang):
        notes += "\n" + lines
    (first, _), first_ref = parts[0], refs[0]
    extras = [ExtraOrder(order, ref) for (order, _), ref in zip(parts[1:], refs[1:], strict=True)]
    return PendingOrder(NAME, first, first_ref, extras=extras, album=True, notes=notes)


def none_made_text(lang: str, spec: Spec, checked: AlbumCheck) -> str:
    """No photo of the album can make the spec: each named with why, and nothing ordered."""
    return t(lang, "album.none_usable", count=checked.refused_count, title=spec.name(lang), lines=checked.notes(lang))


def _size_name(order: IdPhotoOrder) -> str:
    """The size an album's files are named by: "35x45mm" (or its pixels when it has no print size)."""
    spec = load_catalog().for_order(order)
    mm_w, mm_h = spec.mm if spec else (order.mm_width, order.mm_height)
    if mm_w and mm_h:
        return f"{mm_w:g}x{mm_h:g}mm"
    return f"{order.px_width}x{order.px_height}px"


def _spec_name(order: IdPhotoOrder) -> str:
    """The spec an album's files are named by: its short name ("usa-visa"), or its number."""
    spec = load_catalog().for_order(order)
    return spec.slug if spec else str(order.spec_id)


def bundle(jobs: list[Job], lang: str) -> Bundle | None:
    """The zip of an album's exact files once every photo's job ended, named by spec, size and the
    photo's number in the album: "usa-visa_51x51mm-1.jpg", … (a print sheet after its photo, "-2");
    photos that failed or were cancelled are not in it. None for an order that is not an album's."""
    try:
        orders = [IdPhotoOrder.model_validate(job.options) for job in jobs]
    except ValidationError:  # a forgotten person's jobs keep no order
        return None
    if not orders or orders[0].album_photo is None:
        return None
    files: list[tuple[int, str, str]] = []
    for job, order in zip(jobs, orders, strict=True):
        if job.state != JobState.SUCCEEDED or job.result is None or order.album_photo is None:
            continue
        name = f"{_spec_name(order)}_{_size_name(order)}-{order.album_photo}"
        files += [
            (order.album_photo, name + (f"-{i + 1}" if i else "") + ".jpg", ref)
            for i, ref in enumerate(job.result.files)
        ]
    ordered = [(name, ref) for _, name, ref in sorted(files, key=lambda f: f[0])]
    return Bundle(ordered, f"idphoto_{_spec_name(orders[0])}_album.zip", jobs=len(jobs))
