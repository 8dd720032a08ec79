"""Pillow: validate and normalise user photos before any provider sees them."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

register_heif_opener()

# Pillow's decompression-bomb guard stays on: above MAX_IMAGE_PIXELS it warns (turned into
# an error below) and above twice that it raises by itself.
Image.MAX_IMAGE_PIXELS = 50_000_000

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"}
MAX_INPUT_BYTES = 20 * 1024 * 1024
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


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    return img.convert("RGB")


def _plain_jpeg(img: Image.Image) -> bool:
    """An RGB JPEG with no metadata beyond its JFIF header: no EXIF (orientation, camera, GPS
    position), XMP, ICC profile, IPTC or comment to act on or to keep from a provider."""
    return img.format == "JPEG" and img.mode == "RGB" and "comment" not in img.info and all(
        marker == "APP0" and segment.startswith(b"JFIF\0") for marker, segment in img.applist  # type: ignore[attr-defined]
    )


def normalise(data: bytes, *, max_side: int = 4096, max_bytes: int = 15 * 1024 * 1024) -> NormalisedImage:
    """Orient by EXIF, convert to RGB JPEG without metadata and scale down to ``max_side`` /
    ``max_bytes``. A plain JPEG that needs none of this (what Telegram makes of a photo) is kept
    byte for byte once it has decoded cleanly: re-encoding it cost more CPU than anything else
    the bot does with a photo, and lost quality."""
    if not data:
        raise ImageRejected("empty")
    if len(data) > MAX_INPUT_BYTES:
        raise ImageRejected("file_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ACCEPTED_FORMATS:
                raise ImageRejected("unsupported_format")
            img.load()
            as_is = _plain_jpeg(img) and max(img.size) <= max_side and len(data) <= max_bytes
            ImageOps.exif_transpose(img, in_place=True)
            img = _to_rgb(img)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected("too_many_pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("corrupt") from None
    if min(img.size) < MIN_SIDE:
        raise ImageRejected("too_small")
    if as_is:
        return NormalisedImage(data, img.width, img.height)
    img.info.clear()  # Pillow would write the original's JPEG comment into the new file
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
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
        img = img.convert("RGB")
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


@dataclass(frozen=True)
class SizedJpeg:
    data: bytes
    quality: int
    width: int
    height: int
    #: "ok", "downscaled" (the window needed fewer pixels), or "below_min" (already at best quality).
    outcome: str


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
