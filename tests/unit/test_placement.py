"""Per-spec placement rules as data, and the arithmetic that puts a head in the middle of them."""

from __future__ import annotations

import pytest

from providers.placement import (
    BANDS,
    FaceMeasures,
    assess,
    band_value,
    enlargement,
    expression,
    load_rules,
    measured_shares,
    plan,
)
from providers.specs import load_catalog


def _spec_rules() -> dict[int, tuple[str, bool]]:
    return {s.spec_id: (s.rule.rule_id, s.fallback) for s in load_catalog().documented}


def test_every_spec_names_its_rule_or_its_fallback():
    rules = _spec_rules()
    assert len(rules) == 130
    official = {sid: rule for sid, (rule, fallback) in rules.items() if not fallback and load_rules()[rule].official}
    assert official == {
        3102: "icao",
        3110: "icao",
        3112: "icao",
        3113: "icao",
        3118: "icao",
        3120: "canada_visa",
        3301: "taiwan",
        3108: "usa",
        3115: "india",
        3202: "cn_passport",
        3302: "cn_passport",
        2101: "cn_id_card",
        2102: "cn_id_card",
        2103: "cn_id_card",
        2301: "cn_driver",
    }
    # Explicit fallbacks: ICAO for 35x45 (and 40x50) visas, the U.S. rule for square ones.
    assert {sid for sid, (rule, fb) in rules.items() if fb and rule == "icao"} == {3101, 3107, 3111, 3116, 3119, 4103}
    assert {sid for sid, (rule, fb) in rules.items() if fb and rule == "usa"} == {3103, 3106, 3109, 3114, 3117, 3121}
    assert rules[3105] == ("korea", True) and rules[2203] == ("cn_id_card", True)
    # The Chinese 1-inch/2-inch, exam, student and certificate specs: the documented default,
    # which says of itself that no authority publishes it.
    default = {sid for sid, (rule, _) in rules.items() if rule == "cn_default"}
    assert {1101, 1102, 1104, 1105, 2201, 2401, 4101, 5101, 5905, 6601} <= default
    assert len(default) == 130 - 15 - 14
    assert not load_rules()["cn_default"].official
    # A size the user types has no authority: the default rule, said to be a fallback.
    custom = load_catalog().get(9001)
    assert custom is not None and (custom.rule.rule_id, custom.fallback) == ("cn_default", True)


def test_rules_have_a_source_and_order_every_band():
    for rule in load_rules().values():
        assert rule.source and rule.name["en"] and rule.name["zh-Hans"]
        assert set(rule.priority) == set(rule.bands) and set(rule.bands) <= set(BANDS)
        assert "head" in rule.bands or "width" in rule.bands
        for band in rule.bands.values():
            assert 0 < band.min < band.max <= 1


def _face(head: float = 400.0, hair: float = 40.0, width_share: float = 0.62) -> FaceMeasures:
    """A face in some photo: eye line at 1000, chin ``head``/2 below it, hair ``hair`` over the crown."""
    eye = 1000.0
    chin = eye + head / 2
    crown = eye - head / 2
    return FaceMeasures(
        eye_x=700.0, eye_y=eye, chin=chin, crown=crown, hair=crown - hair, face_width=width_share * head
    )


@pytest.mark.parametrize("rule_id", sorted(load_rules()))
def test_a_head_lands_inside_every_band_of_its_rule(rule_id):
    rule = load_rules()[rule_id]
    size = next(s.px for s in load_catalog().specs if s.rule.rule_id == rule_id)
    face = _face()
    placed = plan(rule, face, size)
    shares = measured_shares(placed.place(face, size[0]), size)
    assert all(assess(rule, shares).values()), (rule_id, shares)
    # The first band in priority is met in its middle.
    first = rule.priority[0]
    band = rule.bands[first]
    if first in ("head", "width"):
        assert band_value(first, band, shares) == pytest.approx(band.middle, abs=1e-6)


def test_ga_461_gives_the_top_margin_up_for_the_eye_line():
    """Tall hair: with the eye line at least 46.9 % up, the hair cannot also stay 1.6-4.8 % below the
    top edge. GA 461 says the eye line wins: the hair is cut rather than the eyes lowered."""
    rule = load_rules()["cn_id_card"]
    size = (358, 441)
    face = _face(hair=260.0)
    placed = plan(rule, face, size)
    shares = measured_shares(placed.place(face, size[0]), size)
    verdict = assess(rule, shares)
    assert verdict["width"] and verdict["eyes"] and not verdict["top"]
    assert shares["eyes"] == pytest.approx(0.469 + 0.015, abs=0.002)  # just inside the eye band


def test_the_usa_rule_measures_to_the_hair_and_icao_to_the_crown():
    face = _face(hair=60.0)
    size = (602, 602)
    usa = plan(load_rules()["usa"], face, size)
    assert usa.scale * (face.chin - face.hair) == pytest.approx(0.595 * 602)
    icao = plan(load_rules()["icao"], face, (413, 531))
    assert icao.scale * (face.chin - face.crown) == pytest.approx(0.75555 * 531, rel=1e-3)


def test_an_open_mouth_is_refused_only_where_the_rule_wants_a_neutral_face():
    usa, default = load_rules()["usa"], load_rules()["cn_default"]
    assert [expression(usa, m) for m in ("closed", "apart", "open")] == [None, "warn", "refuse"]
    assert [expression(default, m) for m in ("closed", "apart", "open")] == [None, None, "warn"]


def test_enlargement_needed_for_a_spec():
    icao, id_card = load_rules()["icao"], load_rules()["cn_id_card"]
    assert enlargement(icao, (413, 531), head_px=200, face_width_px=120) == pytest.approx(0.75555 * 531 / 200, rel=1e-3)
    assert enlargement(id_card, (358, 441), head_px=200, face_width_px=100) == pytest.approx(0.58 * 358 / 100)
