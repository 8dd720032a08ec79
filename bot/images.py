"""Pillow: validate and normalise user photos before any provider sees them."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's decompression-bomb guard stays on: above MAX_IMAGE_PIXELS it warns (turned into
# an error below) and above twice that it raises by itself.
Image.MAX_IMAGE_PIXELS = 50_000_000

ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF"}
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


def normalise(data: bytes, *, max_side: int = 4096, max_bytes: int = 15 * 1024 * 1024) -> NormalisedImage:
    """Orient by EXIF, convert to RGB JPEG and scale down to ``max_side`` / ``max_bytes``."""
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
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected("too_many_pixels") from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("corrupt") from None
    if min(img.size) < MIN_SIDE:
        raise ImageRejected("too_small")
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    quality = JPEG_QUALITY
    while True:
        out = io.BytesIO()
        img.save(out, "JPEG", quality=quality, optimize=True)
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
