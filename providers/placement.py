"""Head-placement rules of ID photos (``data/idphoto_rules.yaml``) and the arithmetic that meets them.

A rule is a set of bands (head height, eye line, top margin, chin to bottom, face width), each a
share of the photo's height or width. :func:`plan` turns a face's measurements into the scale and
the eye row that put the head in the middle of what the bands allow, and :func:`assess` says which
bands a finished photo meets. Both are plain arithmetic, shared by the local engine, the captions
and the geometry benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from providers import yamltext

Measure = Literal["crown", "hair"]
#: The rule for a photo whose spec names none (the documented default for Chinese sizes).
DEFAULT_RULE = "cn_default"
#: Band names in the order they are reported.
BANDS = ("head", "eyes", "top", "chin_bottom", "width")
#: When a rule places nothing vertically, the top of the hair goes this far below the top edge.
DEFAULT_TOP = (0.04, 0.10)
#: Whatever the rule, the hair stays inside the picture (unless the rule's own priority says
#: otherwise, as GA 461 does) and the chin leaves room for the shoulders.
HAIR_INSIDE = 0.01
CHIN_ABOVE = 0.88
#: A head that would have to be enlarged more than this for a spec comes out soft: the photo is
#: refused before any charge with advice to come closer or send the original file.
MAX_ENLARGEMENT = 2.0
#: How far inside a band a conflicting lower-priority band may pull: of the scale, of the height.
SCALE_INSET = 0.03
ROW_INSET = 0.015


@dataclass(frozen=True)
class Band:
    min: float
    max: float = 1.0
    #: What a head height or top margin is measured to: the skull's crown, or the top of the hair.
    to: Measure = "crown"

    @property
    def middle(self) -> float:
        return (self.min + self.max) / 2

    def holds(self, value: float, slack: float = 0.0) -> bool:
        return self.min - slack <= value <= self.max + slack


@dataclass(frozen=True)
class PlacementRule:
    rule_id: str
    #: Language code -> name.
    name: dict[str, str]
    official: bool
    source: str
    bands: dict[str, Band]
    priority: tuple[str, ...]
    neutral_expression: bool
    #: Glasses are refused (the U.S. since November 2016); elsewhere clear glasses are allowed.
    no_glasses: bool = False
    #: Hair over the eyes is refused (official rules: eyes clearly visible), and hair over the
    #: eyebrows (China: eyebrows visible); elsewhere each is advice.
    eyes_visible: bool = False
    brows_visible: bool = False

    def title(self, lang: str) -> str:
        return self.name.get(lang) or self.name["en"]


@dataclass(frozen=True)
class FaceMeasures:
    """A face in one picture's pixels (y grows downwards), after the eyes were levelled."""

    eye_x: float
    eye_y: float
    chin: float
    #: Top of the skull without hair (estimated), and the top of the hair.
    crown: float
    hair: float
    face_width: float

    def top(self, measure: Measure) -> float:
        return self.crown if measure == "crown" else self.hair


@dataclass(frozen=True)
class Plan:
    scale: float
    #: Row of the eye line in the finished photo.
    eye_row: float

    def place(self, face: FaceMeasures, width: int) -> FaceMeasures:
        """Where ``face`` lands in a finished photo ``width`` pixels wide, eyes centred."""

        def row(y: float) -> float:
            return self.eye_row + self.scale * (y - face.eye_y)

        return FaceMeasures(
            eye_x=width / 2,
            eye_y=self.eye_row,
            chin=row(face.chin),
            crown=row(face.crown),
            hair=row(face.hair),
            face_width=self.scale * face.face_width,
        )


def _intersect(ranges: list[tuple[float, float]], inset: float) -> tuple[float, float]:
    """The first range narrowed by each next one (priority order). A range that no longer overlaps
    pulls the result to the nearest edge of what is already settled, ``inset`` inside it: met as
    nearly as the more important bands allow, never at their cost."""
    low, high = ranges[0]
    for lo, hi in ranges[1:]:
        if max(low, lo) <= min(high, hi):
            low, high = max(low, lo), min(high, hi)
        elif hi < low:
            low = high = min(low + inset, (low + high) / 2)
        else:
            low = high = max(high - inset, (low + high) / 2)
    return low, high


def _scale_ranges(rule: PlacementRule, face: FaceMeasures, size: tuple[int, int]) -> list[tuple[float, float]]:
    width, height = size
    ranges = []
    for name in rule.priority:
        band = rule.bands[name]
        if name == "head":
            span = max(face.chin - face.top(band.to), 1.0)
            ranges.append((band.min * height / span, band.max * height / span))
        elif name == "width":
            span = max(face.face_width, 1.0)
            ranges.append((band.min * width / span, band.max * width / span))
    return ranges


def _eye_ranges(
    rule: PlacementRule, face: FaceMeasures, size: tuple[int, int], scale: float
) -> list[tuple[float, float]]:
    """Allowed rows of the eye line, per vertical band in priority order, then the frame's own."""
    height = size[1]
    ranges = []
    vertical = [name for name in rule.priority if name in ("eyes", "top", "chin_bottom")]
    for name in vertical:
        band = rule.bands[name]
        if name == "eyes":
            ranges.append(((1 - band.max) * height, (1 - band.min) * height))
        elif name == "top":
            above = scale * (face.eye_y - face.top(band.to))
            ranges.append((band.min * height + above, band.max * height + above))
        else:
            below = scale * (face.chin - face.eye_y)
            ranges.append((-1e9, (1 - band.min) * height - below))
    above_hair = scale * (face.eye_y - face.hair)
    if not vertical:
        ranges.append((DEFAULT_TOP[0] * height + above_hair, DEFAULT_TOP[1] * height + above_hair))
    ranges.append((HAIR_INSIDE * height + above_hair, 1e9))
    ranges.append((-1e9, CHIN_ABOVE * height - scale * (face.chin - face.eye_y)))
    return ranges


def plan(rule: PlacementRule, face: FaceMeasures, size: tuple[int, int]) -> Plan:
    """The scale and eye row that put ``face`` in the middle of what ``rule`` allows in a photo of
    ``size`` (width, height); bands that conflict give way in the rule's priority order."""
    ranges = _scale_ranges(rule, face, size)
    if not ranges:
        raise ValueError(f"rule {rule.rule_id} sets neither a head height nor a face width")
    scale = sum(_intersect(ranges, SCALE_INSET * ranges[0][0])) / 2
    low, high = _intersect(_eye_ranges(rule, face, size, scale), ROW_INSET * size[1])
    return Plan(scale=scale, eye_row=(low + high) / 2)


def enlargement(rule: PlacementRule, size: tuple[int, int], head_px: float, face_width_px: float) -> float:
    """How much a head of ``head_px`` (chin to crown) and ``face_width_px`` must be enlarged to meet
    ``rule``'s first size band in a photo of ``size``."""
    for name in rule.priority:
        band = rule.bands[name]
        if name == "head":
            return band.middle * size[1] / max(head_px, 1.0)
        if name == "width":
            return band.middle * size[0] / max(face_width_px, 1.0)
    raise ValueError(f"rule {rule.rule_id} sets neither a head height nor a face width")


def frame_below(
    rule: PlacementRule, size: tuple[int, int], head_px: float, face_width_px: float, room_px: float
) -> float:
    """The share of a finished photo of ``size`` that lies below the photo's bottom edge, for a head
    of ``head_px`` (chin to crown) and ``face_width_px`` whose eye line is ``room_px`` above that
    edge, placed as :func:`plan` places it; the top of the hair taken at the crown (before the
    cut-out finds it, a larger head and less below)."""
    half = head_px / 2
    face = FaceMeasures(eye_x=0.0, eye_y=0.0, chin=half, crown=-half, hair=-half, face_width=face_width_px)
    placed = plan(rule, face, size)
    return max(0.0, size[1] - (placed.eye_row + room_px * placed.scale)) / size[1]


def expression(rule: PlacementRule, mouth: str) -> Literal["refuse", "warn"] | None:
    """What an open mouth means for ``rule``: where a neutral expression is the rule, an open mouth
    is refused and parted lips (a smile showing teeth) are warned about, since the landmarks cannot
    tell a grin from lips that part naturally; elsewhere an open mouth is only advice."""
    if mouth == "open":
        return "refuse" if rule.neutral_expression else "warn"
    if mouth == "apart" and rule.neutral_expression:
        return "warn"
    return None


def measured_shares(face: FaceMeasures, size: tuple[int, int]) -> dict[str, float]:
    """What the rules measure, as shares, for a face in a finished photo of ``size``: Python floats,
    whatever numbers ``face`` holds (the engine's are NumPy's, which a result's report must not carry
    into the bot's process: rebuilt there, they import NumPy)."""
    width, height = size
    shares = {
        "head_crown": (face.chin - face.crown) / height,
        "head_hair": (face.chin - face.hair) / height,
        "eyes": 1 - face.eye_y / height,
        "top_crown": face.crown / height,
        "top_hair": face.hair / height,
        "chin_bottom": 1 - face.chin / height,
        "width": face.face_width / width,
    }
    return {name: float(value) for name, value in shares.items()}


def placement_report(rule: str, shares: dict[str, float]) -> dict[str, Any]:
    """What a result carries for its caption: the rule applied and the measured shares."""
    return {"rule": rule, "shares": {name: round(value, 4) for name, value in shares.items()}}


def band_value(name: str, band: Band, shares: dict[str, float]) -> float:
    """The measured share that ``band`` is about."""
    if name in ("head", "top"):
        return shares[f"{name}_{band.to}"]
    return shares[name]


def assess(rule: PlacementRule, shares: dict[str, float], slack: float = 0.0) -> dict[str, bool]:
    """Per band of ``rule``: whether the measured shares fall in it (within ``slack``)."""
    return {name: band.holds(band_value(name, band, shares), slack) for name, band in rule.bands.items()}


def _band(raw: dict[str, Any]) -> Band:
    to = raw.get("to", "crown")
    if to not in ("crown", "hair"):
        raise ValueError(f"a band's 'to' is crown or hair, not {to!r}")
    return Band(min=float(raw["min"]), max=float(raw.get("max", 1.0)), to="hair" if to == "hair" else "crown")


@lru_cache(maxsize=1)
def load_rules() -> dict[str, PlacementRule]:
    text = (resources.files("providers.data") / "idphoto_rules.yaml").read_text(encoding="utf-8")
    rules = {}
    for rule_id, raw in yamltext.parse(text)["rules"].items():
        bands = {name: _band(raw[name]) for name in BANDS if name in raw}
        priority = tuple(raw["priority"])
        if sorted(priority) != sorted(bands):
            raise ValueError(f"rule {rule_id}: priority {priority} must list its bands {sorted(bands)}")
        rules[rule_id] = PlacementRule(
            rule_id=rule_id,
            name=dict(raw["name"]),
            official=bool(raw["official"]),
            source=str(raw["source"]),
            bands=bands,
            priority=priority,
            neutral_expression=bool(raw["neutral_expression"]),
            no_glasses=bool(raw.get("no_glasses", False)),
            eyes_visible=bool(raw.get("eyes_visible", False)),
            brows_visible=bool(raw.get("brows_visible", False)),
        )
    return rules
