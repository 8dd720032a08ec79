"""Where the head is in a finished ID photo, whoever made it: the caption of a PicWish photo names
the rule and the measured values as the local engine's does."""

from __future__ import annotations

from typing import Any

import numpy as np

from providers.localengine import models
from providers.localengine.faces import decode
from providers.localengine.landmarks import Landmarks
from providers.localengine.pipeline import colour_rgb
from providers.placement import FaceMeasures, measured_shares, placement_report

#: A pixel this far (max over channels) from the background colour is not background.
BACKGROUND_DISTANCE = 40


def placement_of(image: bytes, bg_color: str, rule: str) -> dict[str, Any] | None:
    """``{"rule", "shares"}`` for an ID photo on a solid ``bg_color`` background, or None when no
    single face can be measured in it (too small a spec, an odd result)."""
    rgb, _ = decode(image)
    height, width = rgb.shape[:2]
    # An ID photo is small and its face large: Face Mesh's own detector finds it, no BlazeFace pass.
    found = models.mesh_landmarks(rgb)
    if found is None:
        return None
    marks = Landmarks(found * np.array([width, height, width], dtype=np.float64))
    eye_x, eye_y = (float(v) for v in marks.eye_centre)
    chin = float(marks.chin[1])
    crown = eye_y - (chin - eye_y)
    face_width = marks.face_width
    columns = slice(int(max(0, eye_x - 0.3 * face_width)), int(min(width, eye_x + 0.3 * face_width)))
    distance = np.abs(rgb[:, columns].astype(np.float32) - colour_rgb(bg_color)).max(axis=2)
    rows = np.nonzero((distance > BACKGROUND_DISTANCE).any(axis=1))[0]
    hair = min(float(rows[0]) if len(rows) else crown, crown)
    shares = measured_shares(
        FaceMeasures(eye_x=eye_x, eye_y=eye_y, chin=chin, crown=crown, hair=hair, face_width=face_width),
        (width, height),
    )
    return placement_report(rule, shares)
