"""Pillow: validate and normalise user photos before any provider sees them."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageDraw, ImageFont, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

#: The most pixels an image may have at all. Pillow's decompression-bomb guard stays on: above
#: this it warns (turned into an error below) and above twice this it raises by itself.
Image.MAX_IMAGE_PIXELS = 200_000_000
#: The most bytes of pixels decoded at full size: 33 MP of RGB or RGBA (Pillow keeps both at 4
#: bytes a pixel). Phone cameras' own formats fit (a 24 MP HEIF is 98 MB; JPEGs of any size are
#: decoded at a reduced scale), a 7070×7070 RGBA PNG (200 MB) does not. Normalising one costs
#: this plus its scaled copy (docs/benchmarks.md).
MAX_DECODE_BYTES = 128 * 1024 * 1024
#: And the most pixels decoded at full size, whatever their depth (a 1-bit bomb is not cheap to
#: convert).
MAX_DECODE_PIXELS = 60_000_000
#: And the most bytes a progressive JPEG's decoder may hold for its coefficients (see
#: _coefficient_bytes): about 44 MP of RGB, twice the pixels' limit, since the pixels themselves
#: are decoded at a reduced scale.
MAX_COEFFICIENT_BYTES = 2 * MAX_DECODE_BYTES
#: EXIF's orientation tag, and the TIFF tags of a tile's width and length.
ORIENTATION = ExifTags.Base.Orientation
TILE_WIDTH, TILE_LENGTH = 322, 323
#: Pillow's transposition for each EXIF orientation (as ImageOps.exif_transpose's).
_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: Bytes per decoded pixel in Pillow's memory, by mode; 4 for every other (RGB included). A 16-bit
#: image in a byte order Pillow's point() cannot read is counted with the two 32-bit copies that
#: _to_rgb makes of it on the way to 8 bits.
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2 + 8, "I;16L": 2 + 8}

#: Output rows resampled at a time (see _scaled), and how far Lanczos reaches, in output pixels.
BAND_ROWS = 256
LANCZOS_REACH = 3

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"}
MAX_INPUT_BYTES = 20 * 1024 * 1024
#: A stored photo is at most this large: what the most demanding provider takes (PicWish, 4096 px and
#: 15 MB). A provider that takes less declares it (``TaskProvider.input_limits``) and gets a smaller copy.
MAX_STORED_SIDE = 4096
MAX_STORED_BYTES = 15 * 1024 * 1024
MIN_SIDE = 100
JPEG_QUALITY = 92


class ImageRejected(Exception):
    """The upload cannot be used; ``code`` names the reason for the user message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class NormalisedImage:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Probe:
    """What an upload's header says, before any pixel is decoded."""

    format: str
    size: tuple[int, int]
    #: The size it will be decoded at (JPEGs at a reduced DCT scale when they are large).
    decoded: tuple[int, int]
    #: Bytes the decode is expected to take at its peak: the pixels and one conversion's copy.
    cost: int


def _decoded_bytes(img: Image.Image) -> int:
    """Bytes of the decoded pixels (a WebP's decoder holds a copy of its own beside Pillow's: a
    5600×5600 one peaked at 2.8 times its pixels)."""
    pixels = img.size[0] * img.size[1] * BYTES_PER_PIXEL.get(img.mode, 4)
    return 2 * pixels if img.format == "WEBP" else pixels


def _coefficient_bytes(img: Image.Image, original: tuple[int, int]) -> int:
    """Bytes a progressive JPEG's decoder holds besides the pixels: every DCT coefficient at full
    size (2 bytes each), whatever the scale it is decoded at. A 14100×14100 one of 2.3 MB took
    1.2 GB where its pixels at a quarter are 94 MB; a baseline JPEG needs none of it."""
    if img.format not in ("JPEG", "MPO") or not (img.info.get("progressive") or img.info.get("progression")):
        return 0
    return original[0] * original[1] * max(1, int(getattr(img, "layers", 3))) * 2


def _too_big(img: Image.Image) -> bool:
    return img.size[0] * img.size[1] > MAX_DECODE_PIXELS or _decoded_bytes(img) > MAX_DECODE_BYTES


def _draft_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size to ask a JPEG decoder for: the image scaled so its longest side is ``max_side``."""
    scale = max_side / max(size)
    return (max(1, int(size[0] * scale)), max(1, int(size[1] * scale)))


def _open(data: bytes) -> Image.Image:
    """Open (header only) with the decompression-bomb warning as an error; ImageRejected otherwise."""
    if not data:
        raise ImageRejected("empty")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageRejected("file_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected("too_many_pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("corrupt") from None
    if img.format not in ACCEPTED_FORMATS:
        raise ImageRejected("unsupported_format")
    if _absurd_tiles(img):
        raise ImageRejected("corrupt")
    return img


def _absurd_tiles(img: Image.Image) -> bool:
    """A TIFF whose tiles are far larger than the picture: libtiff allocates a whole tile before it
    finds the data short (a 151-byte file of 200×200 pixels declaring 40960×40960 tiles took 1.6 GB).
    A real tiled TIFF's tiles are at most a little larger than the picture, or a megapixel."""
    if img.format != "TIFF":
        return False
    tags = getattr(img, "tag_v2", {})
    width, length = tags.get(TILE_WIDTH), tags.get(TILE_LENGTH)
    if not (isinstance(width, int) and isinstance(length, int)):
        return False
    return width * length > max(4 * img.width * img.height, 1 << 20)


def _opened_for_decoding(data: bytes, max_side: int) -> tuple[Image.Image, tuple[int, int]]:
    """The upload opened (header only) and its size as stored. A large JPEG is set to decode at
    a reduced DCT scale: the smallest that still gives ``max_side``, or if that is still too
    many pixels (a 50 MP photo is 8160 wide, just short of twice 4096), the next one down."""
    img = _open(data)
    original = img.size
    if img.format in ("JPEG", "MPO") and max(img.size) > max_side:
        img.draft("RGB", _draft_size(original, max_side))
        if _too_big(img):
            img = _open(data)
            img.draft("RGB", _draft_size(original, max_side // 2))
    return img, original


def probe(data: bytes, *, max_side: int = 4096) -> Probe:
    """Read the header only: refuse what is not worth decoding, and say what decoding will cost."""
    img, original = _opened_for_decoding(data, max_side)
    coefficients = _coefficient_bytes(img, original)
    if _too_big(img) or coefficients > MAX_COEFFICIENT_BYTES:
        raise ImageRejected("too_many_pixels")
    # The pixels, and the scaled RGB copy made from them (4 bytes a pixel, at most max_side²).
    scaled = min(img.size[0] * img.size[1], max_side * max_side)
    return Probe(img.format or "", original, img.size, _decoded_bytes(img) + coefficients + scaled * 4)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16B", "I;16L"):  # a big-endian TIFF's: point() takes it only as 32-bit
        img = img.convert("I")
    if img.mode in ("I;16", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("LA", "PA"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img)  # the alpha band itself is the mask: no copy of the pixels
        return background
    return img.convert("RGB")


def _scaled(img: Image.Image, max_side: int) -> Image.Image:
    """``img`` as RGB with its longest side at most ``max_side``.

    Resampled in bands of output rows, each from a strip of the source with the filter's reach
    on either side (Pillow's ``box`` keeps the bands seamless), and flattened strip by strip:
    a whole-image resize of RGBA would copy the full-size pixels twice more (premultiplied,
    then half resampled), which made one large PNG cost over three times its decoded size."""
    if max(img.size) <= max_side:
        return _to_rgb(img)
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    out = Image.new("RGB", size)
    step = img.height / size[1]
    reach = math.ceil(LANCZOS_REACH * step) + 2
    for top in range(0, size[1], BAND_ROWS):
        bottom = min(size[1], top + BAND_ROWS)
        y0, y1 = top * step, bottom * step
        first, last = max(0, math.floor(y0) - reach), min(img.height, math.ceil(y1) + reach)
        strip = _to_rgb(img.crop((0, first, img.width, last)))
        band = strip.resize(
            (size[0], bottom - top), Image.Resampling.LANCZOS, box=(0, y0 - first, img.width, y1 - first)
        )
        out.paste(band, (0, top))
    return out


def _plain_jpeg(img: Image.Image) -> bool:
    """An RGB JPEG with no metadata beyond its JFIF header: no EXIF (orientation, camera, GPS
    position), XMP, ICC profile, IPTC or comment to act on or to keep from a provider."""
    return (
        img.format == "JPEG"
        and img.mode == "RGB"
        and "comment" not in img.info
        and all(
            marker == "APP0" and segment.startswith(b"JFIF\0")
            for marker, segment in img.applist  # type: ignore[attr-defined]
        )
    )


def normalise(data: bytes, *, max_side: int = 4096, max_bytes: int = 15 * 1024 * 1024) -> NormalisedImage:
    """Orient by EXIF, convert to RGB JPEG without metadata and scale down to ``max_side`` /
    ``max_bytes``. A plain JPEG that needs none of this (what Telegram makes of a photo) is kept
    byte for byte once it has decoded cleanly: re-encoding it cost more CPU than anything else
    the bot does with a photo, and lost quality. Its pixels are not used, so it is decoded at an
    eighth of its size (libjpeg's DCT scaling): every byte of the compressed data is still read
    and a truncated file still fails, at under half the CPU (docs/benchmarks.md)."""
    img, original = _opened_for_decoding(data, max_side)
    if min(img.size) < MIN_SIDE:
        raise ImageRejected("too_small")
    if _too_big(img) or _coefficient_bytes(img, original) > MAX_COEFFICIENT_BYTES:
        raise ImageRejected("too_many_pixels")
    try:
        as_is = _plain_jpeg(img) and max(original) <= max_side and len(data) <= max_bytes
        if as_is:
            img.draft("RGB", (img.width // 8, img.height // 8))
        img.load()
        if not as_is:
            # The orientation alone, applied to the small copy: reading (and writing back) every tag
            # of a TIFF or PNG whose EXIF holds millions of values took a gigabyte and seconds.
            orientation = img.getexif().get(ORIENTATION)
            turn = _TURNS.get(orientation) if isinstance(orientation, int) else None
            img = _scaled(img, max_side)
            img = img.transpose(turn) if turn is not None else img
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("corrupt") from None
    if as_is:
        return NormalisedImage(data, *original)
    img.info.clear()  # Pillow would write the original's JPEG comment into the new file
    quality = JPEG_QUALITY
    while True:
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality)
        if out.tell() <= max_bytes or quality <= 50:
            break
        quality -= 10
    if out.tell() > max_bytes:
        img.thumbnail((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality)
    return NormalisedImage(out.getvalue(), img.width, img.height)


def image_extension(data: bytes) -> str:
    """The file extension that matches the image's real format (providers mislabel PNG as .jpg)."""
    with Image.open(io.BytesIO(data)) as img:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}.get(img.format or "", "jpg")


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def fit(data: bytes, max_side: int) -> bytes:
    """The JPEG ``data`` scaled down so that its longest side is at most ``max_side``."""
    with Image.open(io.BytesIO(data)) as img:
        if max(img.size) <= max_side:
            return data
        img.draft("RGB", _draft_size(img.size, max_side))
        small = img.convert("RGB")
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def jpeg_within(data: bytes, max_side: int, max_bytes: int) -> bytes:
    """A JPEG copy of the image ``data`` (of any format, transparency on white) with its longest
    side at most ``max_side`` and at most ``max_bytes`` long, at a lower quality if need be. A large
    JPEG is decoded at a reduced scale; an image too large to decode at all is returned as it is."""
    with Image.open(io.BytesIO(data)) as img:
        if img.format in ("JPEG", "MPO") and max(img.size) > max_side:
            img.draft("RGB", _draft_size(img.size, max_side))
        if _too_big(img):
            return data
        rgb = _scaled(img, max_side)
    quality = JPEG_QUALITY
    while True:
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=quality)
        if out.tell() <= max_bytes or quality <= 50:
            return out.getvalue()
        quality -= 10


@dataclass(frozen=True)
class SizedJpeg:
    data: bytes
    quality: int
    width: int
    height: int
    #: "ok", "downscaled" (the window needed fewer pixels), or "below_min" (already at best quality).
    outcome: str


#: A free preview's longest side, and its watermark: the word, its share of the preview's width,
#: its colour (grey shows on white and on dark hair), opacity (0-255) and the angle of its rows.
PREVIEW_SIDE = 360
#: And at most this share of the finished photo's longest side (about half its pixels).
PREVIEW_SHARE = 0.7
WATERMARK = "PREVIEW"
WATERMARK_WIDTH = 0.4
WATERMARK_GREY = (110, 110, 110)
WATERMARK_OPACITY = 120
WATERMARK_ANGLE = 30


def watermarked(jpeg: bytes, max_side: int = PREVIEW_SIDE) -> bytes:
    """A reduced copy of a finished photo with a watermark across it, rows of a word over the
    face and the background alike: good enough to judge the photo by, useless as the photo."""
    # Reduced whatever its size: a photo for an exam form (144×192) is no larger than a preview.
    side = min(max_side, round(max(image_size(jpeg)) * PREVIEW_SHARE))
    with Image.open(io.BytesIO(fit(jpeg, side))) as opened:
        img = _to_rgb(opened)
    width, height = img.size
    font = ImageFont.load_default(size=max(10, round(WATERMARK_WIDTH * width / len(WATERMARK) * 1.6)))
    left, top, right, bottom = font.getbbox(WATERMARK)
    step_x, step_y = round((right - left) * 1.3), round((bottom - top) * 2.5)
    side = 2 * max(width, height)
    layer = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(layer)
    for row, y in enumerate(range(0, side, step_y)):
        for x in range(-(row % 2) * step_x // 2, side, step_x):
            draw.text((x, y), WATERMARK, fill=WATERMARK_OPACITY, font=font)
    layer = layer.rotate(WATERMARK_ANGLE, resample=Image.Resampling.BICUBIC)
    x0, y0 = (side - width) // 2, (side - height) // 2
    mask = layer.crop((x0, y0, x0 + width, y0 + height))
    out = io.BytesIO()
    Image.composite(Image.new("RGB", img.size, WATERMARK_GREY), img, mask).save(out, "JPEG", quality=85)
    return out.getvalue()


def _encode(img: Image.Image, quality: int, dpi: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True, dpi=(dpi, dpi), subsampling=0 if quality >= 90 else 2)
    return out.getvalue()


def fit_file_size(jpeg: bytes, min_bytes: int, max_bytes: int, dpi: int) -> SizedJpeg:
    """Re-encode into [min_bytes, max_bytes] by searching JPEG quality, then the dimensions if even
    the lowest sensible quality is too big. Files are never padded: a picture that is smaller than
    the window at the best quality is returned at the best quality, marked ``below_min``."""
    with Image.open(io.BytesIO(jpeg)) as source:
        img = source.convert("RGB")
    outcome = "ok"
    while True:
        low, high, best = 20, 100, None
        while low <= high:  # the highest quality that still fits under max_bytes
            quality = (low + high) // 2
            data = _encode(img, quality, dpi)
            if len(data) <= max_bytes:
                best, low = (quality, data), quality + 1
            else:
                high = quality - 1
        if best is not None:
            quality, data = best
            if len(data) < min_bytes:
                outcome = "below_min"
            return SizedJpeg(data, quality, img.width, img.height, outcome)
        if min(img.size) <= 64:
            raise ValueError("the window is too small for this picture")
        img = img.resize((round(img.width * 0.9), round(img.height * 0.9)), Image.Resampling.LANCZOS)
        outcome = "downscaled"


def set_dpi(jpeg: bytes, dpi: int) -> bytes:
    """The same JPEG with ``dpi`` in its JFIF header; the compressed pixels are not touched."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    density = bytes([1]) + dpi.to_bytes(2, "big") * 2  # units 1 = dots per inch
    if jpeg[2:4] == b"\xff\xe0" and jpeg[6:11] == b"JFIF\x00":
        return jpeg[:13] + density + jpeg[18:]
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01" + density + b"\x00\x00"
    return jpeg[:2] + app0 + jpeg[2:]
