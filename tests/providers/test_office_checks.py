"""The checks an office makes, on real photographs from PyPI packages (bench/real_photos.py pins
them): glasses, speech told apart from a smile, one side of the face in shadow (an evenly lit
portrait, and the same darkened on one side)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from bench.real_photos import PHOTOS, path
from bot.services.idphoto.fit import judge
from providers.localengine.faces import FaceCheckError, check_face, inspect_face
from providers.localengine.findings import FaceFindings
from providers.localengine.pipeline import render_id_photo
from providers.specs import load_catalog

USA_VISA, SCHENGEN = 3108, 3110


def _photo(name: str) -> bytes:
    (photo,) = (p for p in PHOTOS if p.name == name)
    assert photo.from_pypi, f"{name} must come from PyPI, which CI reaches"
    return path(photo).read_bytes()


def _findings(name: str) -> FaceFindings:
    return inspect_face(_photo(name))


def test_glasses_are_seen_and_refused_where_the_rule_forbids_them() -> None:
    hopper = _findings("matplotlib-grace_hopper.jpg")
    assert hopper.glasses
    catalog = load_catalog()
    usa, schengen = catalog.get(USA_VISA), catalog.get(SCHENGEN)
    assert usa is not None and schengen is not None
    assert judge(usa, hopper).refusal == "face.glasses_forbidden"
    assert judge(schengen, hopper).refusal is None


def test_a_face_without_glasses_is_not_taken_for_one_with() -> None:
    assert not _findings("face_recognition-obama.jpg").glasses


def test_speech_is_an_open_mouth_and_a_smile_is_not() -> None:
    # Obama smiling with his lips apart, and speaking at a lectern (a photo refused for its turned
    # head, but its mouth is still measured).
    assert _findings("face_recognition-obama.jpg").mouth == "apart"
    assert _findings("face_recognition-obama2.jpg").mouth == "open"
    schengen = load_catalog().get(SCHENGEN)
    assert schengen is not None
    assert judge(schengen, FaceFindings(mouth="open", head_px=400, face_width_px=300)).refusal == "face.mouth_open"


def _shaded(data: bytes, darker: float) -> bytes:
    """The photo with the right half of the picture (the left side of a face looking at the camera)
    darkened as by a lamp on one side, fading over a tenth of the width."""
    with Image.open(io.BytesIO(data)) as img:
        rgb = np.asarray(img.convert("RGB")).astype(np.float32)
    width = rgb.shape[1]
    ramp = np.clip((np.arange(width) - width / 2) / (0.1 * width) + 0.5, 0, 1)
    rgb *= (1 - darker * ramp)[None, :, None]
    out = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(out, "JPEG", quality=95)
    return out.getvalue()


def test_one_side_of_the_face_in_shadow_is_advice() -> None:
    even = _photo("face_recognition-obama.jpg")
    assert not inspect_face(even).uneven_light
    shaded = inspect_face(_shaded(even, 0.45))
    assert shaded.uneven_light
    schengen = load_catalog().get(SCHENGEN)
    assert schengen is not None
    verdict = judge(schengen, shaded)
    assert verdict.refusal is None
    assert "face.uneven_light_advice" in verdict.advice


def test_a_photo_that_ends_below_the_chin_is_refused_not_striped() -> None:
    """The engine repeats the photo's edge rows where the body goes on past it: unseen under a chest,
    but stripes where the shoulders should be when the photo ends at the neck."""
    data = _photo("face_recognition-obama.jpg")
    _rgb, _size, face = check_face(data)  # the face in the photo's pixels
    with Image.open(io.BytesIO(data)) as img:
        cut_at_neck = img.convert("RGB").crop((0, 0, img.size[0], round(face.chin + 0.15 * face.height)))
    out = io.BytesIO()
    cut_at_neck.save(out, "JPEG", quality=95)
    with pytest.raises(FaceCheckError) as refused:
        render_id_photo(out.getvalue(), size=(413, 531), dpi=300, bg_color="438EDB", rule="icao")
    assert refused.value.code == "shoulders_cut_off"
    render_id_photo(data, size=(413, 531), dpi=300, bg_color="438EDB", rule="icao")  # the whole photo is made


def test_a_dark_photo_is_advised_and_a_well_lit_one_is_not() -> None:
    even = _photo("face_recognition-obama.jpg")
    assert not inspect_face(even).underexposed
    with Image.open(io.BytesIO(even)) as img:
        dim = Image.eval(img.convert("RGB"), lambda value: int(value * 0.45))
    out = io.BytesIO()
    dim.save(out, "JPEG", quality=95)
    findings = inspect_face(out.getvalue())
    assert findings.id_problem is None  # not so dark that it is refused
    assert findings.underexposed
    schengen = load_catalog().get(SCHENGEN)
    assert schengen is not None
    assert "face.underexposed_advice" in judge(schengen, findings).advice
