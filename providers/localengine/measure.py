"""What a finished ID photo holds, whoever made it: where the head is (the caption of a PicWish
photo names the rule and the measured values as the local engine's does), and the checklist of
the photo as it will be printed (providers/localengine/checklist.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from providers.localengine import checklist, models
from providers.localengine.arrays import Array
from providers.localengine.faces import decode, measured, sharpness_and_light
from providers.localengine.findings import CutOut, FaceFindings, Hands
from providers.localengine.landmarks import FACE_OVAL, Landmarks
from providers.localengine.pipeline import colour_rgb, hands_of
from providers.placement import FaceMeasures, load_rules, measured_shares, placement_report

#: A pixel this far (max over channels) from the background colour is not background.
BACKGROUND_DISTANCE = 40
#: The face's sharpness and light are measured from this far above the eye line (in eye-to-chin
#: distances) down to the chin, between its sides: about the face detector's box, whose values
#: the face check's limits were set on.
FOREHEAD = 0.6


def _landmarks(rgb: Array) -> Landmarks | None:
    # An ID photo is small and its face large: Face Mesh's own detector finds it, no BlazeFace pass;
    # its square cut out quickly (what the caption and checklist show moves by hundredths of a mm).
    found = models.mesh_landmarks(rgb, quick=True)
    if found is None:
        return None
    height, width = rgb.shape[:2]
    return Landmarks(found * np.array([width, height, width], dtype=np.float64))


def _shares(rgb: Array, marks: Landmarks, bg_color: str) -> dict[str, float]:
    """Where the head is, as shares of the photo; the top of the hair is the first row above the
    face that is not the background colour."""
    height, width = rgb.shape[:2]
    eye_x, eye_y = (float(v) for v in marks.eye_centre)
    chin = float(marks.chin[1])
    crown = eye_y - (chin - eye_y)
    face_width = marks.face_width
    columns = slice(int(max(0, eye_x - 0.3 * face_width)), int(min(width, eye_x + 0.3 * face_width)))
    # Only rows down to the crown can be the hair's top, and the colours are whole numbers: each
    # channel is compared with the background's apart (a maximum over the 3-long last axis cost
    # milliseconds).
    above = rgb[: min(height, max(0, math.floor(crown) + 1)), columns]
    far = np.zeros(above.shape[:2], dtype=bool)
    for channel, value in enumerate(int(v) for v in colour_rgb(bg_color)):
        plane = above[..., channel]
        far |= (plane < value - BACKGROUND_DISTANCE) | (plane > value + BACKGROUND_DISTANCE)
    rows = np.flatnonzero(far.any(axis=1))
    hair = min(float(rows[0]) if len(rows) else crown, crown)
    return measured_shares(
        FaceMeasures(eye_x=eye_x, eye_y=eye_y, chin=chin, crown=crown, hair=hair, face_width=face_width),
        (width, height),
    )


def face_of(rgb: Array, marks: Landmarks, hands: Hands | None = None) -> FaceFindings:
    """The pose, eyes, mouth, sharpness, light, glasses, hair over the eyes, what is on the head
    and any hand at the face in a finished photo; its sharpness as printed, a small face not
    enlarged. ``hands``: as measured on the photo it was made of (pipeline.hands_of), else looked
    for in the finished photo, where a hand the frame cuts through may be missed. Hands are looked
    for only in a finished photo, not in the check before charging: about 13 ms of CPU, as much as
    that whole check."""
    eye_y = float(marks.eye_centre[1])
    chin = float(marks.chin[1])
    oval = marks.points[list(FACE_OVAL), :2]
    box = (float(oval[:, 0].min()), eye_y - FOREHEAD * (chin - eye_y), float(oval[:, 0].max()), chin)
    face = measured(marks, rgb, marks, *sharpness_and_light(rgb, box, enlarge=False))
    found = hands if hands is not None else hands_of(rgb, marks)
    return replace(face, hands_checked=found.checked, hand_gap=found.gap)


def placement_of(image: bytes, bg_color: str, rule: str) -> dict[str, Any] | None:
    """``{"rule", "shares"}`` for an ID photo on a solid ``bg_color`` background, or None when no
    single face can be measured in it (too small a spec, an odd result)."""
    rgb, _ = decode(image)
    marks = _landmarks(rgb)
    return None if marks is None else placement_report(rule, _shares(rgb, marks, bg_color))


def report_of(
    image: bytes,
    bg_color: str,
    rule: str,
    mm: tuple[float, float],
    *,
    shares: Mapping[str, float] | None = None,
    cut_out: CutOut | None = None,
    hands: Hands | None = None,
) -> dict[str, Any]:
    """The placement report of a finished ID photo of ``mm`` (width, height) with its checklist
    (``{"rule", "shares", "checklist"}``): where the head is (``shares`` where its maker reported
    it, else measured), the face measured on the photo, and how far its cut-out can be trusted
    where it was cut out here (``cut_out``), with any hand at the face found in the photo it was
    made of (``hands``), else in the finished photo. A photo made elsewhere in which no face is found has
    no shares, and a checklist that says so (before, its preview came with no checklist and no
    word why)."""
    rgb, _ = decode(image)
    marks = _landmarks(rgb)
    if shares is None:
        if marks is None:
            return {**placement_report(rule, {}), "checklist": checklist.no_face().to_json()}
        shares = _shares(rgb, marks, bg_color)
    face = face_of(rgb, marks, hands) if marks is not None else None
    items = checklist.build(load_rules()[rule], shares, mm, face, cut_out)
    return {**placement_report(rule, dict(shares)), "checklist": items.to_json()}
