"""The checklist of a finished ID photo: each item's status at the edges of its band, in the units
the person reads, and its way to the bot and back (JSON)."""

from __future__ import annotations

import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from bot.services.idphoto.report_text import check_line
from providers.localengine import faces
from providers.localengine.checklist import (
    BAND_SLACK,
    NEAR_BAND,
    Check,
    Checklist,
    background_check,
    band_checks,
    build,
    face_checks,
)
from providers.localengine.findings import DOUBTFUL, POCKETED, SIDES_LOST, TOP_LOST, CutOut, FaceFindings
from providers.placement import load_rules

USA = load_rules()["usa"]  # head 0.50-0.69 of the height (to the hair), eye line 0.56-0.69; 51x51 mm
CN_PASSPORT = load_rules()["cn_passport"]  # head, top, chin_bottom (at least 0.146), width
LENIENT = load_rules()["cn_default"]  # no neutral expression asked for

#: Shares of a photo whose head meets every band of the U.S. rule in the middle.
MIDDLE = {"head_crown": 0.55, "head_hair": 0.595, "eyes": 0.625, "top_crown": 0.1, "top_hair": 0.06}


def _head(share: float) -> Check:
    (head, _eyes) = band_checks(USA, {**MIDDLE, "head_hair": share}, (51, 51))
    return head


@pytest.mark.parametrize(
    ("share", "status"),
    [
        (0.595, "ok"),
        (0.50, "ok"),  # on the edge
        (0.50 - BAND_SLACK, "ok"),  # within the measurement's rounding
        (0.50 - BAND_SLACK - 0.0002, "warn"),
        (0.50 - NEAR_BAND + 0.0001, "warn"),  # about a millimetre short
        (0.50 - NEAR_BAND - 0.0002, "fail"),
        (0.69, "ok"),
        (0.69 + NEAR_BAND - 0.0001, "warn"),
        (0.69 + NEAR_BAND + 0.0002, "fail"),
    ],
)
def test_a_band_is_ok_within_it_a_warning_just_outside_and_a_failure_beyond(share, status):
    assert _head(share).status == status


def test_bands_are_read_in_millimetres_of_the_print_in_the_rules_order():
    head, eyes = band_checks(USA, MIDDLE, (51, 51))
    assert (head.key, head.value, head.low, head.high, head.unit) == ("head", 30.34, 25.5, 35.19, "mm")
    assert (eyes.key, eyes.value, eyes.low, eyes.high) == ("eyes", 31.88, 28.56, 35.19)
    shares = {**MIDDLE, "head_hair": 0.63, "top_hair": 0.08, "chin_bottom": 0.29, "width": 0.55}
    checks = band_checks(CN_PASSPORT, shares, (33, 48))
    assert [c.key for c in checks] == ["head", "top", "chin_bottom", "width"]
    chin = checks[2]
    assert chin.high is None and chin.low == 7.01 and chin.status == "ok"  # a band with only a minimum
    assert checks[3].value == 18.15 and checks[3].low == 14.85  # the width in millimetres of the width


@pytest.mark.parametrize(
    ("key", "angle", "status"),
    [
        ("yaw", 0.0, "ok"),
        ("yaw", 7.0, "ok"),  # 70 % of the face check's limit of 10 degrees
        ("yaw", -7.1, "warn"),
        ("yaw", faces.MAX_YAW, "warn"),
        ("yaw", faces.MAX_YAW + 0.1, "fail"),
        ("pitch", 8.4, "ok"),
        ("pitch", -12.0, "warn"),
        ("pitch", 12.1, "fail"),
        ("roll", 5.6, "ok"),  # ISO's 8 degrees in a finished photo
        ("roll", 8.0, "warn"),
        ("roll", -8.1, "fail"),
    ],
)
def test_pose_angles_grade_by_their_size_either_way(key, angle, status):
    (check,) = [c for c in face_checks(USA, FaceFindings(**{key: angle})) if c.key == key]
    assert check.status == status and check.value == round(abs(angle), 1) and check.unit == "deg"


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("eye_openness", 0.15, "ok"),
        ("eye_openness", 0.149, "warn"),
        ("eye_openness", faces.MIN_EYE_OPENNESS, "warn"),
        ("eye_openness", faces.MIN_EYE_OPENNESS - 0.001, "fail"),
        ("sharpness", 30.0, "ok"),
        ("sharpness", 29.9, "warn"),
        ("sharpness", faces.MIN_SHARPNESS, "warn"),
        ("sharpness", faces.MIN_SHARPNESS - 0.1, "fail"),
        ("light", 70.0, "ok"),
        ("light", 200.0, "ok"),
        ("light", 69.0, "warn"),
        ("light", faces.MIN_FACE_LIGHT, "warn"),
        ("light", faces.MIN_FACE_LIGHT - 0.1, "fail"),
        ("light", faces.MAX_FACE_LIGHT, "warn"),
        ("light", faces.MAX_FACE_LIGHT + 0.1, "fail"),
    ],
)
def test_eyes_sharpness_and_light_at_their_edges(field, value, status):
    (check,) = face_checks(USA, FaceFindings(**{field: value}))
    assert check.status == status


@pytest.mark.parametrize(
    ("rule", "openness", "variant", "status"),
    [
        (USA, 0.02, "closed", "ok"),
        (USA, faces.LIPS_APART + 0.01, "apart", "warn"),  # a smile that shows teeth, where a neutral face is asked
        (USA, faces.MOUTH_OPEN + 0.01, "open", "fail"),  # talking
        (LENIENT, faces.LIPS_APART + 0.01, "apart", "ok"),
        (LENIENT, faces.MOUTH_OPEN + 0.01, "open", "warn"),
    ],
)
def test_the_mouth_is_judged_by_the_rules_expression(rule, openness, variant, status):
    (check,) = face_checks(rule, FaceFindings(mouth_openness=openness, mouth=variant))
    assert (check.variant, check.status, check.text_key) == (variant, status, f"check.mouth_{variant}")
    assert check.value == round(100 * openness, 1) and check.unit == "percent"


@pytest.mark.parametrize(("rule", "status"), [(USA, "fail"), (LENIENT, "warn")])
def test_speech_under_the_wide_open_line_says_why_it_is_open(rule, status):
    # Open by its level corners or its dark inside, not by the lips' gap: the line names that as the
    # reason, not the band of the gap (which a lenient rule's value sits inside of).
    (check,) = face_checks(rule, FaceFindings(mouth_openness=faces.SPEECH_GAP + 0.03, mouth="open"))
    assert (check.variant, check.status, check.text_key) == ("speech", status, "check.mouth_speech")
    assert "not a smile" in check_line(check, "en") and "at most" not in check_line(check, "en")
    assert "并非微笑" in check_line(check, "zh-Hans") and "至多" not in check_line(check, "zh-Hans")


def test_a_broad_smile_wider_than_the_wide_open_line_is_within_its_band_where_it_passes():
    wide = faces.MOUTH_OPEN + 0.02
    (check,) = face_checks(LENIENT, FaceFindings(mouth_openness=wide, mouth="apart"))
    assert (check.variant, check.status) == ("apart", "ok")
    assert check.high is not None and check.value <= check.high


def test_a_doubtful_cut_out_is_a_warning_never_a_failure():
    clean = background_check(CutOut(DOUBTFUL))
    left = background_check(CutOut(DOUBTFUL + 0.0001))
    assert (clean.status, clean.variant, clean.high) == ("ok", "clean", 100 * DOUBTFUL)
    assert (left.status, left.variant, left.text_key) == ("warn", "left", "check.background_left")
    assert background_check(CutOut(0.5)).status == "warn"


def test_a_cut_out_that_lost_the_top_of_the_head_is_a_warning_of_its_own():
    kept = background_check(CutOut(top_lost=TOP_LOST))
    lost = background_check(CutOut(doubt=DOUBTFUL + 0.01, top_lost=0.19))
    assert (kept.status, kept.variant) == ("ok", "clean")
    assert (lost.status, lost.variant, lost.text_key) == ("warn", "top_lost", "check.background_top_lost")
    assert (lost.value, lost.high) == (19, 100 * TOP_LOST)


def test_a_cut_out_that_lost_the_sides_of_the_head_is_a_warning_of_its_own_and_doubtful():
    kept = background_check(CutOut(sides_lost=SIDES_LOST))
    lost = background_check(CutOut(top_lost=0.19, sides_lost=0.164))
    assert (kept.status, kept.variant) == ("ok", "clean")
    assert (lost.status, lost.variant, lost.text_key) == ("warn", "sides_lost", "check.background_sides_lost")
    assert (lost.value, lost.high) == (16, 100 * SIDES_LOST)
    assert CutOut(sides_lost=0.164).doubtful and not CutOut(sides_lost=SIDES_LOST).doubtful


def test_old_background_kept_as_the_body_is_a_warning_of_its_own():
    clean = background_check(CutOut(pocket=POCKETED))
    kept = background_check(CutOut(pocket=0.0078))
    assert (clean.status, clean.variant) == ("ok", "clean")
    assert (kept.status, kept.variant, kept.text_key) == ("warn", "pocket", "check.background_pocket")
    assert (kept.value, kept.high) == (0.78, 100 * POCKETED)
    assert CutOut(pocket=0.0078).doubtful and not CutOut(pocket=POCKETED).doubtful
    # Old background beyond the outline as well: the doubt's own line says so.
    assert background_check(CutOut(doubt=DOUBTFUL + 0.01, pocket=0.0078)).variant == "left"


def test_what_was_not_measured_is_left_out_and_the_list_goes_through_json():
    bands_only = build(USA, MIDDLE, (51, 51))
    assert [c.key for c in bands_only.items] == ["head", "eyes"]
    full = build(
        USA,
        MIDDLE,
        (51, 51),
        FaceFindings(
            roll=0.2, yaw=1, pitch=2, eye_openness=0.3, mouth_openness=0.3, mouth="open", sharpness=90, light=150
        ),
        CutOut(doubt=0.01),
    )
    keys = ["head", "eyes", "roll", "yaw", "pitch", "eyelids", "mouth", "sharpness", "light"]
    keys += ["light_sides", "burnt_out", "glasses", "hair", "head_covering", "background"]
    assert [c.key for c in full.items] == keys
    assert full.worst == "fail" and bands_only.worst == "ok"
    assert Checklist.from_json(full.to_json()) == full
    head = {"key": "head", "status": "ok", "value": 30.34, "unit": "mm", "low": 25.5, "high": 35.19}
    assert full.to_json()[0] == head
    # Stored by a newer version during a rolling upgrade: a warning, in the check's own scale.
    newer = Check.from_json({"key": "head", "status": "great", "value": 1, "unit": "px", "high": 2})
    assert (newer.status, newer.unit, newer.value, newer.high) == ("warn", "level", 1.0, 2.0)


def test_glasses_fail_where_the_rule_forbids_them_and_side_light_is_a_warning():
    from providers.localengine.checklist import office_checks
    from providers.localengine.findings import GLASSES, UNEVEN_LIGHT

    schengen = load_rules()["icao"]
    worn = FaceFindings(light=140, glasses_bridge=GLASSES + 1, light_difference=UNEVEN_LIGHT + 1)
    by_key = {c.key: c for c in office_checks(USA, worn)}
    assert (by_key["glasses"].status, by_key["glasses"].variant) == ("fail", "forbidden")
    assert by_key["light_sides"].status == "warn"
    assert {c.key: c for c in office_checks(schengen, worn)}["glasses"].status == "ok"
    bare = {c.key: c for c in office_checks(schengen, FaceFindings(light=140, glasses_bridge=2.0))}
    assert (bare["glasses"].variant, bare["light_sides"].status, bare["burnt_out"].status) == ("none", "ok", "ok")


def test_hair_fails_where_the_rule_wants_eyes_or_brows_visible_and_a_head_covering_is_a_warning():
    from providers.localengine.checklist import office_checks
    from providers.localengine.findings import HAIR_BROWS, HAIR_EYES, HEAD_COVERING

    schengen, china, default = (load_rules()[rule] for rule in ("icao", "cn_passport", "cn_default"))

    def item(rule, key, **found):
        return {c.key: c for c in office_checks(rule, FaceFindings(light=140, **found))}[key]

    eyes = {"hair_brows": HAIR_BROWS, "hair_eyes": HAIR_EYES}
    assert (item(schengen, "hair", **eyes).status, item(schengen, "hair", **eyes).variant) == ("fail", "eyes")
    assert item(default, "hair", **eyes).status == "warn"
    brows = {"hair_brows": 1.0}
    assert (item(schengen, "hair", **brows).status, item(schengen, "hair", **brows).variant) == ("warn", "brows")
    assert item(china, "hair", **brows).status == "fail"
    bare = item(schengen, "hair", hair_brows=0.25)
    assert (bare.status, bare.variant, bare.value, bare.high) == ("ok", "none", 25, 100 * HAIR_BROWS)
    cap = item(china, "head_covering", head_contrast=HEAD_COVERING + 1)
    assert (cap.status, cap.variant, cap.text_key) == ("warn", "seen", "check.head_covering_seen")
    assert item(china, "head_covering", head_contrast=10).variant == "none"


def test_a_hand_at_the_face_fails_under_every_rule_and_is_listed_only_where_hands_were_looked_for():
    from providers.localengine.checklist import office_checks
    from providers.localengine.findings import AT_FACE

    for rule in (load_rules()[name] for name in ("icao", "cn_default")):
        keys = {c.key: c for c in office_checks(rule, FaceFindings(light=140, hands_checked=True, hand_gap=0.0))}
        assert (keys["hands"].status, keys["hands"].variant, keys["hands"].low) == ("fail", "face", 100 * AT_FACE)
        near = {c.key: c for c in office_checks(rule, FaceFindings(light=140, hands_checked=True, hand_gap=0.5))}
        assert (near["hands"].status, near["hands"].value) == ("ok", 50)
        none = {c.key: c for c in office_checks(rule, FaceFindings(light=140, hands_checked=True))}
        assert (none["hands"].status, none["hands"].variant) == ("ok", "none")
        # The check before charging does not look for hands: no item says none were seen.
        assert "hands" not in {c.key for c in office_checks(rule, FaceFindings(light=140))}
