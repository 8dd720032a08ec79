"""What the face check found in a photo, in plain Python: it crosses from the engine's worker process
to the bot, which imports nothing of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: closed; apart (a smile that shows teeth, lips slightly parted); open (speaking, laughing).
Mouth = Literal["closed", "apart", "open"]

#: CIE L* between the cheeks from which one side of the face is in shadow (evenly lit portraits on
#: the real-photo benchmark measure under 25, side-lit ones 32-42).
UNEVEN_LIGHT = 32.0
#: Mean brightness of the face (0-255) under which the photo is underexposed (well-lit portraits of
#: light and dark skin measure 110-155; under 45 the photo is refused as too dark).
UNDEREXPOSED = 80.0
#: Share of the face burnt out from which the photo is overexposed.
OVEREXPOSED = 0.25
#: The glasses bridge measure (providers/localengine/office.py) from which glasses are seen.
GLASSES = 7.0


@dataclass(frozen=True)
class FaceFindings:
    #: Why no face service can use the photo (``face.<code>`` in the bot's texts), or None.
    problem: str | None = None
    #: Why an ID photo cannot be made of it (turned, nodded or tilted head, closed eyes, blur,
    #: light), or None.
    id_problem: str | None = None
    #: How open the mouth is (see providers.placement.expression for what follows).
    mouth: Mouth = "closed"
    #: Chin to crown (the skull, hair excluded) and face width at the ears, in the photo's pixels.
    head_px: float = 0.0
    face_width_px: float = 0.0
    #: Mean brightness of the face (0-255; 0 where it was not measured).
    face_light: float = 0.0
    #: Brightness difference of the cheeks (CIE L*), share of the face burnt out, and the glasses
    #: bridge measure (providers/localengine/office.py).
    light_difference: float = 0.0
    burnt_out: float = 0.0
    glasses_bridge: float = 0.0
    #: False when no engine could look (the ``local`` extra is missing or its worker died).
    checked: bool = True

    @property
    def uneven_light(self) -> bool:
        return self.light_difference >= UNEVEN_LIGHT

    @property
    def underexposed(self) -> bool:
        return 0 < self.face_light < UNDEREXPOSED

    @property
    def overexposed(self) -> bool:
        return self.burnt_out >= OVEREXPOSED

    @property
    def glasses(self) -> bool:
        return self.glasses_bridge >= GLASSES
