"""From a photo to an ID photo: find the face, cut out the person, place the head, new background.

Recipe: detect the face -> segment a head-and-shoulders region -> crown from the mask, chin from
the face box -> scale so that crown-to-chin is the spec's share of the height, centre the eyes,
keep a top margin -> warp -> refine the mask edges with a guided filter -> take the old
background's colour out of the edge pixels -> composite on a solid or gradient background.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from providers.localengine import models
from providers.localengine.faces import FaceCheckError, FaceReport, decode, find_face

#: Default head placement where a spec says nothing: crown-to-chin 60-70 % of the height.
DEFAULT_CROWN_TO_CHIN = 0.64
DEFAULT_TOP_MARGIN = 0.09
JPEG_QUALITY = 95


@dataclass(frozen=True)
class Placement:
    crown_to_chin: float = DEFAULT_CROWN_TO_CHIN
    top_margin: float = DEFAULT_TOP_MARGIN


def _hex(colour: str) -> np.ndarray:
    colour = colour.lstrip("#")
    return np.array([int(colour[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def background(width: int, height: int, top: str, bottom: str | None) -> np.ndarray:
    """A solid colour, or a top-to-bottom gradient, as float32 HxWx3."""
    first = _hex(top)
    if not bottom:
        return np.broadcast_to(first, (height, width, 3)).astype(np.float32)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(first * (1 - t) + _hex(bottom) * t, (height, width, 3)).astype(np.float32)


def _person_mask(rgb: np.ndarray, face: FaceReport) -> tuple[np.ndarray, int]:
    """Person mask (float 0..1, full image size) from a head-and-shoulders region; and its top row."""
    height, width = rgb.shape[:2]
    x0 = int(max(0, face.x - 1.6 * face.width))
    x1 = int(min(width, face.x + 2.6 * face.width))
    y0 = int(max(0, face.y - 1.3 * face.height))
    mask = np.zeros((height, width), dtype=np.float32)
    mask[y0:, x0:x1] = models.segment_person(rgb[y0:, x0:x1])
    return mask, y0


def _crown(mask: np.ndarray, face: FaceReport, region_top: int) -> float:
    """Topmost row of the head: the mask's first solid row over the middle of the face."""
    left = int(max(0, face.x + 0.25 * face.width))
    right = int(min(mask.shape[1], face.x + 0.75 * face.width))
    column = mask[: int(face.y + 0.5 * face.height), left:right].mean(axis=1)
    rows = np.nonzero(column > 0.5)[0]
    crown = float(rows[0]) if len(rows) else face.y - 0.25 * face.height
    if crown <= region_top + 1 and region_top == 0:
        raise FaceCheckError("face_cut_off")  # the hair runs off the top of the picture
    # The mask may stop short of thin hair; the face box gives a floor for the head's height.
    return min(crown, face.y - 0.05 * face.height)


def _guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    import cv2

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))

    mean_i, mean_p = mean(guide), mean(source)
    a = (mean(guide * source) - mean_i * mean_p) / (mean(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return np.clip(mean(a) * guide + mean(b), 0.0, 1.0)


def _decontaminate(rgb: np.ndarray, alpha: np.ndarray, radius: int) -> np.ndarray:
    """Foreground colours for edge pixels, spread inwards from solid foreground, so that no colour
    of the old background shows through soft hair edges."""
    import cv2

    solid = (alpha > 0.95).astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)
    weight = cv2.GaussianBlur(solid, size, 0)
    spread = cv2.GaussianBlur(rgb * solid[..., None], size, 0) / np.maximum(weight, 1e-4)[..., None]
    trust = np.clip(alpha, 0, 1)[..., None] ** 2
    blended = rgb * trust + spread * (1 - trust)
    return np.where((weight > 1e-3)[..., None] & (alpha < 0.95)[..., None], blended, rgb)


def compose(rgb: np.ndarray, face: FaceReport, size: tuple[int, int], placement: Placement,
            bg_color: str, bg_color2: str | None) -> np.ndarray:
    import cv2

    width, height = size
    mask, region_top = _person_mask(rgb, face)
    crown = _crown(mask, face, region_top)
    scale = placement.crown_to_chin * height / max(face.chin - crown, 1.0)
    matrix = np.array([[scale, 0, width / 2 - scale * face.eye_center_x],
                       [0, scale, placement.top_margin * height - scale * crown]], dtype=np.float32)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    # Below the picture's edge the body continues (a photo cut at the chest): replicate it.
    image = cv2.warpAffine(rgb.astype(np.float32), matrix, (width, height), flags=interpolation,
                           borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    bottom = int(round(scale * (rgb.shape[0] - 1) + matrix[1, 2]))
    if bottom < height:  # replicate the mask's last row down too, as the image was
        alpha[max(bottom, 0):, :] = alpha[max(bottom - 1, 0), :]
    radius = max(2, round(min(width, height) / 120))
    gray = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    alpha = _guided_filter(gray, alpha, radius, 1e-3)
    alpha = np.clip((alpha - 0.1) / 0.8, 0.0, 1.0)  # firm up the inside and clear faint haze
    foreground = _decontaminate(image, alpha, radius * 3)
    result = foreground * alpha[..., None] + background(width, height, bg_color, bg_color2) * (1 - alpha[..., None])
    return np.clip(result + 0.5, 0, 255).astype(np.uint8)


def make_id_photo(image: bytes, *, size: tuple[int, int], dpi: int, bg_color: str, bg_color2: str | None = None,
                  placement: Placement | None = None) -> bytes:
    """The finished ID photo as a JPEG of exactly ``size`` pixels with ``dpi`` written into it."""
    rgb, _ = decode(image)
    face = find_face(rgb)
    out = compose(rgb, face, size, placement or Placement(), bg_color, bg_color2)
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, dpi=(dpi, dpi))
    return buffer.getvalue()
