"""From a photo to an ID photo: find the face and its landmarks, cut out the person, level the eyes,
place the head by the spec's rule, new background.

Recipe: detect the face -> Face Mesh landmarks (eye centres, chin, ear roots) -> segment a
head-and-shoulders region, keep only the part joined to the face -> top of the hair from the mask,
crown (hair excluded) estimated from the landmarks -> one affine warp that levels the eye line and
scales and shifts the head into the middle of the rule's bands (providers/placement.py), the body
going on where the frame reaches past the photo (beyond.py) -> refine the mask edges with a guided
filter -> take the old background's colour out of the edge pixels (these edge steps at most
EDGE_SIDE on a side, enlarged for the larger specs) -> composite on a solid or gradient background.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from providers.localengine import beyond, imageops, matting, models, resample
from providers.localengine.arrays import Array
from providers.localengine.faces import (
    MAX_ROLL,
    MIN_FACE_HEIGHT,
    MIN_IMAGE_SIDE,
    SIDEWAYS_ROLL,
    FaceCheckError,
    FaceReport,
    check_face,
    decode,
    find_face,
    turned_face,
    turned_over,
)
from providers.localengine.files import hand_models_present
from providers.localengine.findings import CutOut, Hands
from providers.localengine.landmarks import FACE_OVAL, Landmarks, find_landmarks
from providers.placement import (
    DEFAULT_RULE,
    FaceMeasures,
    PlacementRule,
    load_rules,
    measured_shares,
    placement_report,
    plan,
)

JPEG_QUALITY = 95
#: The background behind the person is plain under this (see Background.busyness; on the real-photo
#: benchmark plain walls measure 0.1-1.3, busy backgrounds 1.5-15, blurred ones the lowest): the
#: full U²-Net, which costs more than the rest of the photo, is run only on other backgrounds.
PLAIN_BACKGROUND = 1.2
#: A background whose farthest tenth lies this far (RGB distance) from its median colour is not a
#: plain wall, however smooth: the full U²-Net runs there too (not the pockets' colour reading,
#: which a garment of the wall's colour misleads). On the photos held out from the real-photo
#: benchmark, a dark Oscars backdrop with a lighter blue band measured 0.91 (plain) and 78 here;
#: U²-Net-p alone kept a dark panel of it beside Johansson's neck (2.9 % of the photo, unwarned),
#: with the full model 0.3 %. Plain walls measured up to 67 (a strongly vignetted grey): the line
#: sits below them, so such a wall runs both models too, which costs time, not quality (the
#: agreement of the two is what every busy background gets).
UNEVEN_BACKGROUND = 50.0
#: The person's mask is worked out at most this many pixels on its longer side: the models see the
#: photo at 320x320, so more only interpolates, and on a phone photo arrays of the region's size
#: cost a tenth of a second. At 640 or 800 one photo each of the real-photo benchmark came out
#: with a leftover that full size and 1024 do not have (the finished mask is sampled differently).
MASK_SIDE = 1024
#: Above the chin, the full U²-Net's mask is kept from this value up whatever U²-Net-p says (see
#: _agreed). On the real-photo benchmark this kept Jianzhu Guo's dark hair (8.75 % of him was lost
#: before), Katy Perry's blond hair and headband (5.0 % lost, then 2.8 %) and Grace Hopper's cap;
#: lower values (0.95) let more of the full model's edge through.
FULL_SURE = 0.99
#: The face's outline widened by this share of its width holds the ears and the temples: the
#: colour lines act there only where the colours are far apart (matting.RING_APART; at 0.12 and
#: open to all colours they took a bite out of grey hair at Obama's temple, in front of a light
#: curtain), and the flyaway strands and the doubt leave it out.
EARS = 0.2
#: The cut-out's edge work (the mask's edges, the colour lines, the colours at the edge, the doubt,
#: the flyaway strands) runs at most this many pixels on the finished photo's longer side; for the
#: larger specs (3, 4 and 5 inch, custom sizes up to 1799 px) its alpha and edge colours are
#: enlarged. The models see the photo at 320x320: at 1051x1500 the edge work at full size took
#: 1.6 s and gave the same cut-out, its edges a little crisper (docs/benchmarks.md).
EDGE_SIDE = 640
#: A photo is decoded no larger than keeps its face this many times the finished photo's width
#: (see _decoded), by a whole factor. Only a photo over ``LOOK_FIRST`` times the finished photo's
#: longer side is looked at for it.
FACE_KEEP = 1.0
LOOK_FIRST = 3


@dataclass(frozen=True)
class IdPhoto:
    """The finished JPEG, and where the head landed as shares of the photo (for the caption)."""

    data: bytes
    rule: str
    shares: dict[str, float]
    #: How far its cut-out can be trusted: old background or loose strands beyond the person's
    #: outline, the top of the head lost.
    cut_out: CutOut = field(default_factory=CutOut)
    #: Any hand at the face, in the photo it was made of (the preview's checklist shows it).
    hands: Hands = field(default_factory=Hands)

    @property
    def doubtful(self) -> bool:
        return self.cut_out.doubtful

    def report(self) -> dict[str, Any]:
        return placement_report(self.rule, self.shares)


def colour_rgb(colour: str) -> Array:
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def background(width: int, height: int, top: str, bottom: str | None) -> Array:
    """A solid colour, or a top-to-bottom gradient, as float32 HxWx3."""
    first = colour_rgb(top)
    if not bottom:
        return np.broadcast_to(first, (height, width, 3)).astype(np.float32)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(first * (1 - t) + colour_rgb(bottom) * t, (height, width, 3)).astype(np.float32)


@dataclass(frozen=True)
class Background:
    """What lies behind the person, read where the mask is surely not the person, at 256 pixels
    across: ``busyness``, the mean gradient (0-255 per pixel; a wall, even shaded or vignetted,
    measures a few units; text, leaves or a crowd tens), and ``spread``, how far (RGB distance) the
    farthest tenth of it lies from its median colour (a wall, shaded, at most 67 on the real-photo
    benchmark's, a smooth backdrop of two colours 78). Both infinite where too little background
    shows."""

    busyness: float
    spread: float

    @property
    def busy(self) -> bool:
        return self.busyness > PLAIN_BACKGROUND

    @property
    def plain(self) -> bool:
        """A plain wall: neither busy nor of several colours (see UNEVEN_BACKGROUND)."""
        return not self.busy and self.spread <= UNEVEN_BACKGROUND


def background_of(region: Array, mask: Array) -> Background:
    """The background of ``region`` behind the person of ``mask`` (see Background)."""
    scale = 256 / max(region.shape[1], 1)
    size = (round(region.shape[1] * scale), round(region.shape[0] * scale))
    small = resample.reduce_box(region, size)
    # An 8-bit mask resized bilinearly rounds to 1 where the interpolated value reaches 1/2.
    behind = resample.resize_linear((mask < 0.05).astype(np.float32), size) >= 0.5
    behind = imageops.erode_square(behind, 2)
    if behind.sum() < 0.05 * behind.size:
        return Background(float("inf"), float("inf"))  # too little background to tell
    gray = imageops.gray(small).astype(np.float32)
    gradient = np.abs(imageops.sobel_x(gray)) + np.abs(imageops.sobel_y(gray))
    colours = small[behind].astype(np.float32)
    distance = np.linalg.norm(colours - np.median(colours, axis=0), axis=1)
    return Background(float(gradient[behind].mean() / 8), float(np.percentile(distance, 90)))


def _agreed(masks: list[Array], face: FaceReport) -> Array:
    """One mask from each model's. On real portraits the two U²-Nets err in different places:
    U²-Net-p keeps large parts of a busy background beside the body (a poster, a panel, a person
    behind) and the full U²-Net a haze around light hair, while either may lose the neck and
    shoulders in front of a background like them (bench/idphoto_real.py). So beside and above
    the head the person is where both models agree (the smaller value), and in the torso below
    the face, a cone widening from the chin, where either sees it (the larger value). Above the
    chin, what the full U²-Net is sure of (``FULL_SURE``) stays too: U²-Net-p loses dark hair in
    front of a dark building, or blond hair and a headband in front of a light poster, where the
    full model sees them whole, and its haze is never that sure."""
    if len(masks) == 1:
        return masks[0]
    height, width = masks[0].shape
    centre = face.x + face.width / 2
    chin = face.chin
    rows = np.arange(height, dtype=np.float32)[:, None] - chin
    columns = np.abs(np.arange(width, dtype=np.float32)[None, :] - centre)
    torso = (rows > -0.1 * face.height) & (columns < 0.3 * face.width + 0.3 * np.maximum(rows, 0))
    # Softened by two box blurs (about a Gaussian's shape, at a cost that does not grow with the face),
    # from a blur's reach above the torso down (higher up both blurs see nothing but zeros).
    side = 2 * max(1, round(0.1 * face.width)) + 1
    top = max(0, int(np.argmax(torso.any(axis=1))) - side - 1)
    weight = np.zeros((height, width), dtype=np.float32)
    weight[top:] = imageops.box_mean(imageops.box_mean(torso[top:].astype(np.float32), side), side)
    low, high = np.minimum(masks[0], masks[1]), np.maximum(masks[0], masks[1])
    above = int(np.clip(math.ceil(chin), 0, height))
    low[:above] = np.where(masks[1][:above] > FULL_SURE, masks[1][:above], low[:above])
    agreed: Array = weight * high + (1 - weight) * low
    return agreed


@dataclass(frozen=True)
class PersonMask:
    """The person's mask over a head-and-shoulders region of the photo, at most ``MASK_SIDE`` pixels
    on its longer side: ``values`` float32 0..1, ``origin`` the region's top-left corner in the
    photo's pixels, ``step`` the photo's pixels per mask pixel (x, y)."""

    values: Array
    origin: tuple[int, int]
    step: tuple[float, float]
    #: Whether the background behind the person is busy (see Background.busy): the pockets are read.
    busy: bool = False

    def photo_point(self, column: Array | float, row: Array | float) -> tuple[Array, Array]:
        """Where mask pixel centres lie in the photo (an area resize's pixel centres)."""
        x0, y0 = self.origin
        sx, sy = self.step
        return x0 + (np.asarray(column) + 0.5) * sx - 0.5, y0 + (np.asarray(row) + 0.5) * sy - 0.5

    def mask_point(self, x: float, y: float) -> tuple[float, float]:
        """The mask's (column, row) at the photo's point (``x``, ``y``): photo_point's inverse."""
        x0, y0 = self.origin
        sx, sy = self.step
        return (x - x0 + 0.5) / sx - 0.5, (y - y0 + 0.5) / sy - 0.5


def _person_mask(rgb: Array, face: FaceReport) -> PersonMask:
    """The person's mask over a head-and-shoulders region. Only what is joined to the face is kept: a
    bright object behind the person (a flag, a lamp) that the saliency model picked up is not the
    person."""
    width = rgb.shape[1]
    x0 = int(max(0, face.x - 1.6 * face.width))
    x1 = int(min(width, face.x + 2.6 * face.width))
    y0 = int(max(0, face.y - 1.3 * face.height))
    region = rgb[y0:, x0:x1]
    reduce = max(region.shape[:2]) / MASK_SIDE
    if reduce > 1:
        region = resample.reduce_box(
            region, (max(1, round(region.shape[1] / reduce)), max(1, round(region.shape[0] / reduce)))
        )
    step = ((x1 - x0) / region.shape[1], (rgb.shape[0] - y0) / region.shape[0])
    tensor = models.u2net_input(region)
    light = models.segment_person(region, tensor=tensor)
    assert light is not None
    masks = [light]
    behind = background_of(region, light)
    if not behind.plain:
        full = models.segment_person(region, full=True, tensor=tensor)
        masks += [full] if full is not None else []
    # The face in the mask's pixels.
    local = replace(
        face,
        x=(face.x - x0) / step[0],
        y=(face.y - y0) / step[1],
        width=face.width / step[0],
        height=face.height / step[1],
        seen=None,
        eye_center_x=(face.eye_center_x - x0) / step[0],
        eye_center_y=(face.eye_center_y - y0) / step[1],
    )
    mask = _agreed(masks, local)
    row = int(np.clip(local.y + 0.6 * local.height, 0, mask.shape[0] - 1))
    column = int(np.clip(local.x + 0.5 * local.width, 0, mask.shape[1] - 1))
    solid = mask > beyond.SOLID
    if solid[row, column]:
        radius = max(3, round(0.04 * local.width))
        mask *= imageops.component_at(solid, row, column, grow=radius)
    return PersonMask(mask, (x0, y0), step, behind.busy)


def _levelling(marks: Landmarks) -> Array:
    """The 2x2 rotation that makes the eye line level."""
    angle = math.radians(marks.roll)
    return np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])


def sides_lost(mask: PersonMask, eye_centre: Array, face_width: float) -> float:
    """How much narrower than ``face_width`` the mask is along the eye line, from its first to its
    last solid pixel within a face's width either side of ``eye_centre``, as a share of it (0 where
    it is as wide or wider): the head at the eye line is at least as wide as the face where it
    meets the ears, so a narrower outline lost the head's sides (see CutOut.sides_lost). A head that
    reaches the mask's side (the photo's edge) cannot be told: 0."""
    height, width = mask.values.shape
    centre, at = mask.mask_point(float(eye_centre[0]), float(eye_centre[1]))
    row = int(np.clip(round(at), 0, height - 1))
    sx = mask.step[0]
    reach = face_width / sx
    first, last = int(np.clip(math.floor(centre - reach), 0, width)), int(np.clip(math.ceil(centre + reach), 0, width))
    solid = np.flatnonzero(mask.values[row, first:last] > beyond.SOLID) + first
    if not len(solid):
        return 1.0
    if solid[0] == 0 or solid[-1] == width - 1:
        return 0.0
    across = float(solid[-1] - solid[0] + 1) * sx
    return max(0.0, 1.0 - across / max(face_width, 1e-6))


def _measures(marks: Landmarks, rotation: Array, mask: PersonMask, image_top_cut: bool) -> tuple[FaceMeasures, float]:
    """The face in the levelled frame (rotated about the eye centre): eye line, chin, crown and top
    of the hair, face width; and how far below the crown the mask ends over the face, as a share of
    the head's height (see CutOut)."""
    centre = marks.eye_centre

    def level(point: Array) -> Array:
        levelled: Array = rotation @ (point - centre) + centre
        return levelled

    chin = float(level(marks.chin)[1])
    face_width = marks.face_width
    crown = centre[1] - (chin - centre[1])  # as far above the eye line as the chin is below it
    # Only above the eyes and within a face's width of them can the hair's top over the face lie
    # (the eyes are level within MAX_ROLL); the top rows are read whole for the cut-off check.
    sx, sy = mask.step
    x0, y0 = mask.origin
    rows = int(np.clip(math.ceil((centre[1] - y0) / sy), 1, mask.values.shape[0]))
    left = int(np.clip(math.floor((centre[0] - face_width - x0) / sx), 0, mask.values.shape[1] - 1))
    right = int(np.clip(math.ceil((centre[0] + face_width - x0) / sx), left + 1, mask.values.shape[1]))
    ys, xs = np.nonzero(mask.values[:rows:2, left:right:2] > beyond.SOLID)
    points = np.stack(mask.photo_point(left + xs * 2, ys * 2), axis=1).astype(np.float64)
    levelled = (points - centre) @ rotation.T + centre
    over_face = levelled[np.abs(levelled[:, 0] - centre[0]) < 0.3 * face_width]
    hair = float(over_face[:, 1].min()) if len(over_face) else crown
    if image_top_cut and len(over_face) and (mask.values[0] > beyond.SOLID).any():
        raise FaceCheckError("face_cut_off")  # the hair runs off the top of the picture
    top_lost = max(0.0, float(hair - crown) / max(chin - crown, 1e-6))
    # The mask may stop short of thin or no hair: the top of the hair is never below the crown.
    measures = FaceMeasures(
        eye_x=float(centre[0]),
        eye_y=float(centre[1]),
        chin=chin,
        crown=crown,
        hair=min(hair, crown),
        face_width=face_width,
    )
    return measures, top_lost


def _guided_filter(guide: Array, source: Array, radius: int, eps: float) -> Array:
    def mean(*planes: Array) -> list[Array]:
        """The box means of ``planes``, in one pass of the box filter."""
        means = imageops.box_mean(np.stack(planes, axis=2), 2 * radius + 1)
        return [means[..., k] for k in range(len(planes))]

    mean_i, mean_p, mean_ip, mean_ii = mean(guide, source, guide * source, guide * guide)
    a: Array = np.divide(mean_ip - mean_i * mean_p, mean_ii - mean_i * mean_i + eps)
    b: Array = mean_p - a * mean_i
    mean_a, mean_b = mean(a, b)
    filtered: Array = np.clip(mean_a * guide + mean_b, 0.0, 1.0)
    return filtered


def _face_and_ears(
    marks: Landmarks, linear: Array, offset: Array, size: tuple[int, int], face_width: float
) -> tuple[Array, Array]:
    """Where the face is in the finished photo (``linear`` and ``offset`` map the photo into it,
    where the face is ``face_width`` wide), and the face with the ears and temples around it: the
    cut-out's edge refinement never takes anything from the face, and from the ring around it only
    where the colours are far apart (see matting.refine_edges)."""
    oval = marks.points[list(FACE_OVAL), :2] @ linear.T + offset
    outline = imageops.fill_polygon((size[1], size[0]), oval)
    # The ears stand out past the face's outline by about a tenth of its width, the temples' hair more.
    ears = max(1, round(EARS * face_width))
    return outline, imageops.dilate_disc(outline, ears)


def _source_window(
    matrix: Array, size: tuple[int, int], shape: tuple[int, ...]
) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """The part of the photo (x0, y0, x1, y1) that the warp into ``size`` reads, with a small margin,
    and how many columns it reads beyond the photo's left and right edges."""
    width, height = size
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=np.float64)
    mapped = corners @ inverse.T
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - 4
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + 4
    window = max(0, x0), max(0, y0), min(shape[1], max(x1, 1)), min(shape[0], max(y1, 1))
    return window, (max(0, -x0), max(0, x1 - shape[1]))


def _window_mask(
    mask: PersonMask, window: tuple[int, int, int, int], chin: float
) -> tuple[Array, tuple[float, float], int]:
    """The mask over the photo's ``window`` (x0, y0, x1, y1), at the mask's own resolution, zero
    where the region did not reach; where its first pixel's centre lies in the photo (x, y); and the
    chin's row in it."""
    wx0, wy0, wx1, wy1 = window
    x0, y0 = mask.origin
    sx, sy = mask.step
    left, top = math.floor((wx0 - x0) / sx), math.floor((wy0 - y0) / sy)
    right, bottom = math.ceil((wx1 - x0) / sx), math.ceil((wy1 - y0) / sy)
    person: Array = np.zeros((max(1, bottom - top), max(1, right - left)), dtype=np.float32)
    rows, columns = mask.values.shape
    r0, r1, c0, c1 = max(top, 0), min(bottom, rows), max(left, 0), min(right, columns)
    if r1 > r0 and c1 > c0:
        person[r0 - top : r1 - top, c0 - left : c1 - left] = mask.values[r0:r1, c0:c1]
    corner_x, corner_y = mask.photo_point(left, top)
    chin_row = int(np.clip((chin - y0) / sy - top, 0, person.shape[0]))
    return person, (float(corner_x), float(corner_y)), chin_row


def _working_frame(linear: Array, offset: Array, size: tuple[int, int]) -> tuple[Array, Array, tuple[int, int]]:
    """The map from the photo into the finished photo reduced to at most ``EDGE_SIDE`` on its longer
    side (the frame the cut-out's edge work runs in), and that size; the map itself where the
    finished photo is no larger. Pixel centres stay aligned: x' + 1/2 = k (x + 1/2)."""
    width, height = size
    scale = EDGE_SIDE / max(width, height)
    if scale >= 1:
        return linear, offset, size
    work = (max(1, round(width * scale)), max(1, round(height * scale)))
    factors = np.array([work[0] / width, work[1] / height])
    return factors[:, None] * linear, factors * offset + (factors - 1) / 2, work


@dataclass(frozen=True)
class _Edges:
    """The cut-out's work in one frame (see :func:`_cut_out`), each HxW or HxWx3 float32: the photo
    warped (its made-up part below the photo smoothed), the person's mask before and after the
    colour lines, the person's own colours, the face and ears (never cut), the part below the
    photo's bottom edge."""

    image: Array
    mask: Array
    alpha: Array
    foreground: Array
    protected: Array
    below: Array
    chin_row: int
    #: The face's centre line (the column of the eyes' centre) and its width, in the frame.
    centre_x: float
    face_width: float


def _cut_out(
    widened: beyond.Widened,
    photo_shape: tuple[int, ...],
    marks: Landmarks,
    linear: Array,
    offset: Array,
    image: Array,
) -> _Edges:
    """The cut-out in the frame that ``linear`` and ``offset`` map the photo (of ``photo_shape``)
    into, ``image`` being the photo there: the person's alpha and its own colours at the edges (see
    matting)."""
    height, width = image.shape[:2]
    size = (width, height)
    _, person_matrix = widened.window.matrices(linear, offset)
    alpha = resample.warp_affine(widened.window.person, person_matrix, size)
    chin_row = math.ceil(float(linear[1] @ marks.chin + offset[1]))
    alpha = matting.settle_below(alpha, chin_row)
    radius = max(2, round(min(width, height) / 120))
    gray = imageops.gray(np.clip(image, 0, 255).astype(np.uint8)).astype(np.float32) / 255.0
    alpha = _guided_filter(gray, alpha, radius, 1e-3)
    alpha = np.clip((alpha - 0.1) / 0.8, 0.0, 1.0)  # firm up the inside and clear faint haze
    outside = beyond.Outside.of(linear, offset, photo_shape, size)
    beyond.check(outside, alpha > beyond.SOLID, widened.sure)
    image = beyond.smooth_below(image, alpha, outside.below)
    face_width = marks.face_width * math.sqrt(abs(float(np.linalg.det(linear))))
    outline, protected = _face_and_ears(marks, linear, offset, size, face_width)
    # The shoulders made up past the sides have an outline of their own, and no old background.
    made_up = outside.left | outside.right
    refined = matting.refine_edges(
        image, alpha, protected | made_up, ring=protected & ~outline & ~made_up, chin_row=chin_row
    )
    foreground = matting.foreground(image, refined)
    centre_x = float(linear[0] @ marks.eye_centre + offset[0])
    return _Edges(image, alpha, refined, foreground, protected, outside.below, chin_row, centre_x, face_width)


def _full_size(edges: _Edges, tidied: Array, image: Array) -> tuple[Array, Array]:
    """The person's colours and the tidied alpha at the size of ``image`` (the photo in the finished
    frame), from the edge work done reduced (``edges``, ``tidied``): the alpha is enlarged; the
    colours are the reduced estimate's enlarged, with the full photo's own detail added where the
    person is solid and fading out towards the soft edge, where the colours are drawn from the
    inside anyway (matting's step 2): the face and clothes keep every pixel."""
    size = (image.shape[1], image.shape[0])
    below = resample.resize_linear(edges.below.astype(np.float32), size) > 0.5
    image = beyond.smooth_below(image, resample.resize_linear(edges.mask, size), below)
    alpha = np.clip(resample.resize_linear(tidied, size), 0.0, 1.0)
    own = np.clip((alpha - matting.EDGE_FROM_INSIDE) / (matting.EDGE_SOLID - matting.EDGE_FROM_INSIDE), 0.0, 1.0)
    detail = image - resample.resize_linear(edges.image, size)
    colours: Array = resample.resize_linear(edges.foreground, size) + own[..., None] * detail
    return colours, alpha


def compose(
    rgb: Array,
    face: FaceReport,
    marks: Landmarks,
    size: tuple[int, int],
    rule: PlacementRule,
    bg_color: str,
    bg_color2: str | None,
) -> tuple[Array, dict[str, float], CutOut]:
    """The finished photo's pixels, where the head landed (shares, see placement.measured_shares)
    and how far its cut-out can be trusted (see CutOut). The cut-out's edge work runs at most
    ``EDGE_SIDE`` on the longer side, its alpha and colours enlarged to the finished size."""
    width, height = size
    if abs(marks.roll) > MAX_ROLL:
        raise FaceCheckError("on_its_side" if abs(marks.roll) > SIDEWAYS_ROLL else "head_tilted")
    mask = _person_mask(rgb, face)
    rotation = _levelling(marks)
    face_at, top_lost = _measures(marks, rotation, mask, image_top_cut=mask.origin[1] == 0)
    placed = plan(rule, face_at, size)
    centre = marks.eye_centre
    linear = placed.scale * rotation
    offset = np.array([width / 2, placed.eye_row]) - linear @ centre
    window, sides = _source_window(np.hstack([linear, offset[:, None]]), size, rgb.shape)
    wx0, wy0, wx1, wy1 = window
    source = rgb[wy0:wy1, wx0:wx1].astype(np.float32)
    person, corner, chin_row = _window_mask(mask, window, float(marks.chin[1]))
    # Past the photo's bottom edge the body goes on (a photo cut at the chest): there the edge is
    # replicated; past its sides the shoulders go on (beyond.widen); at the top the person ends.
    person[0, :] = 0
    read = beyond.Window(source, (wx0, wy0), person, corner, mask.step)
    widened = beyond.widen(read, chin_row, sides, marks.face_width)
    # Bilinear when reducing (as OpenCV's warpAffine did with INTER_AREA), bicubic when enlarging.
    matrix, _ = widened.window.matrices(linear, offset)
    photo = resample.warp_affine(widened.window.source, matrix, size, cubic=placed.scale >= 1)
    work_linear, work_offset, work = _working_frame(linear, offset, size)
    image = photo if work == size else resample.resize_area(photo, work)
    edges = _cut_out(widened, rgb.shape, marks, work_linear, work_offset, image)
    backdrop = background(work[0], work[1], bg_color, bg_color2)
    alpha = edges.alpha[..., None]
    # The doubt is measured before the flyaway strands are taken away: what they hid is what the
    # cut-out was unsure of (man4: doubt 0.29 % before them, 0.19 % after, under the line, with
    # 0.19 % of leftovers still there).
    untidied = edges.foreground * alpha + backdrop * (1 - alpha)
    cut_out = CutOut(
        matting.doubt(untidied, backdrop, edges.alpha, edges.protected),
        top_lost,
        (
            matting.pockets(
                edges.image,
                edges.alpha,
                edges.protected,
                edges.below,
                edges.chin_row,
                (edges.centre_x, edges.face_width),
            )
            if mask.busy
            else 0.0
        ),
        sides_lost(mask, marks.eye_centre, marks.face_width),
    )
    tidied = matting.drop_apart(matting.tidy(edges.alpha, edges.protected), edges.protected)
    colours = edges.foreground
    if work != size:
        colours, tidied = _full_size(edges, tidied, photo)
        backdrop = background(width, height, bg_color, bg_color2)
    result = colours * tidied[..., None] + backdrop * (1 - tidied[..., None])
    pixels = np.clip(result + 0.5, 0, 255).astype(np.uint8)
    return pixels, measured_shares(placed.place(face_at, width), size), cut_out


def _decoded(image: bytes, size: tuple[int, int]) -> Array:
    """The photo as an RGB array, reduced by a whole factor (2 or more) where it is far larger than
    the finished ``size`` needs: a JPEG decoded by libjpeg at a half, a quarter or an eighth,
    anything else decoded whole and reduced by Pillow by whole blocks of pixels. The face stays at
    least ``FACE_KEEP`` times the finished photo's width (there it fills 0.55-0.7 of it, so the warp
    still reduces), and the photo and face at least twice what the face check asks
    (``MIN_IMAGE_SIDE``, ``MIN_FACE_HEIGHT``). A 12-megapixel photo sent as a file was decoded,
    copied and warped whole for a 413x531 result, and the warp, bilinear, read one pixel in nine or
    more: a fine pattern (a weave, hair) came out aliased."""
    with Image.open(io.BytesIO(image)) as img:
        longest = max(img.size)
    if longest < LOOK_FIRST * max(size):
        return decode(image)[0]
    _, full, face = check_face(image)
    keep = max(
        FACE_KEEP * size[0] / max(face.width, 1.0),
        2 * MIN_FACE_HEIGHT / max(face.height, 1.0),
        2 * MIN_IMAGE_SIDE / max(min(full), 1),
    )
    if keep > 0.5:
        return decode(image)[0]
    rgb, _ = decode(image, reduce_to=math.ceil(max(full) * keep))
    factor = int(rgb.shape[1] / (full[0] * keep))
    if factor >= 2:  # decoded whole (not a JPEG), or a JPEG over eight times too large
        with Image.fromarray(rgb) as decoded:
            rgb = np.asarray(decoded.reduce(factor))
    return rgb


def render_id_photo(
    image: bytes,
    *,
    size: tuple[int, int],
    dpi: int,
    bg_color: str,
    bg_color2: str | None = None,
    rule: str = DEFAULT_RULE,
) -> IdPhoto:
    """The finished ID photo, a JPEG of exactly ``size`` pixels with ``dpi`` written into it, its head
    placed by ``rule`` (an id of providers/data/idphoto_rules.yaml), however doubtful its cut-out."""
    try:
        rgb = _decoded(image, size)
        face = find_face(rgb)
    except FaceCheckError as err:
        if err.code == "no_face" and (turned := turned_face(image)):
            raise FaceCheckError(turned) from err
        raise
    if turned := turned_over(rgb):
        raise FaceCheckError(turned)
    marks = find_landmarks(rgb, (face.x, face.y, face.width, face.height))
    if marks is None:
        raise FaceCheckError("face_unclear")
    out, shares, cut_out = compose(rgb, face, marks, size, load_rules()[rule], bg_color, bg_color2)
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, dpi=(dpi, dpi))
    return IdPhoto(data=buffer.getvalue(), rule=rule, shares=shares, cut_out=cut_out, hands=hands_of(rgb, marks))


def hands_of(rgb: Array, marks: Landmarks) -> Hands:
    """Any hand at the face of ``marks`` in ``rgb``: the nearest one's distance from the face mesh's
    outline, in face widths; not looked for where the hand models are missing."""
    if not hand_models_present():
        return Hands(checked=False)
    oval = marks.points[list(FACE_OVAL), :2]
    low, high = oval.min(axis=0), oval.max(axis=0)
    return Hands(models.hand_gap(rgb, (float(low[0]), float(low[1]), float(high[0]), float(high[1]))))


def make_id_photo(
    image: bytes,
    *,
    size: tuple[int, int],
    dpi: int,
    bg_color: str,
    bg_color2: str | None = None,
    rule: str = DEFAULT_RULE,
) -> IdPhoto:
    """:func:`render_id_photo`, refused where a hand is at the face (``hand_at_face``) or the cut-out
    is doubtful (``head_top_lost``, else ``busy_background``): where no preview came first (the
    command line without ``--report``, an order placed after a failover to the local engine), such a
    photo is not delivered but given back, with advice (hands away from the face, a plain wall)."""
    photo = render_id_photo(image, size=size, dpi=dpi, bg_color=bg_color, bg_color2=bg_color2, rule=rule)
    if photo.hands.at_face:
        raise FaceCheckError("hand_at_face")
    if photo.cut_out.lost_head:
        raise FaceCheckError("head_top_lost")
    if photo.cut_out.doubtful:
        raise FaceCheckError("busy_background")
    return photo
