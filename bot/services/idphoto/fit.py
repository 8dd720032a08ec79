"""Whether a checked photo can make a spec: the same verdict in the chat and on the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from providers.base import TaskProvider
from providers.localengine.findings import FaceFindings
from providers.placement import MAX_ENLARGEMENT, enlargement, expression, frame_below
from providers.specs import Spec

#: Share of the finished photo below the photo's bottom edge from which the local engine is sure to
#: refuse it as cut off below the chin (providers/localengine/beyond.py, which judges the person's
#: pixels there once the cut-out is made): told at once, before the options and the free preview.
#: On the three real-photo sets and four specs (sizes 413x531 to 1051x1500), over 10 % marks 17 of
#: the 32 photos the engine refused so when made, and none it made.
MAX_FRAME_BELOW = 0.10


def frames_from_the_photo(provider: TaskProvider[Any] | None) -> bool:
    """Whether ``provider`` (the one serving ID photos now) frames the photo from its own pixels
    alone (TaskProvider.frames_from_the_photo; see :func:`judge`)."""
    return provider is not None and provider.frames_from_the_photo


@dataclass(frozen=True)
class SpecVerdict:
    """A refusal (locale key) that ends the order for this spec, or advice (locale keys) to show
    with it; neither when the photo suits the spec."""

    refusal: str | None = None
    advice: tuple[str, ...] = ()


def judge(spec: Spec, findings: FaceFindings, *, frames_from_the_photo: bool) -> SpecVerdict:
    """A head that would have to be enlarged more than twice comes out soft. An open mouth is
    refused where the spec's rule wants a neutral expression, glasses where it forbids them (the
    U.S. since 2016), and hair over the eyes (or the eyebrows) where it wants them visible;
    elsewhere they are advice, as are uneven light, over- or underexposure and a head covering
    (allowed for religious or medical reasons, which no check can know). For a provider that
    ``frames_from_the_photo`` (the local engine; others frame it their own way), a photo that ends
    so close below the chin that the frame reaches far past its bottom edge is refused, as the
    engine would refuse it once the options were chosen."""
    if findings.checked and enlargement(spec.rule, spec.px, findings.head_px, findings.face_width_px) > MAX_ENLARGEMENT:
        return SpecVerdict(refusal="face.too_small_for_size" if spec.custom is not None else "face.too_small_for_spec")
    verdict = expression(spec.rule, findings.mouth)
    if verdict == "refuse":
        return SpecVerdict(refusal="face.mouth_open")
    if findings.glasses and spec.rule.no_glasses:
        return SpecVerdict(refusal="face.glasses_forbidden")
    if findings.hair_over_eyes and spec.rule.eyes_visible:
        return SpecVerdict(refusal="face.hair_over_eyes")
    if findings.hair_over_brows and spec.rule.brows_visible:
        return SpecVerdict(refusal="face.hair_over_brows")
    if frames_from_the_photo and findings.room_below_px is not None:
        below = frame_below(spec.rule, spec.px, findings.head_px, findings.face_width_px, findings.room_below_px)
        if below > MAX_FRAME_BELOW:
            return SpecVerdict(refusal="face.shoulders_cut_off")
    advice = [f"face.{findings.mouth}_advice"] if verdict == "warn" else []
    if findings.uneven_light:
        advice.append("face.uneven_light_advice")
    if findings.overexposed:
        advice.append("face.overexposed_advice")
    if findings.underexposed:
        advice.append("face.underexposed_advice")
    if findings.hair_over_brows:
        advice.append("face.hair_over_eyes_advice" if findings.hair_over_eyes else "face.hair_over_brows_advice")
    if findings.head_covering:
        advice.append("face.head_covering_advice")
    return SpecVerdict(advice=tuple(advice))
