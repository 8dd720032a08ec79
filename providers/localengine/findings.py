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
#: light and dark skin measure 110-155; under 45 the photo is refused as too dark; the checklist's
#: light item warns from the same value).
UNDEREXPOSED = 70.0
#: Share of the face burnt out from which the photo is overexposed.
OVEREXPOSED = 0.25
#: The glasses bridge measure (providers/localengine/office.py) from which glasses are seen.
GLASSES = 7.0
#: Share of an eyebrow's length covered by hair from which hair is over the brow, and share of it
#: where the hair reaches the lid too, from which it is over the eye (providers/localengine/hair.py):
#: fringes that hide the brows measure 0.67-1.0 on the real-photo benchmark and the photos gathered
#: for it (0.58 in a tighter crop of one of them), bare brows at most 0.5 (a strand over one end, a
#: face lit from one side); where the fringe reaches the eyes, 0.5-1.0 of the brow is covered down
#: to the lid.
HAIR_BROWS = 0.6
HAIR_EYES = 0.5
#: The contrast on top of the head (providers/localengine/office.py, CIE L*) from which something that
#: is not hair sits there: Grace Hopper's uniform cap (a visor under a white crown, a badge) measures
#: 39; hair and bare heads on the real-photo benchmark 5-31, and up to 35 among the photos gathered
#: for it (curly hair against a white wall). A narrow measure: see office.head_contrast.
HEAD_COVERING = 37.0
#: A confirmed hand (providers/localengine/hands.py) with a point within this many face widths of
#: the face's box (the face mesh's outline, forehead to chin) is at the face. Measured on the photos
#: of the real-photo benchmark (166 with a face mesh): hands on the brow, at the chin, holding the
#: chin and V-signs beside the eyes 0.0; a hand on the chest under the chin 0.12-0.15; the nearest
#: hand in a photo not labelled so (holding a microphone before the chest) 0.19-0.21, the next 0.5.
AT_FACE = 0.1


#: A finished photo that shows more than this share of it beyond the person's smoothed outline
#: (see matting.doubt) is doubtful. On the real-photo benchmark, clean cut-outs measure 0-0.18 %
#: (one head of curly hair 0.37 %), those with old background, a haze or flyaway hair 0.3-0.9 %.
DOUBTFUL = 0.0025
#: A cut-out whose outline ends over the face more than this share of the head's height (chin to
#: crown) below the estimated crown has lost the top of the head: dark hair against a dark
#: background, taken for background. On the real-photo benchmark the outlines of short hair end
#: up to 0.11 below the estimate (Obama's), those that lost the hair 0.15-0.19.
TOP_LOST = 0.13
#: A cut-out whose outline at the eye line is narrower than the face (where it meets the ears) by
#: more than this share of its width has lost the sides of the head: the head is never narrower
#: there. On the real-photo benchmark (tuned and held-out photos) outlines measure 1.02-1.5 face
#: widths; one lost a model's long blond hair in front of dark lights and measured 0.84.
SIDES_LOST = 0.05
#: A finished photo with more than this share of it kept as the body in the old background's
#: colours (see matting.pockets) is doubtful. On the real-photo benchmark (four specs) clean
#: cut-outs measure 0-0.24 %, foliage kept between an arm and the chest 0.78 %.
POCKETED = 0.004


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
    #: Brightness difference of the cheeks (CIE L*), share of the face burnt out, and the glasses
    #: bridge measure (providers/localengine/office.py).
    light_difference: float = 0.0
    burnt_out: float = 0.0
    glasses_bridge: float = 0.0
    #: How much of the more covered eyebrow hair covers, and how much of it down to the eye (0-1), and
    #: the contrast on top of the head (see HAIR_BROWS, HAIR_EYES and HEAD_COVERING).
    hair_brows: float = 0.0
    hair_eyes: float = 0.0
    head_contrast: float = 0.0
    #: False when no engine could look (the ``local`` extra is missing or its worker died).
    checked: bool = True
    #: The measured values behind the verdicts, None where nothing was measured (see faces.py for
    #: the limits): the head's tilt (roll: the eye line off level), turn (yaw) and nod (pitch) in
    #: degrees; the eyes' lid gap and the mouth's inner lip gap over their widths; the face's
    #: sharpness and mean brightness (0-255).
    roll: float | None = None
    yaw: float | None = None
    pitch: float | None = None
    eye_openness: float | None = None
    mouth_openness: float | None = None
    sharpness: float | None = None
    light: float | None = None
    #: Whether hands were looked for (only in a finished photo: measure.face_of), and how far the
    #: nearest one is from the face's box, in face widths (None: no hand near it; see AT_FACE).
    hands_checked: bool = False
    hand_gap: float | None = None
    #: From the eye line down to the photo's bottom edge, in the photo's pixels, where the check
    #: measured it: how far below the chin the photo goes (bot/services/idphoto/fit.py).
    room_below_px: float | None = None

    @property
    def hand_at_face(self) -> bool:
        return Hands(self.hand_gap).at_face

    @property
    def uneven_light(self) -> bool:
        return self.light_difference >= UNEVEN_LIGHT

    @property
    def underexposed(self) -> bool:
        return self.light is not None and self.light < UNDEREXPOSED

    @property
    def overexposed(self) -> bool:
        return self.burnt_out >= OVEREXPOSED

    @property
    def glasses(self) -> bool:
        return self.glasses_bridge >= GLASSES

    @property
    def hair_over_brows(self) -> bool:
        return self.hair_brows >= HAIR_BROWS

    @property
    def hair_over_eyes(self) -> bool:
        return self.hair_over_brows and self.hair_eyes >= HAIR_EYES

    @property
    def head_covering(self) -> bool:
        return self.head_contrast >= HEAD_COVERING


@dataclass(frozen=True)
class Hands:
    """How far the nearest hand is from the face's box, in face widths (None: no hand near it; see
    AT_FACE), as measured on the photo an ID photo was made of. Measured there, not on the finished
    photo, where the frame cuts off the palm of a hand whose fingers still reach into it (V-signs
    beside the eyes): the palm detector needs the palm."""

    gap: float | None = None
    #: Whether hands were looked for (not where the hand models are missing: files.hand_models_present).
    checked: bool = True

    @property
    def at_face(self) -> bool:
        return self.gap is not None and self.gap <= AT_FACE


@dataclass(frozen=True)
class CutOut:
    """How far a cut-out can be trusted: ``doubt``, the share of the photo that stands out beyond
    the person's outline (see matting.doubt); ``top_lost``, how far below the estimated crown the
    outline ends over the face, as a share of the head's height (0 where it reaches the crown); and
    ``pocket``, the share of the photo kept as the body in the old background's colours (see
    matting.pockets); ``sides_lost``, how much narrower than the face the outline is at the eye
    line, as a share of the face's width (0 where it is as wide or wider)."""

    doubt: float = 0.0
    top_lost: float = 0.0
    pocket: float = 0.0
    sides_lost: float = 0.0

    @property
    def left(self) -> bool:
        """Old background or loose strands stand out."""
        return self.doubt > DOUBTFUL

    @property
    def lost_top(self) -> bool:
        return self.top_lost > TOP_LOST

    @property
    def lost_sides(self) -> bool:
        """The hair beside the face lost with the background (and with it, mostly, the top)."""
        return self.sides_lost > SIDES_LOST

    @property
    def lost_head(self) -> bool:
        """Part of the head (its top, or the hair beside the face) taken for background."""
        return self.lost_top or self.lost_sides

    @property
    def pocketed(self) -> bool:
        """Old background kept as part of the body."""
        return self.pocket > POCKETED

    @property
    def doubtful(self) -> bool:
        return self.left or self.lost_head or self.pocketed
