"""From a coarse person mask to a clean cut-out, in the finished photo's frame.

The segmentation models see the photo at 320x320, so near the person's outline, and in hair above
all, their mask says "person" for whatever lies behind thin strands: leaves, a poster, a dark
hall. Three steps follow the models:

1. **Colour lines** (:func:`refine_edges`): near the outline, a pixel is a mix of the person's
   colour next to it and the old background's colour next to it (both estimated from the sure
   parts around it). Projected on the line between the two, a pixel that is the background's
   colour is background, whatever the model said. Where the two colours are alike (dark hair in a
   dark hall) the colours cannot tell, and the model's mask stands; the face itself never changes.
   Beyond a few pixels of the person's body, what the mask keeps only faintly (a haze of a flag
   beside a cap, a dark smudge by the shoulder) is background wherever its colour is nearer the
   local background's than the person's, trusted or not: thin hair so far out is seen against the
   background and keeps the hair's colour.
2. **Foreground colours** (:func:`foreground`): a soft edge pixel still holds some of the old
   background's colour, which shows as a grey or coloured fringe on the new background. The
   person's own colour at the edge is estimated instead (Forte and Pitié's blur fusion, 2021:
   "Approximate Fast Foreground Colour Estimation", two passes of box filters).
3. **What is left to doubt** (:func:`doubt`): background colours the colour lines could not remove
   (too alike) and that the mask still keeps near the outline, as a share of the photo. A photo
   with too much of it is not delivered silently: the preview's checklist says so, and where no
   preview came first ``pipeline.make_id_photo`` refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from providers.localengine.arrays import Array

#: Mask values beyond which a pixel is surely the person, or surely not.
SURE_PERSON = 0.97
SURE_BACKGROUND = 0.03
#: The band around the outline that the colour lines look at, as a share of the photo's width
#: (hair stands out from the head by about a tenth of the face's width or more).
BAND = 0.06
#: Colour distance (RGB, 0-255) between the person's and the background's local colours below
#: which the colours cannot tell them apart, and above which they are trusted fully.
ALIKE = 35.0
DISTINCT = 90.0
#: A cut-out that keeps more than this share of the photo in colours of the old background (see
#: :func:`doubt`) is doubtful: on the real-photo benchmark, clean cut-outs measure under 0.3 %,
#: foliage seen through blond hair 0.5 %.
DOUBTFUL = 0.004
#: Where no sure part of the person lies within the band's radius (hair standing far out), the
#: person's colour is taken from this many times the radius.
WIDE = 3
#: Distance from the person's body (mask over 1/2), as a share of the photo's width, beyond which a
#: pixel nearer the local background's colour than the person's is background (about 3 pixels on a
#: passport photo: past the soft edge the guided filter leaves).
STRAY = 1 / 120
#: Spread of the person's colours around their local mean (RGB) up to which the colour lines are
#: trusted fully, and from which not at all.
SPREAD_MIN = 25.0
SPREAD_MAX = 50.0
#: A pixel this close to its local background colour, and this far from the person's, is
#: background seen through or around the hair.
BACKGROUND_LIKE = 30.0


def _box(image: Array, radius: int) -> Array:
    import cv2

    blurred: Array = cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)
    return blurred


def _local_mean(image: Array, weight: Array, radius: int) -> tuple[Array, Array]:
    """The weighted mean colour around each pixel, and how much weight there was."""
    total = _box(weight, radius)
    mean = _box(image * weight[..., None], radius) / np.maximum(total, 1e-6)[..., None]
    return mean, total


def _near(mask: Array, radius: int) -> Array:
    """Within ``radius`` pixels of ``mask`` (a square: OpenCV dilates by one in two passes, at a
    cost that does not grow with the radius)."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * radius + 1, 2 * radius + 1))
    near: Array = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
    return near


def _colours(image: Array, alpha: Array, radius: int) -> tuple[Array, Array, Array, Array, Array]:
    """Local person colour, local background colour, how far apart they are, where both exist, and
    how much the person's colours spread around their mean (light strands over dark hair)."""
    # The person's colour from well inside the outline: what the mask kept next to it may be background.
    inside = ~_near(alpha <= SURE_PERSON, max(1, radius // 3))
    person, person_weight = _local_mean(image, inside.astype(np.float32), radius)
    squares, _ = _local_mean(image * image, inside.astype(np.float32), radius)
    wide, wide_weight = _local_mean(image, inside.astype(np.float32), WIDE * radius)
    wide_squares, _ = _local_mean(image * image, inside.astype(np.float32), WIDE * radius)
    far = (person_weight <= 0.02)[..., None]
    person, squares = np.where(far, wide, person), np.where(far, wide_squares, squares)
    person_weight = np.maximum(person_weight, wide_weight)
    spread = np.sqrt(np.maximum(squares - person * person, 0.0)).mean(axis=2)
    behind, behind_weight = _local_mean(image, (alpha < SURE_BACKGROUND).astype(np.float32), radius)
    known = (person_weight > 0.02) & (behind_weight > 0.02)
    apart = np.linalg.norm(person - behind, axis=2)
    return person, behind, apart, known, spread


@dataclass(frozen=True)
class _Around:
    """What the colour lines and the doubt look at around each pixel (see :func:`_colours`), and
    the band near the outline where they may act."""

    person: Array
    behind: Array
    apart: Array
    spread: Array
    band: Array


def _around(image: Array, alpha: Array, protected: Array) -> _Around:
    radius = max(3, round(BAND * image.shape[1]))
    person, behind, apart, known, spread = _colours(image, alpha, radius)
    band = known & _near(alpha < SURE_BACKGROUND, radius) & ~protected
    return _Around(person, behind, apart, spread, band)


def refine_edges(image: Array, alpha: Array, protected: Array) -> tuple[Array, float]:
    """``alpha`` with background colours near the outline taken out (see the module's step 1), and
    the doubt left in it (step 3). ``image`` is float32 RGB 0-255, ``alpha`` 0-1, ``protected``
    where the face is (never cut)."""
    around = _around(image, alpha, protected)
    along = around.person - around.behind
    share = ((image - around.behind) * along).sum(axis=2) / np.maximum(around.apart * around.apart, 1e-6)
    by_colour = np.clip(share, 0.0, 1.0)
    # A person of one colour there (hair over leaves) is trusted; light strands over dark hair are
    # not one colour, and their mean would call the dark hair background.
    trust = np.clip((around.apart - ALIKE) / (DISTINCT - ALIKE), 0.0, 1.0) * np.clip(
        (SPREAD_MAX - around.spread) / (SPREAD_MAX - SPREAD_MIN), 0.0, 1.0
    )
    lowered = alpha - trust * np.maximum(alpha - by_colour, 0.0)
    refined: Array = np.where(around.band, lowered, alpha).astype(np.float32)
    refined[_strays(image, refined, around)] = 0.0
    return refined, _doubt(image, refined, around)


def _strays(image: Array, alpha: Array, around: _Around) -> Array:
    """Where the mask keeps, beyond ``STRAY`` of the person's body, a colour nearer the local
    background's than the person's (see the module's step 1)."""
    import cv2

    body = (alpha <= 0.5).astype(np.uint8)
    beyond = cv2.distanceTransform(body, cv2.DIST_L2, 3) > STRAY * alpha.shape[1]
    to_behind = np.abs(image - around.behind).max(axis=2)
    to_person = np.abs(image - around.person).max(axis=2)
    stray: Array = around.band & beyond & (to_behind < to_person)
    return stray


def foreground(image: Array, alpha: Array) -> Array:
    """The person's own colours where ``alpha`` is soft (see the module's step 2)."""
    width = image.shape[1]
    coarse = max(4, round(width / 12))
    fine = max(2, round(width / 160))
    estimate, behind = image, image
    for radius in (coarse, fine):
        estimate, behind = _blur_fusion(image, estimate, behind, alpha, radius)
    return estimate


def _blur_fusion(image: Array, person: Array, behind: Array, alpha: Array, radius: int) -> tuple[Array, Array]:
    a = alpha[..., None]
    blurred_alpha = _box(alpha, radius)[..., None]
    person_mean = _box(person * a, radius) / (blurred_alpha + 1e-5)
    behind_mean = _box(behind * (1 - a), radius) / (1 - blurred_alpha + 1e-5)
    estimate = person_mean + a * (image - a * person_mean - (1 - a) * behind_mean)
    return np.clip(estimate, 0.0, 255.0).astype(np.float32), behind_mean.astype(np.float32)


def doubt(image: Array, alpha: Array, protected: Array) -> float:
    """Share of the photo that the cut-out keeps (alpha > 0.5) near the outline although its
    colour is the local background's and not the person's (see the module's step 3)."""
    return _doubt(image, alpha, _around(image, alpha, protected))


def _doubt(image: Array, alpha: Array, around: _Around) -> float:
    to_behind = np.abs(image - around.behind).max(axis=2)
    to_person = np.abs(image - around.person).max(axis=2)
    suspicious = around.band & (alpha > 0.5) & (to_behind < BACKGROUND_LIKE) & (to_person > 2 * BACKGROUND_LIKE)
    return float(suspicious.mean())
