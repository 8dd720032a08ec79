"""What a finished ID photo is checked for before the person pays: one item per check, each ok, a
warning or a failure, with the measured value and the band it is held against.

The bot shows each item as one line (its text is ``check.<key>``, or ``check.<key>_<variant>``
where the outcome changes the words); ``photobot idphoto --json`` gives the items to scripts. An
item's ``low`` and ``high`` are the band it is ok within (either may be open); a warning is a value
near it, a failure one an office rejects. A new check is one line in :func:`build` (an item made
from what was measured) and its text in each language.

The items are plain values: they cross from the engine's worker process to the bot and are stored
with the job's result (``placement.checklist``), so this module imports nothing of the engine's
libraries at import time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from providers.localengine.findings import (
    AT_FACE,
    DOUBTFUL,
    GLASSES,
    HAIR_BROWS,
    HEAD_COVERING,
    OVEREXPOSED,
    POCKETED,
    SIDES_LOST,
    TOP_LOST,
    UNDEREXPOSED,
    UNEVEN_LIGHT,
    CutOut,
    FaceFindings,
)
from providers.placement import PlacementRule, band_value, expression

Status = Literal["ok", "warn", "fail"]
#: mm of the print; degrees; per cent (of a width, or of the photo); a level on the check's own
#: scale (sharpness, brightness 0-255).
Unit = Literal["mm", "deg", "percent", "level"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail")
UNITS: tuple[Unit, ...] = ("mm", "deg", "percent", "level")

#: A band of the placement rule is met within this share of the photo (the measurement's rounding,
#: as the caption's "within"), nearly met (a warning: about a millimetre) within NEAR_BAND of it.
BAND_SLACK = 0.0005
NEAR_BAND = 0.02
#: A pose angle is ok up to this share of the limit beyond which the face check refuses a photo;
#: nearer the limit it is a warning.
POSE_OK_SHARE = 0.7
#: The head's tilt in a finished photo: ISO/IEC 19794-5 allows 8 degrees of roll (the local engine
#: levels the eyes; a photo made elsewhere may not).
MAX_RESULT_ROLL = 8.0
#: Eyes open wider than this (lid gap over eye width) are surely open; between the face check's
#: limit and this they may be half closed.
EYES_OPEN = 0.15
#: Sharpness (faces.MIN_SHARPNESS's scale) from which a face is clearly sharp; sharp portraits
#: measure 37-360, blurred ones 3-20.
SHARP = 30.0
#: Mean brightness of the face that is ok (faces measure 110-155); the face check's limits beyond.
LIGHT_OK = (UNDEREXPOSED, 200.0)


@dataclass(frozen=True)
class Check:
    """One line of the checklist."""

    #: What was checked: a band of the rule (head, eyes, top, chin_bottom, width), roll, yaw,
    #: pitch, eyelids, mouth, sharpness, light, light_sides, burnt_out, glasses, hair, head_covering, hands,
    #: background; face (missing: none found, see :func:`no_face`).
    key: str
    status: Status
    value: float
    unit: Unit
    #: The band the value is ok within; None where it is open on that side.
    low: float | None = None
    high: float | None = None
    #: What was found, where the text depends on it (mouth: closed, apart, open, speech: open under
    #: the wide-open line, judged by its corners and its dark inside, not by the band of its lips'
    #: gap; glasses: none, worn, forbidden; hair: none, brows, eyes; head_covering: none, seen;
    #: background: clean, left, top_lost, sides_lost, pocket).
    variant: str = ""

    @property
    def text_key(self) -> str:
        return f"check.{self.key}_{self.variant}" if self.variant else f"check.{self.key}"

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value not in (None, "")}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Check:
        """The item as :meth:`to_json` stored it. A status or unit this version does not know
        (stored by a newer one, read during a rolling upgrade) reads as a warning on the check's
        own scale: the person still sees the item and its figures, and nothing is hidden as ok."""
        unknown_status: Status = "warn"
        unknown_unit: Unit = "level"
        status = next((name for name in STATUSES if name == raw["status"]), unknown_status)
        unit = next((name for name in UNITS if name == raw["unit"]), unknown_unit)

        def bound(name: str) -> float | None:
            return None if raw.get(name) is None else float(raw[name])

        return cls(
            key=str(raw["key"]),
            status=status,
            value=float(raw["value"]),
            unit=unit,
            low=bound("low"),
            high=bound("high"),
            variant=str(raw.get("variant", "")),
        )


@dataclass(frozen=True)
class Checklist:
    items: tuple[Check, ...]

    @property
    def worst(self) -> Status:
        return max((item.status for item in self.items), key=STATUSES.index, default="ok")

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.items]

    @classmethod
    def from_json(cls, raw: Iterable[Mapping[str, Any]]) -> Checklist:
        return cls(tuple(Check.from_json(item) for item in raw))


def _graded(value: float, low: float | None, high: float | None, near: float) -> Status:
    """ok within [low, high], a warning within ``near`` outside it, else a failure."""
    outside = max((low - value) if low is not None else 0.0, (value - high) if high is not None else 0.0, 0.0)
    return "ok" if outside == 0 else "warn" if outside <= near else "fail"


def band_checks(rule: PlacementRule, shares: Mapping[str, float], mm: tuple[float, float]) -> list[Check]:
    """Each band of ``rule``, in its priority order, in millimetres of a print ``mm`` (width,
    height) in size: where the head is against where the rule wants it."""
    checks = []
    for name in rule.priority:
        band = rule.bands[name]
        total = mm[0] if name == "width" else mm[1]
        value = band_value(name, band, dict(shares))
        low, high = band.min - BAND_SLACK, (band.max + BAND_SLACK if band.max < 1 else None)
        status = _graded(value, low, high, NEAR_BAND - BAND_SLACK)
        checks.append(
            Check(
                name,
                status,
                round(value * total, 2),
                "mm",
                low=round(band.min * total, 2),
                high=round(band.max * total, 2) if band.max < 1 else None,
            )
        )
    return checks


def face_checks(rule: PlacementRule, face: FaceFindings) -> list[Check]:
    """The pose, eyes, mouth, sharpness and light measured on the face, where they were."""
    from providers.localengine import faces  # the limits the face check refuses at (numpy there)

    checks = []
    for key, angle, limit in (
        ("roll", face.roll, MAX_RESULT_ROLL),
        ("yaw", face.yaw, faces.MAX_YAW),
        ("pitch", face.pitch, faces.MAX_PITCH),
    ):
        if angle is not None:
            ok = round(POSE_OK_SHARE * limit, 1)
            status = _graded(abs(angle), None, ok, limit - ok)
            checks.append(Check(key, status, round(abs(angle), 1), "deg", high=ok))
    if face.eye_openness is not None:
        status = _graded(face.eye_openness, EYES_OPEN, None, EYES_OPEN - faces.MIN_EYE_OPENNESS)
        checks.append(Check("eyelids", status, round(100 * face.eye_openness, 1), "percent", low=100 * EYES_OPEN))
    if face.mouth_openness is not None:
        mouth = face.mouth
        verdict = expression(rule, mouth)
        status = "fail" if verdict == "refuse" else "warn" if verdict == "warn" else "ok"
        closed_enough = faces.LIPS_APART if rule.neutral_expression else faces.MOUTH_OPEN
        if mouth == "apart" and not rule.neutral_expression and face.mouth_openness > faces.MOUTH_OPEN:
            closed_enough = faces.BROAD_SMILE_MAX  # a broad smile, wider than the wide-open line
        value = round(100 * face.mouth_openness, 1)
        # Open though under the wide-open line: its corners or its dark inside tell speech or a
        # laugh, which the band alone would not explain.
        speech = mouth == "open" and face.mouth_openness <= faces.MOUTH_OPEN
        variant = "speech" if speech else mouth
        checks.append(Check("mouth", status, value, "percent", high=100 * closed_enough, variant=variant))
    if face.sharpness is not None:
        status = _graded(face.sharpness, SHARP, None, SHARP - faces.MIN_SHARPNESS)
        checks.append(Check("sharpness", status, round(face.sharpness), "level", low=SHARP))
    if face.light is not None:
        low, high = LIGHT_OK
        near = min(low - faces.MIN_FACE_LIGHT, faces.MAX_FACE_LIGHT - high)
        checks.append(Check("light", _graded(face.light, low, high, near), round(face.light), "level", low, high))
    return checks


def office_checks(rule: PlacementRule, face: FaceFindings) -> list[Check]:
    """Light on both sides of the face, burnt-out light, glasses (providers/localengine/office.py),
    hair over the eyes (hair.py), something on the head and a hand at the face (hands.py), where the
    face was measured: advice, but glasses fail where the rule forbids them, and hair over the eyes
    (or the eyebrows) where the rule wants them visible. A head covering is allowed for religious or
    medical reasons: a warning. A hand at the face fails: no office accepts it."""
    if face.light is None:
        return []
    hands = [_hands_check(face)] if face.hands_checked else []
    sides: Status = "warn" if face.uneven_light else "ok"
    burnt: Status = "warn" if face.overexposed else "ok"
    glasses: Status = "fail" if face.glasses and rule.no_glasses else "ok"
    return [
        Check("light_sides", sides, round(face.light_difference), "level", high=UNEVEN_LIGHT),
        Check("burnt_out", burnt, round(100 * face.burnt_out, 1), "percent", high=100 * OVEREXPOSED),
        Check(
            "glasses",
            glasses,
            round(face.glasses_bridge, 1),
            "level",
            high=GLASSES,
            variant=("forbidden" if rule.no_glasses else "worn") if face.glasses else "none",
        ),
        _hair_check(rule, face),
        Check(
            "head_covering",
            "warn" if face.head_covering else "ok",
            round(face.head_contrast),
            "level",
            high=HEAD_COVERING,
            variant="seen" if face.head_covering else "none",
        ),
        *hands,
    ]


def _hands_check(face: FaceFindings) -> Check:
    """The nearest hand's distance from the face, as a share of the face's width (a hand at least
    AT_FACE away is ok); no hand near it reads as PALM_REACH, the farthest a hand is looked for."""
    from providers.localengine.hands import PALM_REACH  # NumPy there

    gap = PALM_REACH if face.hand_gap is None else face.hand_gap
    at_face = face.hand_at_face
    return Check(
        "hands",
        "fail" if at_face else "ok",
        round(100 * gap),
        "percent",
        low=100 * AT_FACE,
        variant="face" if at_face else "none",
    )


def _hair_check(rule: PlacementRule, face: FaceFindings) -> Check:
    """Hair over the eyebrows, or down to the eyes: the share of the more covered eyebrow."""
    value = round(100 * face.hair_brows)
    if face.hair_over_eyes:
        status: Status = "fail" if rule.eyes_visible else "warn"
        return Check("hair", status, value, "percent", high=100 * HAIR_BROWS, variant="eyes")
    if face.hair_over_brows:
        status = "fail" if rule.brows_visible else "warn"
        return Check("hair", status, value, "percent", high=100 * HAIR_BROWS, variant="brows")
    return Check("hair", "ok", value, "percent", high=100 * HAIR_BROWS, variant="none")


def background_check(cut_out: CutOut) -> Check:
    """The cut-out: the sides of the head lost (how much narrower than the face the outline is at
    the eyes), else the top of the head lost (how far below the crown the outline ends, against the
    share from which it is lost), else the share of the photo that stands out beyond the person's
    outline, old background or loose strands, against the share from which it is doubtful (see
    matting.CutOut), else where only that is in order, the share kept as the body in the old
    background's colours (see matting.pockets). Never a failure: the person sees it and decides."""
    if cut_out.lost_sides:
        lost = round(100 * cut_out.sides_lost)
        return Check("background", "warn", lost, "percent", high=100 * SIDES_LOST, variant="sides_lost")
    if cut_out.lost_top:
        return Check(
            "background", "warn", round(100 * cut_out.top_lost), "percent", high=100 * TOP_LOST, variant="top_lost"
        )
    if cut_out.pocketed and not cut_out.left:
        pocket = round(100 * cut_out.pocket, 3)
        return Check("background", "warn", pocket, "percent", high=100 * POCKETED, variant="pocket")
    return Check(
        "background",
        "warn" if cut_out.left else "ok",
        round(100 * cut_out.doubt, 3),
        "percent",
        high=100 * DOUBTFUL,
        variant="left" if cut_out.left else "clean",
    )


def no_face() -> Checklist:
    """The checklist of a finished photo made elsewhere in which no face is found: nothing else
    can be checked, and an office refuses a photo whose face cannot be made out."""
    return Checklist((Check("face", "fail", 0.0, "level", variant="missing"),))


def build(
    rule: PlacementRule,
    shares: Mapping[str, float],
    mm: tuple[float, float],
    face: FaceFindings | None = None,
    cut_out: CutOut | None = None,
) -> Checklist:
    """The checklist of a finished photo: the rule's bands from where the head is (``shares``, see
    placement.measured_shares), the face's measurements where it was measured, and the cut-out
    where the photo was cut out here (``cut_out``, see matting.CutOut)."""
    items = band_checks(rule, shares, mm)
    if face is not None:
        items += face_checks(rule, face) + office_checks(rule, face)
    if cut_out is not None:
        items.append(background_check(cut_out))
    return Checklist(tuple(items))
