"""From a coarse person mask to a clean cut-out, in the finished photo's frame (reduced to at most
pipeline.EDGE_SIDE on its longer side).

The segmentation models see the photo at 320x320, so near the person's outline, and in hair above
all, their mask says "person" for whatever lies behind thin strands: leaves, a poster, a dark
hall. Five steps follow the models:

0. **Unsure plateaus below the chin** (:func:`settle_below`): there nothing of a person is
   see-through over a wide area (a ponytail, locks on the shoulders, a neck, clothes), so where the
   mask stays half-way far from both its sure parts, the models were unsure, and it is made one or
   the other by the mean around it. Left half-way, step 2 took the old background's colour out of
   it: Jolie's ponytail behind her neck, kept by one model and dropped by the other, came out as a
   bluish-grey shard (a yellow logo taken out of brown hair).
1. **Colour lines** (:func:`refine_edges`): near the outline, a pixel is a mix of the person's
   colour next to it and the old background's colour next to it (both estimated from the sure
   parts around it). Projected on the line between the two, a pixel that is the background's
   colour is background, whatever the model said. Where the two colours are alike (dark hair in a
   dark hall) the colours cannot tell, and the model's mask stands; the face itself never changes,
   and the ears and temples around it only where the two colours are far apart (black locks over a
   cream wall), where the old background cannot pass for the person.
   Beyond a few pixels of the person's body, what the mask keeps only faintly (a haze of a flag
   beside a cap, a dark smudge by the shoulder) is background wherever its colour is nearer the
   local background's than the person's, trusted or not: thin hair so far out is seen against the
   background and keeps the hair's colour.
2. **Foreground colours** (:func:`foreground`): a soft edge pixel still holds some of the old
   background's colour, which shows as a grey or coloured fringe on the new background. The
   person's own colour at the edge is estimated instead (Forte and Pitié's blur fusion, 2021:
   "Approximate Fast Foreground Colour Estimation", two passes of box filters), and where the edge
   is softer than the solid person, drawn towards the colour of the solid parts next to it: the
   estimate alone keeps a dark fringe of a black hall along white hair.
3. **Flyaway strands** (:func:`tidy`): what stands out of the outline, opened at the scale of a
   strand, further than a strand's width, is taken away, as a studio retouches a passport photo:
   a lone hair arching over the head, wisps at the temple with the old background between them.
   Thicker locks and curls stay. A small piece of the cut-out that stands apart from the person,
   joined to it not even by a faint wisp (:func:`drop_apart`), where the colour lines cut a
   shoulder away from its trim, goes too: in a head-and-shoulders photo nothing of the person
   floats.
4. **What is left to doubt** (:func:`doubt`): what the photo shows before step 3, other than the
   new background, beyond the person's outline smoothed at the scale of a lock of hair, face and ears
   excepted, as a share of the photo. That is where old background stays (a streak beside the
   shoulder, a haze above the head) and where loose strands stand out; in a portrait in front of a
   plain wall, with tidy hair, nothing is. The colours cannot tell these apart from the person
   (what they could tell, step 1 took out), so the doubt looks at the shape; a blob wider than the
   scale and joined to the person is taken for part of it. A photo with too much of it is not
   delivered silently: the preview's checklist says so, and where no preview came first
   ``pipeline.make_id_photo`` refuses it. It is measured before the flyaway strands go: what they
   hid is what the cut-out was unsure of.
5. **Pockets of old background in the body** (:func:`pockets`): what step 4 cannot see, a wide
   piece of old background that the models kept as part of the body (foliage between an arm and
   the chest), is told by its colours: below the chin, whatever the cut-out keeps whose colour is
   far more common in the sure background than deep inside the person without that part (its own
   pixels would make its colours the person's), in parts thick enough not to be a pinstripe or a
   trim and open to the outside (a panel of the clothes inside the outline is not background the
   outline swallowed). Only behind a busy background: in front of a plain wall a garment the wall's
   colour cannot be told from it by colour, and the models do not swallow a plain wall. Nor in the
   middle of the chest, where no background shows, nor in a part of one colour, as clothes are (a
   busy background seen through the person is many). Too much of it is doubtful, as step 4's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from providers.localengine import imageops
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
#: Around the face (ears, temples) the colour lines act only where the two colours lie this far
#: apart (RGB distance; black is 441 from white), the old background cannot pass for the person:
#: closer, they bit into grey hair at Obama's temple in front of a light curtain. On the real-photo
#: benchmark this took `jntm`'s cream stage out from between his black locks at the temple (halo
#: 6.1 -> 2.6 %); at 200 it also moved Johansson's auburn hair.
RING_APART = 250.0
#: The scale of the smoothed outline, as a share of the photo's width: a lock of hair narrower
#: than it stands out; a visible pixel further than it from the outline counts.
OUTLINE = 1 / 40
#: The width of a strand of hair, as a share of the photo's width (about 2 pixels on a passport
#: photo): see :func:`tidy`. On the real-photo benchmark (3110) it took the leftovers under 0.1 % on
#: two more photos (Mayer's arching hair 0.107 -> 0.000 %) and no halo grew past 5 %; at twice it
#: the doubt's count fell under its line on a photo that still had leftovers.
STRAND = 1 / 200
#: Colour distance (max over RGB, 0-255) from the new background from which a pixel shows.
SEEN = 40.0
#: Where no sure part of the person lies within the band's radius (hair standing far out), the
#: person's colour is taken from this many times the radius.
WIDE = 3
#: Distance from the person's body (mask over 1/2), as a share of the photo's width, beyond which a
#: pixel nearer the local background's colour than the person's is background (about 3 pixels on a
#: passport photo: past the soft edge the guided filter leaves).
STRAY = 1 / 120
#: Soft edges (see :func:`_edge_from_inside`): from ``EDGE_SOLID`` up a pixel keeps its estimated
#: colour, at ``EDGE_FROM_INSIDE`` and below it takes the colour of the solid parts within
#: ``EDGE_REACH`` of the width (about 5 pixels on a passport photo). On the real-photo benchmark
#: this took the halo at grey and white hair from 5-6 % of the hair's edge to under 3 %.
EDGE_SOLID = 0.95
EDGE_FROM_INSIDE = 0.5
EDGE_REACH = 1 / 80
#: Spread of the person's colours around their local mean (RGB) up to which the colour lines are
#: trusted fully, and from which not at all.
SPREAD_MIN = 25.0
SPREAD_MAX = 50.0
#: For :func:`pockets`: a colour (in bins of POCKET_BIN levels a channel) this many times as common,
#: as a share, in the sure background as deep inside the person (POCKET_DEPTH of the photo's width
#: in) is the old background's, judged for each part of the body in colours over POCKET_SEED times
#: as common (a looser first look) against the person without that part; parts are kept where a
#: disc of POCKET_DEPTH fits in them (about twice it across) and that come within POCKET_OPEN
#: depths of the outside; a part over POCKET_LARGEST of the person is judged against the whole
#: person; the POCKET_PARTS largest parts are judged, smaller ones left. On the real-photo benchmark (four
#: specs) at 4 times a dark suit's pinstripes in front of a dark hall came out too.
POCKET_BIN = 32
POCKET_RATIO = 8.0
POCKET_SEED = 2.0
POCKET_LARGEST = 1 / 8
POCKET_PARTS = 50
POCKET_DEPTH = 1 / 60
POCKET_OPEN = 2
#: Below the chin, within this many face widths of the face's centre line, is the middle of the
#: chest: no background shows there in a frontal portrait, so a part whose middle lies there (a
#: white shirt front in front of a white wall, a dark lapel in front of a dark curtain) is the
#: person's, whatever its colour. (The neck is about 0.7 face widths wide, the shoulders 3 or more.)
#: On the held-out real photos the pocket step's three warnings were such parts, their middles
#: 0.2-0.45 face widths from the line; the one true pocket of the tuned photos (foliage below an
#: arm) lies 0.67 out.
CHEST = 0.5
#: A part whose colours fill fewer bins than this (the inverse Simpson index of its POCKET_BIN
#: bins: how many equally common colours would be as varied) is one colour: a garment, not the busy
#: background seen through the person (the step runs only behind a busy background). A jacket's
#: black shoulder in front of a black curtain (held out) measures 1.0, the tuned photos' one true
#: pocket (foliage below an arm) 3.0. A piece of one colour that the outline swallowed is not told
#: from a garment this way: by its colour alone it cannot be.
POCKET_VARIETY = 2.0
#: A piece of the cut-out apart from the person (joined to neither the face nor the ears, even by a
#: faint wisp) smaller than this share of what is joined to them is not the person: see
#: :func:`drop_apart`. On the real-photo benchmark the colour lines cut a graduate's black gown off
#: his shoulder in front of dark glass and left its silver trim floating beside his neck (Jianzhu
#: Guo, 0.7 % of the person with its soft edge); a piece of a see-through jacket at the frame's edge
#: measured 0.2 %, every other piece a few pixels (a lock of hair joined only by wisps is joined).
APART_LARGEST = 1 / 50
#: Mask values between which a pixel below the chin is unsure, and how far (as a share of the
#: photo's width, about 5 pixels on a passport photo) from both sure sides an unsure pixel lies in
#: a plateau rather than on a soft edge. On the real-photo benchmark, applied above the chin too,
#: it cut into hair haze: Mayer's leftovers 0.107 -> 0.149 %, Grace Hopper's halo 0.6 -> 1.6 %.
UNSURE = (0.1, 0.9)
#: Below the chin the person is a body, not strands of hair against the background: a pixel there
#: that the colour lines read as partly background is mostly the person in shadow (the crease
#: between neck and shoulder against a dark hall read as 0.6 of the person, and came out as a
#: pale, flat patch). There the share along the colour line is stretched from these values to 0-1:
#: what is nearly the background's colour (a poster kept beside the shoulder) still goes.
BODY_SHARE = (0.2, 0.4)
PLATEAU = 1 / 80


def _box(image: Array, radius: int) -> Array:
    return imageops.box_mean(image, 2 * radius + 1, border="reflect")


def _local_mean(image: Array, weight: Array, radius: int) -> tuple[Array, Array]:
    """The weighted mean colour around each pixel, and how much weight there was (one box filter
    over the weighted colours and the weight together)."""
    channels = image.shape[2]
    sums = _box(np.concatenate([image * weight[..., None], weight[..., None]], axis=2), radius)
    total = sums[..., channels]
    mean = sums[..., :channels] / np.maximum(total, 1e-6)[..., None]
    return mean, total


def _near(mask: Array, radius: int) -> Array:
    """Within ``radius`` pixels of ``mask`` (a square: running counts along each axis, at a cost
    that does not grow with the radius)."""
    return imageops.dilate_square(mask, radius)


def _colours(image: Array, alpha: Array, radius: int) -> tuple[Array, Array, Array, Array, Array]:
    """Local person colour, local background colour, how far apart they are, where both exist, and
    how much the person's colours spread around their mean (light strands over dark hair)."""
    # The person's colour from well inside the outline: what the mask kept next to it may be background.
    inside = ~_near(alpha <= SURE_PERSON, max(1, radius // 3))
    # The colours and their squares, in one pass of the box filter each at both radii.
    both = np.concatenate([image, image * image], axis=2)
    person_both, person_weight = _local_mean(both, inside.astype(np.float32), radius)
    wide_both, wide_weight = _local_mean(both, inside.astype(np.float32), WIDE * radius)
    person, squares = person_both[..., :3], person_both[..., 3:]
    wide, wide_squares = wide_both[..., :3], wide_both[..., 3:]
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
    """What the colour lines look at around each pixel (see :func:`_colours`), and the band near
    the outline where they may act."""

    person: Array
    behind: Array
    apart: Array
    spread: Array
    band: Array


def _around(image: Array, alpha: Array, protected: Array, ring: Array | None) -> _Around:
    radius = max(3, round(BAND * image.shape[1]))
    person, behind, apart, known, spread = _colours(image, alpha, radius)
    open_ring = ~protected if ring is None else ~protected | (ring & (apart > RING_APART))
    band = known & _near(alpha < SURE_BACKGROUND, radius) & open_ring
    return _Around(person, behind, apart, spread, band)


def settle_below(alpha: Array, chin_row: int) -> Array:
    """``alpha`` with its unsure plateaus from ``chin_row`` down made person or background by their
    mean around them (see the module's step 0); soft edges, near a sure part, stay as they are."""
    low, high = UNSURE
    reach = max(2, round(PLATEAU * alpha.shape[1]))
    unsure = (alpha > low) & (alpha < high)
    plateau = unsure & ~imageops.within_distance(alpha <= low, reach) & ~imageops.within_distance(alpha >= high, reach)
    plateau[: max(0, chin_row)] = False
    if not plateau.any():
        return alpha
    # The plateau with the soft edges around it, up to its sure sides.
    settled = imageops.within_distance(plateau, 2 * reach) & unsure
    settled[: max(0, chin_row)] = False
    person = imageops.box_mean(alpha, 2 * reach + 1) >= 0.5
    out = alpha.copy()
    out[settled] = person[settled]
    return out


def refine_edges(
    image: Array, alpha: Array, protected: Array, ring: Array | None = None, chin_row: int | None = None
) -> Array:
    """``alpha`` with background colours near the outline taken out (see the module's step 1).
    ``image`` is float32 RGB 0-255, ``alpha`` 0-1, ``protected`` where the face is (never cut),
    except in its part ``ring`` (the ears and temples around the face) where the person's and the
    background's colours lie over ``RING_APART`` apart. From ``chin_row`` down only what is nearly
    the background's colour goes (see ``BODY_SHARE``)."""
    around = _around(image, alpha, protected, ring)
    along = around.person - around.behind
    share = ((image - around.behind) * along).sum(axis=2) / np.maximum(around.apart * around.apart, 1e-6)
    by_colour = np.clip(share, 0.0, 1.0)
    if chin_row is not None and chin_row < alpha.shape[0]:
        low, high = BODY_SHARE
        below = slice(max(0, chin_row), None)
        by_colour[below] = np.clip((share[below] - low) / (high - low), 0.0, 1.0)
    # A person of one colour there (hair over leaves) is trusted; light strands over dark hair are
    # not one colour, and their mean would call the dark hair background.
    trust = np.clip((around.apart - ALIKE) / (DISTINCT - ALIKE), 0.0, 1.0) * np.clip(
        (SPREAD_MAX - around.spread) / (SPREAD_MAX - SPREAD_MIN), 0.0, 1.0
    )
    lowered = alpha - trust * np.maximum(alpha - by_colour, 0.0)
    refined: Array = np.where(around.band, lowered, alpha).astype(np.float32)
    refined[_strays(image, refined, around)] = 0.0
    return refined


def _strays(image: Array, alpha: Array, around: _Around) -> Array:
    """Where the mask keeps, beyond ``STRAY`` of the person's body, a colour nearer the local
    background's than the person's (see the module's step 1)."""
    beyond = ~imageops.within_distance(alpha > 0.5, STRAY * alpha.shape[1])
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
    return _edge_from_inside(image, estimate, alpha)


def _edge_from_inside(image: Array, estimate: Array, alpha: Array) -> Array:
    """``estimate`` where the person is solid, and towards the colour of the person's solid parts
    next to it where the edge is soft: below ``EDGE_SOLID`` a pixel's own colour still carries the
    old background (a dark fringe of a black hall along white hair), and at ``EDGE_FROM_INSIDE``
    and below its colour is the inside's alone. Where no solid part lies within reach the blur
    fusion's estimate stays."""
    radius = max(2, round(EDGE_REACH * image.shape[1]))
    inside, weight = _local_mean(image, (alpha > EDGE_SOLID).astype(np.float32), radius)
    own = np.clip((alpha - EDGE_FROM_INSIDE) / (EDGE_SOLID - EDGE_FROM_INSIDE), 0.0, 1.0)[..., None]
    towards: Array = np.where((weight > 0.02)[..., None], own * estimate + (1 - own) * inside, estimate)
    return towards.astype(np.float32)


def _blur_fusion(image: Array, person: Array, behind: Array, alpha: Array, radius: int) -> tuple[Array, Array]:
    a = alpha[..., None]
    # The three means in one pass of the box filter.
    sums = _box(np.concatenate([a, person * a, behind * (1 - a)], axis=2), radius)
    blurred_alpha = sums[..., :1]
    person_mean = sums[..., 1:4] / (blurred_alpha + 1e-5)
    behind_mean = sums[..., 4:7] / (1 - blurred_alpha + 1e-5)
    estimate = person_mean + a * (image - a * person_mean - (1 - a) * behind_mean)
    return np.clip(estimate, 0.0, 255.0).astype(np.float32), behind_mean.astype(np.float32)


def tidy(alpha: Array, protected: Array) -> Array:
    """``alpha`` without the flyaway strands that stand out of the person's outline (see the
    module's step 3), fading out over a pixel; nothing changes in ``protected`` (face and ears)."""
    radius = max(1.0, STRAND * alpha.shape[1])
    core = ~imageops.within_distance(alpha <= 0.5, radius)
    keep = imageops.within_distance(core, 2 * radius + 1) | protected
    fade = imageops.within_distance(core, 2 * radius + 2) & ~keep
    tidied: Array = np.where(keep, alpha, np.where(fade, alpha / 2, 0.0)).astype(np.float32)
    return tidied


def drop_apart(alpha: Array, protected: Array) -> Array:
    """``alpha`` without the small pieces that stand apart from the person (see the module's step
    3): the parts of what is not surely background (over ``SURE_BACKGROUND``) that are joined to
    neither the face nor the ears (``protected``) and are smaller than ``APART_LARGEST`` of the
    parts that are, soft edges and all. A lock joined to the head only by faint wisps is joined."""
    seen = alpha > SURE_BACKGROUND
    # The face and ears seed the person: no piece apart from them holds any of them.
    apart = imageops.small_parts_apart(seen, protected & seen, APART_LARGEST)
    if not apart.any():
        return alpha
    dropped: Array = np.where(apart, 0.0, alpha).astype(np.float32)
    return dropped


def doubt(finished: Array, backdrop: Array, alpha: Array, protected: Array) -> float:
    """Share of the ``finished`` photo that shows (differs from the ``backdrop`` it was put on) beyond
    the person's outline (``alpha`` over 1/2, opened and then widened by ``OUTLINE``), outside the
    face and ears (``protected``): see the module's step 4. Its scale and line were chosen on
    photos at most 640 px on a side (pipeline.EDGE_SIDE): on a finer photo the same hair reads more
    doubtful."""
    radius = max(2, OUTLINE * alpha.shape[1])
    # Opened and widened by a disc of ``radius`` (in the 3x3 chamfer distance): eroded by it, then
    # widened by twice it.
    eroded = ~imageops.within_distance(alpha <= 0.5, radius)
    near = imageops.within_distance(eroded, 2 * radius)
    shows = np.abs(finished - backdrop).max(axis=2) > SEEN
    return float((shows & ~near & ~protected).mean())


def _colour_counts(bins: Array, where: Array) -> Array:
    """How many of the pixels ``where`` fall in each colour bin."""
    counts: Array = np.bincount(bins[where], minlength=(256 // POCKET_BIN) ** 3).astype(np.float64)
    return counts


def _shares(counts: Array) -> Array:
    shares: Array = counts / max(float(counts.sum()), 1.0) + 1e-4
    return shares


def _opened(mask: Array, radius: int) -> Array:
    """``mask`` opened by a disc of ``radius`` (the 3x3 chamfer distance): what a disc fits in."""
    opened: Array = imageops.within_distance(~imageops.within_distance(~mask, radius), radius) & mask
    return opened


def _box_of(part: Array, margin: int) -> tuple[slice, slice]:
    """The bounding box of ``part`` widened by ``margin`` and a pixel, inside the picture."""
    rows, columns = np.flatnonzero(part.any(axis=1)), np.flatnonzero(part.any(axis=0))
    return (
        slice(max(0, int(rows[0]) - margin - 1), int(rows[-1]) + margin + 2),
        slice(max(0, int(columns[0]) - margin - 1), int(columns[-1]) + margin + 2),
    )


def _variety(bins: Array) -> float:
    """How many colour bins ``bins`` fill: the inverse Simpson index (1 for one colour, n for n
    equally common ones); 0 for none."""
    if not len(bins):
        return 0.0
    shares = np.unique(bins, return_counts=True)[1] / len(bins)
    return float(1 / np.sum(shares**2))


def _middle_column(part: Array) -> float:
    """The mean column of ``part``'s pixels."""
    columns = part.sum(axis=0)
    return float(np.arange(len(columns)) @ columns) / max(float(columns.sum()), 1.0)


def pockets(
    image: Array, alpha: Array, protected: Array, below: Array, chin_row: int, face: tuple[float, float]
) -> float:
    """Share of the photo below ``chin_row`` that the cut-out keeps (``alpha`` over 1/2) in the old
    background's colours, outside the face and ears (``protected``) and the middle of the chest
    (``CHEST``; ``face`` is the face's centre column and width); the background is read where the
    mask is surely not the person, except ``below`` the photo's bottom edge (made up there). See the
    module's step 5: each part of the body in colours over ``POCKET_SEED`` times as common behind as
    inside, and open to the outside (within ``POCKET_OPEN`` depths of the outline, the frame's bottom
    or the part below the photo: where the models' outline swallowed background, not a panel of the
    clothes inside it), is judged against the person's colours without it (its own pixels would make
    its colours the person's), and kept where they are over ``POCKET_RATIO`` times as common behind;
    a part over ``POCKET_LARGEST`` of the person is judged against the whole person. Only parts that a
    disc of ``POCKET_DEPTH`` fits in; the ``POCKET_PARTS`` largest; not one whose middle is within
    ``CHEST`` face widths of the face's centre line, nor one whose kept colours fill fewer than
    ``POCKET_VARIETY`` bins (clothes)."""
    depth = max(2, round(POCKET_DEPTH * alpha.shape[1]))
    behind = (alpha < SURE_BACKGROUND) & ~below
    inside = ~imageops.within_distance(alpha <= SURE_PERSON, depth)
    if behind.sum() < 100 or inside.sum() < 100:
        return 0.0
    levels = (np.clip(image, 0, 255).astype(np.uint8) // POCKET_BIN).astype(np.int64)
    side = 256 // POCKET_BIN
    bins = (levels[..., 0] * side + levels[..., 1]) * side + levels[..., 2]
    background = _shares(_colour_counts(bins, behind))
    person = _colour_counts(bins, inside)
    ratio = background / _shares(person)
    body = (alpha > 0.5) & ~protected
    body[: max(chin_row, 0)] = False
    outside = (alpha <= 0.5) | below
    outside[-1] = True
    reach = imageops.within_distance(outside, POCKET_OPEN * depth)
    candidates = _opened(body & (ratio[bins] > POCKET_SEED), depth)
    largest = POCKET_LARGEST * float(person.sum())
    found = np.zeros(alpha.shape, dtype=bool)
    centre_x, face_width = face
    for part in imageops.components(candidates, POCKET_PARTS):
        box = _box_of(part, depth)
        if (
            not (part[box] & reach[box]).any()
            or abs(box[1].start + _middle_column(part[box]) - centre_x) < CHEST * face_width
        ):
            continue
        judged = ratio
        near = imageops.within_distance(part[box], depth) & inside[box]
        if (part[box] & inside[box]).sum() <= largest and near.sum() + 100 <= person.sum():
            judged = np.maximum(ratio, background / _shares(person - _colour_counts(bins[box], near)))
        kept = part[box] & (judged[bins[box]] > POCKET_RATIO)
        if _variety(bins[box][kept]) >= POCKET_VARIETY:
            found[box] |= kept
    return float(_opened(found, depth).mean())
