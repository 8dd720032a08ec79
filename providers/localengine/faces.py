"""Finding the one face an ID photo (or any face service) needs, and saying why a photo won't do."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import simplejpeg
from PIL import ExifTags, Image, ImageOps

from providers.localengine import hair, imageops, models, office, resample
from providers.localengine.arrays import Array
from providers.localengine.blazeface import Detection
from providers.localengine.findings import FaceFindings, Mouth
from providers.localengine.landmarks import Landmarks, find_landmarks

MIN_IMAGE_SIDE = 300
MIN_FACE_HEIGHT = 80
#: A second face at least this share of the main face's area makes the photo ambiguous.
SECOND_FACE_SHARE = 0.25
MIN_SCORE = 0.6
#: In the quick check before charging (:func:`inspect_face`) the short-range detector (1.1 ms) looks
#: at the whole photo first; where its largest face is at least this share of the photo's longer
#: side (a portrait: 100 of the real-photo benchmark's 128 photos), its detections stand and the
#: full-range one (3.6 ms with its letterbox) does not run. The ID photo itself is placed by the
#: careful route (the full-range detector, then the short-range one again about the face): the
#: quick one moves the eye line's roll by up to half a degree.
#: A second face that counts (SECOND_FACE_SHARE of the area) is then at least an eighth of the
#: side, 16 of the detector's 128 pixels: on every photo of that benchmark it found the same
#: faces of that size as the full-range detector.
PORTRAIT_FACE = 0.25
#: The full-range detector's box, which the limits below were set on, is larger than the
#: short-range one's and sits higher: by these shares of the short-range box (the means over the
#: real-photo benchmark's portraits; standard deviations 0.04 and 0.04).
FULL_RANGE_SCALE = 1.057
FULL_RANGE_RISE = 0.047
#: :func:`check_face` looks at a copy at least this many pixels on its longest side: the detectors
#: see 128 or 192 pixels anyway, and decoding costs more than detecting. libjpeg decodes a photo as
#: Telegram sends it (at most 1280 pixels) at half its size for a third less CPU, a 12-megapixel one
#: at a quarter; a face under SHARPNESS_WIDTH pixels wide in that copy is decoded again, larger,
#: for its sharpness.
CHECK_SIDE = 600
#: A face the short-range detector finds in the whole photo less surely than this may be upside
#: down (:func:`turned_over`): turned over, the three real-photo sets' faces score 0.52-0.86, and
#: upright 85 % of them score more. Turned over, Face Mesh is surer of a face in 153 of those 154
#: photos than as they are (the other a group photo, refused for its several faces); upright, in
#: none (the nearest a profile, surer upright by 0.05 of the flag's 17-25 points).
TURNED_SCORE = 0.9
#: A face rolled further than this lies on its side: the photo was turned a quarter round (no EXIF
#: to turn it), which no head tilt comes near (the limit of a tilt is MAX_ROLL). Turned a quarter
#: round, the real-photo sets' faces read 74-96° of roll.
SIDEWAYS_ROLL = 45.0
#: Face Mesh's flag (facemesh.face_flag) of a face it is sure of, where nothing else vouches for the
#: face (:func:`turned_face`): 95 % of the real-photo sets' faces read 16 or more upright; skimage's
#: coffee cup and colour wheel, which the detector takes for faces turned, at most 1.6.
SURE_FLAG = 8.0
#: A photo in which no face is found whole is searched again in tiles of 1/TILES of its longest
#: side, at least LARGE_SIDE pixels on that side (a face a few per cent of the photo).
TILES = 3
LARGE_SIDE = 1600
#: An ID photo straightens a tilted head (the eye line is levelled) up to this many degrees.
MAX_ROLL = 20.0
#: ISO/IEC 19794-5 allows 5 degrees of yaw and pitch. The landmark estimate itself spreads by up
#: to 4 degrees of yaw and 6 of pitch on frontal official portraits (docs/architecture.md), and a
#: phone held at arm's length adds a few degrees of pitch: beyond these the head is clearly turned.
MAX_YAW = 10.0
MAX_PITCH = 12.0
#: Lid gap over eye width below this: the eyes are closed or look down.
MIN_EYE_OPENNESS = 0.12
#: Inner lip gap over mouth width: above LIPS_APART the lips are parted, above MOUTH_OPEN the mouth
#: is open. On the real-photo benchmark's portraits (both sets, the quick check's landmarks) smiles
#: that show teeth measure 0.09-0.25 and one broad smile 0.28 (see BROAD_SMILE_LIFT); laughs and
#: speech with the mouth wide 0.29-0.49.
LIPS_APART = 0.08
MOUTH_OPEN = 0.28
#: Parted lips whose corners are not lifted at least this much (Landmarks.smile_lift) are not a
#: smile but speech: on the real-photo benchmark and deepface's photos, smiles measure 0.018-0.18,
#: people talking -0.06-0 (their corners level or lower).
MIN_SMILE_LIFT = 0.01
#: Lips parted over SPEECH_GAP onto a dark inside, at least SPEECH_DARK of the opening
#: (office.mouth_cavity), show the teeth apart: speech or a laugh, however the corners sit. On the
#: benchmark, speech and wide laughs measure 0.72-0.93 (one laugh with its teeth in view 0.56),
#: smiles 0.04-0.65; lips barely apart (0.12 or less) show a thin dark line, up to 0.81.
SPEECH_GAP = 0.12
SPEECH_DARK = 0.7
#: A mouth wider open than MOUTH_OPEN, up to BROAD_SMILE_MAX, is still a smile where its corners
#: are lifted at least BROAD_SMILE_LIFT and under BROAD_SMILE_DARK of its opening is dark, the
#: teeth meeting: smiles whose corners lift 0.15 or more (up to 0.18) measure 0.04-0.35 dark;
#: laughs and speech lift theirs -0.07-0.07, and one laugh 0.19 with 0.49 dark. Only one broad smile over 0.28 was seen
#: (0.282): the exemption stops a little above it.
BROAD_SMILE_LIFT = 0.15
BROAD_SMILE_DARK = 0.4
BROAD_SMILE_MAX = 0.32
#: Variance of the Laplacian over the variance of the face, scaled to SHARPNESS_WIDTH pixels wide
#: (x1000): sharp portraits measure 37-360 (the lowest: the 512-pixel astronaut enlarged 1.6
#: times), the same with a Gaussian blur of 0.2 % of the photo's height (1 % of the face's) 3-20.
SHARPNESS_WIDTH = 160
MIN_SHARPNESS = 25.0
#: Mean brightness of the face (0-255): phone and studio portraits of light and dark skin measure
#: 110-155; outside these limits the face is lost in shadow or burnt out.
MIN_FACE_LIGHT = 45.0
MAX_FACE_LIGHT = 225.0


class FaceCheckError(Exception):
    """The photo cannot work; ``code`` names why (``face.<code>`` in the bot's texts)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class FaceReport:
    """The main face in pixels: its box, and the centre between the eyes."""

    x: float
    y: float
    width: float
    height: float
    eye_center_x: float
    eye_center_y: float
    faces: int
    #: The short-range detection (shares of the photo) where a portrait's face was found by it:
    #: Face Mesh reads the region about it (landmarks.find_landmarks).
    seen: Detection | None = field(default=None, compare=False)

    @property
    def chin(self) -> float:
        # BlazeFace's box ends at the chin (within a few per cent of the mesh's chin point).
        return self.y + self.height


@dataclass(frozen=True)
class _Found:
    """One detection, as shares of the whole picture's width and height."""

    x: float
    y: float
    width: float
    height: float
    eye_x: float
    eye_y: float
    #: The short-range detection itself, for a face it found in the whole picture (not a tile).
    seen: Detection | None = field(default=None, compare=False)

    @property
    def area(self) -> float:
        return self.width * self.height

    def as_full_range(self) -> _Found:
        """This short-range box made the full-range model's size and place (FULL_RANGE_SCALE,
        FULL_RANGE_RISE): the box the limits below were set on."""
        width, height = self.width * FULL_RANGE_SCALE, self.height * FULL_RANGE_SCALE
        x = self.x - (width - self.width) / 2
        y = self.y - (height - self.height) / 2 - FULL_RANGE_RISE * self.height
        return replace(self, x=x, y=y, width=width, height=height)


def _found(rgb: Array, model: int, window: tuple[int, int, int, int] | None = None) -> list[_Found]:
    """Detections of ``model`` in ``rgb`` or in a ``window`` (x0, y0, x1, y1) of it."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = window or (0, 0, width, height)
    found = []
    for d in models.detect_faces(np.ascontiguousarray(rgb[y0:y1, x0:x1]), model):
        if d.score < MIN_SCORE:
            continue
        eye_x, eye_y = (d.keypoints[0] + d.keypoints[1]) / 2
        w, h = x1 - x0, y1 - y0
        found.append(
            _Found(
                (x0 + d.xmin * w) / width,
                (y0 + d.ymin * h) / height,
                d.width * w / width,
                d.height * h / height,
                (x0 + float(eye_x) * w) / width,
                (y0 + float(eye_y) * h) / height,
                d if model == 0 and window is None else None,
            )
        )
    return found


def _detected(rgb: Array, quick: bool) -> list[_Found]:
    """The faces in ``rgb``: where ``quick``, the short-range detector's where it finds a portrait
    (PORTRAIT_FACE), their boxes made the full-range one's; else the full-range one's, else the
    short-range one's as they are (a close-up selfie the full-range one misses), else what the
    full-range one finds in tiles (faces far away)."""
    height, width = rgb.shape[:2]
    close = _found(rgb, 0) if quick else None
    if close and any(f.width * width >= PORTRAIT_FACE * max(width, height) for f in close):
        return [f.as_full_range() for f in close]
    found = _found(rgb, 1)
    if found:
        return found
    close = _found(rgb, 0) if close is None else close
    # Not a portrait: Face Mesh looks again about the face (find_landmarks) instead.
    return [replace(f, seen=None) for f in close] or _in_tiles(rgb)


def _in_tiles(rgb: Array) -> list[_Found]:
    """Detections in overlapping tiles: the full-range model sees a picture at 192 pixels, so a face
    that is a few per cent of a large photo (someone photographed from afar) is found only in a
    part of it. A face found in two tiles counts once."""
    height, width = rgb.shape[:2]
    side = max(1, min(width, height, round(max(width, height) / TILES)))
    step = max(1, side // 2)
    found: list[_Found] = []
    for y0 in range(0, max(height - side, 0) + step, step):
        for x0 in range(0, max(width - side, 0) + step, step):
            for face in _found(rgb, 1, (x0, y0, min(x0 + side, width), min(y0 + side, height))):
                if not any(
                    abs(face.eye_x - f.eye_x) < f.width / 2 and abs(face.eye_y - f.eye_y) < f.height / 2 for f in found
                ):
                    found.append(face)
    return found


def find_face(rgb: Array, size: tuple[int, int] | None = None, *, quick: bool = False) -> FaceReport:
    """The single usable face, or FaceCheckError: image_too_small, no_face, several_faces,
    face_too_small or face_cut_off. ``size`` is the photo's (width, height) when ``rgb`` is a
    reduced copy of it; the report is in the photo's pixels. ``quick``: see PORTRAIT_FACE."""
    width, height = size or (rgb.shape[1], rgb.shape[0])
    if min(height, width) < MIN_IMAGE_SIDE:
        raise FaceCheckError("image_too_small")
    detections = _detected(rgb, quick)
    if not detections:
        raise FaceCheckError("no_face")
    detections.sort(key=lambda d: d.area, reverse=True)
    main = detections[0]
    others = [d for d in detections[1:] if d.area >= SECOND_FACE_SHARE * main.area]
    if others:
        raise FaceCheckError("several_faces")
    face = FaceReport(
        main.x * width,
        main.y * height,
        main.width * width,
        main.height * height,
        main.eye_x * width,
        main.eye_y * height,
        1,
        main.seen,
    )
    if face.height < MIN_FACE_HEIGHT:
        raise FaceCheckError("face_too_small")
    margin = 0.02
    if (
        face.x < -margin * width
        or face.y < -margin * height
        or face.x + face.width > (1 + margin) * width
        or face.chin > (1 + margin) * height
    ):
        raise FaceCheckError("face_cut_off")
    # Room for the hair above the face box: a forehead at the very top means a cut-off head.
    if face.y < 0.15 * face.height:
        raise FaceCheckError("face_cut_off")
    return face


def draft_scale(size: tuple[int, int], at_least: int) -> int:
    """The largest of 8, 4 and 2 by which libjpeg can divide a JPEG of ``size`` while decoding it
    and keep its longest side at least ``at_least`` pixels; 1 where only the full size does."""
    scale = 8
    while scale > 1 and -(-max(size) // scale) < at_least:
        scale //= 2
    return scale


def _draft_request(size: tuple[int, int], scale: int) -> tuple[int, int]:
    """What to ask Pillow's ``Image.draft`` for to decode at 1/``scale``: Pillow picks the scale
    from the floor of size over request, so the request is the size floor-divided by the scale (a
    rounded-up one can halve it)."""
    return max(1, size[0] // scale), max(1, size[1] // scale)


#: Pillow's EXIF transposition of each orientation (ImageOps.exif_transpose) on an HxWxC array: a
#: view, without a copy.
_ORIENTED: dict[int, Callable[[Array], Array]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a),
}


def _libjpeg(image: bytes, size: tuple[int, int], scale: int) -> Array | None:
    """A colour JPEG decoded at 1/``scale`` of ``size`` by simplejpeg (libjpeg-turbo, the accurate
    IDCT and smooth upsampling, as Pillow decodes it: the same pixels), or None where it refuses
    the file (Pillow then decodes it, and says what is wrong with it as the bot knows it to)."""
    try:
        decoded: Array = simplejpeg.decode_jpeg(
            image,
            colorspace="RGB",
            min_width=-(-size[0] // scale),
            min_height=-(-size[1] // scale),
            min_factor=scale,
        )
    except ValueError:
        return None
    return decoded


def decode(image: bytes, reduce_to: int | None = None) -> tuple[Array, tuple[int, int]]:
    """An RGB uint8 array of the photo, and the photo's full (width, height); EXIF orientation
    applied to both. With ``reduce_to``, a JPEG is decoded at a half, quarter or eighth of its
    size while its longest side stays at least that (libjpeg scales while decoding, so this costs
    a fraction of a full decode; other formats decode at full size). Pillow reads the header (and
    refuses a decompression bomb); a colour JPEG is decoded by simplejpeg into the array itself."""
    with Image.open(io.BytesIO(image)) as img:
        width, height = img.size
        orientation = img.getexif().get(ExifTags.Base.Orientation)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        scale = draft_scale(img.size, reduce_to) if reduce_to else 1
        decoded = _libjpeg(image, img.size, scale) if img.format == "JPEG" and img.mode == "RGB" else None
        if decoded is not None:
            turn = _ORIENTED.get(orientation) if isinstance(orientation, int) else None
            # Laid out afresh, as Pillow's transposition is: every later step reads rows.
            return (np.ascontiguousarray(turn(decoded)) if turn else decoded), (width, height)
        if scale > 1:
            img.draft("RGB", _draft_request(img.size, scale))
        # In place, and no conversion of what is RGB already: each copy of a phone photo costs
        # milliseconds of the check before charging.
        ImageOps.exif_transpose(img, in_place=True)
        return np.asarray(img if img.mode == "RGB" else img.convert("RGB")), (width, height)


#: The photo's turns other than upright, in np.rot90's quarter turns, and what each makes of it.
_TURNS = ((2, "upside_down"), (1, "on_its_side"), (3, "on_its_side"))


def turned_over(rgb: Array, seen: Detection | None = None) -> str | None:
    """``upside_down`` or ``on_its_side`` where the photo was turned (a phone held the wrong way, no
    EXIF to turn it), else None. BlazeFace finds an upside-down face too, and Face Mesh then reads
    an upright face into it, so such a photo passed every check and was made upside down. Where the
    short-range detector is less sure of the face than TURNED_SCORE (``seen``: its detection in the
    whole photo, where the caller has it), the photo turned half round is looked at too: turned,
    where Face Mesh is surer of a face in it turned than as it is. Only then are the quarter turns
    looked at (:func:`_surest_turn`), to tell a photo on its side from one upside down. A photo on
    its side that passes here is told by its roll (:func:`id_photo_problem`)."""
    if seen is not None and seen.score >= TURNED_SCORE:
        return None
    as_is = models.sure_face(rgb, seen)
    if as_is is not None and as_is[0] >= TURNED_SCORE:
        return None
    turned = models.sure_face(np.ascontiguousarray(rgb[::-1, ::-1]))
    # A face the short-range detector finds only turned (one taken from below, upside down).
    if turned is None or (as_is is not None and turned[1] <= as_is[1]):
        return None
    return _surest_turn(rgb, {2: turned}, -math.inf)


def turned_face(image: bytes) -> str | None:
    """For a photo in which no face was found as it is: ``on_its_side`` or ``upside_down`` where the
    short-range detector finds a face in the photo turned and Face Mesh is sure of it (a face lying
    on its side or upside down is often not found at all); else None. Only photos refused anyway
    pay for it."""
    rgb, _ = decode(image, reduce_to=CHECK_SIDE)
    return _surest_turn(rgb, {}, SURE_FLAG)


def _surest_turn(rgb: Array, read: dict[int, tuple[float, float] | None], min_flag: float) -> str | None:
    """What the turn of the photo makes of it (:data:`_TURNS`) in which the short-range detector is
    surest of a face that Face Mesh reads with a flag of at least ``min_flag`` (None: in none);
    ``read``: models.sure_face of turns looked at already, by quarter turns; the half turn wins a tie.
    Face Mesh reads a face on its side about as surely as upside down; the detector's score tells
    them apart (on the real-photo sets, upright scores highest in 173 of 177 photos; the flag, 109)."""
    best, surest = None, -math.inf
    for quarters, turned in _TURNS:
        found = read[quarters] if quarters in read else models.sure_face(np.ascontiguousarray(np.rot90(rgb, quarters)))
        if found is not None and found[1] >= min_flag and found[0] > surest:
            best, surest = turned, found[0]
    return best


def check_face(image: bytes, *, quick: bool = False) -> tuple[Array, tuple[int, int], FaceReport]:
    """:func:`find_face` on a reduced decode of ``image``, and again on a larger one (LARGE_SIDE) if
    the first finds no face (a face far away is too few pixels in the small copy): the decode, the
    photo's size and the face, in the photo's pixels."""
    rgb, size = decode(image, reduce_to=CHECK_SIDE)
    try:
        return rgb, size, find_face(rgb, size, quick=quick)
    except FaceCheckError as err:
        if err.code != "no_face" or max(rgb.shape[:2]) * 2 > min(max(size), LARGE_SIDE):
            raise
    rgb, size = decode(image, reduce_to=LARGE_SIDE)
    return rgb, size, find_face(rgb, size, quick=quick)


def _sharpness_and_light(image: bytes, rgb: Array, face: FaceReport, size: tuple[int, int]) -> tuple[float, float]:
    """Sharpness (see MIN_SHARPNESS) and mean brightness of the face, in ``rgb`` (a decode of the
    photo) or, where the face is narrower there than SHARPNESS_WIDTH, in a larger decode (the
    sharpness of an enlarged face says nothing)."""
    scale = size[0] / rgb.shape[1]
    if face.width / scale < SHARPNESS_WIDTH and scale > 1:
        rgb, _ = decode(image, reduce_to=math.ceil(max(size) * SHARPNESS_WIDTH / max(face.width, 1.0)))
        scale = size[0] / rgb.shape[1]
    box = (face.x / scale, face.y / scale, (face.x + face.width) / scale, face.chin / scale)
    return sharpness_and_light(rgb, box)


def sharpness_and_light(
    rgb: Array, box: tuple[float, float, float, float], *, enlarge: bool = True
) -> tuple[float, float]:
    """Sharpness (see MIN_SHARPNESS) and mean brightness of the face in ``box`` (x0, y0, x1, y1)
    of ``rgb``, scaled to SHARPNESS_WIDTH pixels wide; without ``enlarge``, a narrower face at its
    own size. A finished ID photo is judged so, as it is printed: enlarged, the 50-pixel face of
    an exam's 102x126 photo blurs whatever its own sharpness (a sharp one measured 12, against
    37 and more at larger sizes), and the checklist failed photos as sharp as their pixels allow."""
    x0, y0 = int(max(0, box[0])), int(max(0, box[1]))
    x1, y1 = int(min(rgb.shape[1], box[2])), int(min(rgb.shape[0], box[3]))
    crop = imageops.gray(rgb[y0:y1, x0:x1]).astype(np.float32)
    height = max(1, round(crop.shape[0] * SHARPNESS_WIDTH / crop.shape[1]))
    if crop.shape[1] > SHARPNESS_WIDTH:
        gray = resample.resize_area(crop, (SHARPNESS_WIDTH, height))
    elif enlarge:
        gray = resample.resize_cubic(crop, (SHARPNESS_WIDTH, height))
    else:
        gray = crop
    # Detail scales with contrast: a pale or dim face is judged as if its contrast were normal.
    return float(imageops.laplacian(gray).var()) / max(float(gray.var()), 1.0) * 1000, float(gray.mean())


def id_photo_problem(marks: Landmarks) -> str | None:
    """Why the pose or the eyes rule out an ID photo, or None."""
    if abs(marks.roll) > SIDEWAYS_ROLL:
        return "on_its_side"
    if abs(marks.roll) > MAX_ROLL:
        return "head_tilted"
    if abs(marks.yaw) > MAX_YAW:
        return "head_turned"
    if marks.eye_openness < MIN_EYE_OPENNESS:
        return "eyes_closed"
    if abs(marks.pitch) > MAX_PITCH:
        return "head_nodded"
    return None


def inspect_face(image: bytes) -> FaceFindings:
    """Everything the bot checks before an order: :func:`find_face`'s verdict, then for ID photos
    the pose, the eyes, sharpness and light, and the head's size, on a reduced decode of ``image``."""
    try:
        rgb, size, face = check_face(image, quick=True)
    except FaceCheckError as err:
        if err.code == "no_face" and (turned := turned_face(image)):
            return FaceFindings(problem=turned)  # no face as it is: for every service, as "no face" was
        return FaceFindings(problem=err.code)
    scale = size[0] / rgb.shape[1]
    if turned := turned_over(rgb, face.seen):
        return FaceFindings(id_problem=turned, head_px=face.height, face_width_px=face.width)
    box = (face.x / scale, face.y / scale, face.width / scale, face.height / scale)
    marks = find_landmarks(rgb, box, scale, face.seen, quick=True)
    if marks is None:
        return FaceFindings(id_problem="face_unclear", head_px=face.height, face_width_px=face.width)
    problem = id_photo_problem(marks)
    sharpness: float | None = None
    light: float | None = None
    if problem is None:
        sharpness, light = _sharpness_and_light(image, rgb, face, size)
        if light < MIN_FACE_LIGHT:
            problem = "too_dark"
        elif light > MAX_FACE_LIGHT:
            problem = "too_bright"
        elif sharpness < MIN_SHARPNESS:
            problem = "blurry"
    return replace(
        measured(marks, rgb, Landmarks(marks.points / scale), sharpness, light),
        id_problem=problem,
        head_px=marks.head_height,
        face_width_px=marks.face_width,
        room_below_px=size[1] - float(marks.eye_centre[1]),
    )


def _mouth_inside(rgb: Array, marks: Landmarks, cheeks: tuple[float, float]) -> float | None:
    """office.mouth_cavity against the brighter of ``cheeks`` (office.cheeks) where the lips are
    apart (None where they are closed: a neutral face, most ID photos, does not pay the half
    millisecond), with ``marks`` in the pixels of ``rgb``."""
    return office.mouth_cavity(rgb, marks, max(cheeks)) if marks.mouth_openness > LIPS_APART else None


def mouth_of(marks: Landmarks, inside: float | None) -> Mouth:
    """Closed, apart (a smile) or open (wide, or parted without a smile or onto the inside of the
    mouth: speech, a laugh). ``inside``: office.mouth_cavity, None where it could not be read (then
    neither the broad smile's exemption nor the dark inside's verdict applies)."""
    openness = marks.mouth_openness
    if openness <= LIPS_APART:
        return "closed"
    broad_smile = (
        openness <= BROAD_SMILE_MAX
        and marks.smile_lift >= BROAD_SMILE_LIFT
        and inside is not None
        and inside < BROAD_SMILE_DARK
    )
    speech = openness > SPEECH_GAP and inside is not None and inside >= SPEECH_DARK
    if (openness > MOUTH_OPEN and not broad_smile) or marks.smile_lift < MIN_SMILE_LIFT or speech:
        return "open"
    return "apart"


def measured(
    marks: Landmarks, rgb: Array, local: Landmarks, sharpness: float | None, light: float | None
) -> FaceFindings:
    """What the landmarks ``marks`` and the face's pixels in ``rgb`` (where the landmarks are
    ``local``) measure, without verdicts: the pose, eyes and mouth, the office's checks and hair
    over the eyes; ``sharpness`` and ``light`` as measured already."""
    covered = hair.hair_over_eyes(rgb, local)
    cheeks = office.cheeks(rgb, local)
    return FaceFindings(
        mouth=mouth_of(marks, _mouth_inside(rgb, local, cheeks)),
        roll=marks.roll,
        yaw=marks.yaw,
        pitch=marks.pitch,
        eye_openness=marks.eye_openness,
        mouth_openness=marks.mouth_openness,
        sharpness=sharpness,
        light=light,
        light_difference=office.light_difference(cheeks),
        burnt_out=office.burnt_out(rgb, local),
        glasses_bridge=office.glasses_bridge(rgb, local),
        hair_brows=covered.brows,
        hair_eyes=covered.eyes,
        head_contrast=office.head_contrast(rgb, local),
    )
