"""What an ID photo's spec, placement and checklist say, as text: the captions of finished photos
and previews, and ``photobot idphoto``, which reads them without loading the bot's dialogs."""

from __future__ import annotations

from typing import Any

from bot.telegram.ui.i18n import known, t
from providers.localengine.checklist import Check, Checklist
from providers.placement import PlacementRule, band_value, load_rules
from providers.specs import Spec

#: How each status of a checklist item shows.
MARKS = {"ok": "✅", "warn": "⚠️", "fail": "❌"}


def size_fields(spec: Spec) -> dict[str, int | float]:
    """A spec's size as the texts that name it take it: mm_w, mm_h, px_w, px_h, dpi."""
    return {"mm_w": spec.mm[0], "mm_h": spec.mm[1], "px_w": spec.px[0], "px_h": spec.px[1], "dpi": spec.dpi}


def spec_text(lang: str, spec: Spec) -> str:
    return t(lang, "idphoto.spec_info", title=spec.name(lang), **size_fields(spec))


def _mm(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _rule(spec: Spec, placement: dict[str, Any]) -> PlacementRule:
    return load_rules().get(str(placement["rule"]), spec.rule)


def placement_text(spec: Spec, placement: dict[str, Any], lang: str) -> str:
    """The rule applied and where the head landed, band by band, in millimetres of the print
    ("head 34 mm of 45 mm (within 32–36 mm)"); says so when the spec has no official rule."""
    rule = _rule(spec, placement)
    shares = placement["shares"]
    parts = []
    for name in rule.priority:
        band = rule.bands[name]
        total = spec.mm[0] if name == "width" else spec.mm[1]
        verdict = t(
            lang, "placement.within" if band.holds(band_value(name, band, shares), 0.0005) else "placement.outside"
        )
        key = "placement.eyes_min" if name == "eyes" and band.max >= 1 else f"placement.{name}"
        parts.append(
            t(
                lang,
                key,
                value=_mm(band_value(name, band, shares) * total),
                total=_mm(total),
                low=_mm(band.min * total),
                high=_mm(band.max * total),
                verdict=verdict,
            )
        )
    official = rule.official and not spec.fallback
    return t(
        lang,
        "placement.official" if official else "placement.fallback",
        rule=rule.title(lang),
        bands=t(lang, "placement.separator").join(parts),
    )


def _number(value: float, unit: str) -> str:
    """A measured value as it reads: millimetres and degrees to a tenth, shares to two significant
    digits (16 %, 0.52 %), levels whole."""
    if unit in ("mm", "deg"):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if unit == "percent":
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}"
    return f"{value:.0f}"


def check_line(item: Check, lang: str) -> str:
    """One item of a checklist: "✅ Head height 30.4 mm (25.5–35.2 mm)"."""
    unit = t(lang, f"check.unit_{item.unit}")
    if item.low is not None and item.high is not None:
        low, high = _number(item.low, item.unit), _number(item.high, item.unit) + unit
        band = t(lang, "check.band_range", low=low, high=high)
    elif item.low is not None:
        band = t(lang, "check.band_min", low=_number(item.low, item.unit) + unit)
    else:
        band = t(lang, "check.band_max", high=_number(item.high or 0.0, item.unit) + unit)
    value = _number(item.value, item.unit) + unit
    # A check this version has no text for (stored by a newer one, read during a rolling upgrade)
    # still shows its status and figures.
    key = item.text_key if known(item.text_key) else "check.other"
    return f"{MARKS[item.status]} " + t(lang, key, value=value, band=band)


def checklist_text(spec: Spec, placement: dict[str, Any], lang: str) -> str:
    """The rule the photo was checked against and the checklist measured with its placement, one
    item a line; the placement alone where no checklist was made. A ❌ (what offices reject photos
    for) is said first, before the items, so that nobody buys such a photo unaware."""
    items = placement.get("checklist")
    if not items:
        return placement_text(spec, placement, lang)
    rule = _rule(spec, placement)
    heading = "check.official" if rule.official and not spec.fallback else "check.fallback"
    checklist = Checklist.from_json(items)
    lines = [check_line(item, lang) for item in checklist.items]
    warning = [t(lang, "check.fails")] if checklist.worst == "fail" else []
    return "\n".join([*warning, t(lang, heading, rule=rule.title(lang)), *lines])
