"""ID photos that pass official checks: each rule family's bands, measured on the result with an
independent landmark model (tests/idphoto_measure.py); level eyes; the checks before any charge."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from providers.localengine import FaceCheckError, inspect_face, make_id_photo
from providers.placement import assess, load_rules
from providers.specs import load_catalog
from tests.conftest import astronaut, portrait_jpeg
from tests.idphoto_measure import measure, stray_share
from tests.sample_photos import photo

#: One spec of each rule family.
REPRESENTATIVE = {
    "icao": 3110,
    "canada_visa": 3120,
    "taiwan": 3301,
    "korea": 3105,
    "usa": 3108,
    "india": 3115,
    "cn_passport": 3202,
    "cn_id_card": 2102,
    "cn_driver": 2301,
    "cn_default": 1102,
}
#: The measuring model and the engine's disagree by up to about 1.5 % of the height; the engine
#: aims at the middle of each band, so the result must be inside without any slack.
#: Eyes level within this (degrees) by the measuring model. Its eye centres move with pixels far
#: from the eyes: a cut-out step that changed 128 pixels at Obama's ears and shoulders (the stray
#: haze, matting._strays) moved its roll of the same head from 0.74° to 1.16°.
MAX_ROLL = 1.5


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=93)
    return out.getvalue()


def _tilted(degrees: float) -> bytes:
    return _jpeg(
        astronaut()
        .resize((1024, 1024), Image.Resampling.LANCZOS)
        .rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(120, 120, 120))
    )


def test_every_rule_family_has_a_representative():
    assert set(REPRESENTATIVE) == set(load_rules())
    assert all(load_catalog().get(sid).rule.rule_id == rule for rule, sid in REPRESENTATIVE.items())


@pytest.mark.parametrize("source", ["astronaut", "obama"])
@pytest.mark.parametrize("rule_id", sorted(REPRESENTATIVE))
def test_the_head_falls_in_every_band_of_its_rule(rule_id, source):
    spec = load_catalog().get(REPRESENTATIVE[rule_id])
    image = portrait_jpeg() if source == "astronaut" else photo("obama.jpg")
    result = make_id_photo(image, size=spec.px, dpi=spec.dpi, bg_color="FFFFFF", rule=rule_id)
    measured = measure(result.data, "FFFFFF")
    assert assess(spec.rule, measured.shares) == {name: True for name in spec.rule.bands}, measured.shares
    assert abs(measured.roll) <= MAX_ROLL
    # The engine's own report agrees with the independent measurement.
    for key in ("head_crown", "eyes", "top_hair"):
        assert result.shares[key] == pytest.approx(measured.shares[key], abs=0.025)


@pytest.mark.parametrize("degrees", [5, 12, 18])
def test_a_tilted_head_is_levelled(degrees):
    spec = load_catalog().get(3110)
    result = make_id_photo(_tilted(degrees), size=spec.px, dpi=spec.dpi, bg_color="FFFFFF", rule="icao")
    measured = measure(result.data, "FFFFFF")
    assert abs(measured.roll) <= MAX_ROLL
    assert all(assess(spec.rule, measured.shares).values())


def test_a_head_tilted_beyond_20_degrees_is_refused():
    assert inspect_face(_tilted(26)).id_problem == "head_tilted"
    with pytest.raises(FaceCheckError) as refused:
        make_id_photo(_tilted(26), size=(413, 531), dpi=300, bg_color="FFFFFF", rule="icao")
    assert refused.value.code == "head_tilted"


def test_no_remnants_of_the_old_background_and_shoulders_to_the_bottom():
    """Obama's portrait stands before flags and curtains: none of it may stay beside the head."""
    result = make_id_photo(photo("obama.jpg"), size=(413, 531), dpi=300, bg_color="FFFFFF", rule="icao")
    assert stray_share(result.data, "FFFFFF") < 0.005
    rgb = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"), dtype=float)
    bottom = np.abs(rgb[-1] - 255).max(axis=1) > 40
    assert bottom.mean() > 0.6  # the suit reaches the bottom edge across most of the width


def _t1_face(x: int, y: int, side: int, level: float = 0.0) -> bytes:
    """A face of insightface's group photograph, cropped with room for the hair and enlarged."""
    group = Image.open(io.BytesIO(photo("t1.jpg")))
    cx, cy, span = x + side / 2, y + side / 2, side * 2.6
    crop = group.crop((int(cx - span / 2), int(cy - span / 2.2), int(cx + span / 2), int(cy + span * 0.65)))
    crop = crop.resize((crop.width * 3, crop.height * 3), Image.Resampling.LANCZOS)
    return _jpeg(crop.rotate(level, resample=Image.Resampling.BICUBIC) if level else crop)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("obama2", "head_turned"),
        ("t1-right", "head_turned"),
        ("t1-middle", "head_nodded"),
        ("t1-left", "head_tilted"),
        ("t1-left-levelled", "eyes_closed"),
    ],
)
def test_real_photos_that_are_no_id_photos_are_refused(name, problem):
    images = {
        "obama2": lambda: photo("obama2.jpg"),
        "t1-right": lambda: _t1_face(729, 365, 108),
        "t1-middle": lambda: _t1_face(457, 294, 116),
        "t1-left": lambda: _t1_face(63, 290, 98),
        "t1-left-levelled": lambda: _t1_face(63, 290, 98, level=-26),
    }
    findings = inspect_face(images[name]())
    assert findings.problem is None  # a face is there: anime and AI portraits still take it
    assert findings.id_problem == problem


def test_good_portraits_pass_and_an_open_mouth_is_noticed():
    astronaut_findings = inspect_face(portrait_jpeg())
    obama = inspect_face(photo("obama.jpg"))
    assert astronaut_findings.id_problem is None and obama.id_problem is None
    assert obama.mouth == "apart"  # a broad smile that shows teeth
    assert astronaut_findings.mouth == "apart"
    assert inspect_face(photo("obama2.jpg")).mouth == "open"  # speaking
    assert obama.head_px > 350 and obama.face_width_px > 200


def _lit(factor: float, lift: float = 0.0) -> bytes:
    rgb = np.asarray(Image.open(io.BytesIO(portrait_jpeg())), dtype=float)
    return _jpeg(Image.fromarray(np.clip(rgb * factor + lift, 0, 255).astype(np.uint8)))


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (lambda: _jpeg(Image.open(io.BytesIO(portrait_jpeg())).filter(ImageFilter.GaussianBlur(4))), "blurry"),
        (lambda: _lit(0.2), "too_dark"),
        (lambda: _lit(0.15, 225), "too_bright"),
    ],
)
def test_blur_and_bad_light_are_refused(image, problem):
    assert inspect_face(image()).id_problem == problem
