"""Whether a checked photo can make a spec: the same verdict in the chat and on the command line."""

from __future__ import annotations

from dataclasses import dataclass

from providers.localengine.findings import FaceFindings
from providers.placement import MAX_ENLARGEMENT, enlargement, expression
from providers.specs import Spec


@dataclass(frozen=True)
class SpecVerdict:
    """A refusal (locale key) that ends the order for this spec, or advice (locale key) to show
    with it; neither when the photo suits the spec."""

    refusal: str | None = None
    advice: str | None = None


def judge(spec: Spec, findings: FaceFindings) -> SpecVerdict:
    """A head that would have to be enlarged more than twice comes out soft; an open mouth is
    refused where the spec's rule wants a neutral expression, else it is advice."""
    if findings.checked and enlargement(spec.rule, spec.px, findings.head_px, findings.face_width_px) > MAX_ENLARGEMENT:
        return SpecVerdict(refusal="face.too_small_for_size" if spec.custom is not None else "face.too_small_for_spec")
    verdict = expression(spec.rule, findings.mouth)
    if verdict == "refuse":
        return SpecVerdict(refusal="face.mouth_open")
    return SpecVerdict(advice=f"face.{findings.mouth}_advice" if verdict == "warn" else None)
