"""What a person chooses for an ID photo, read and checked as text: a typed size in millimetres, the
background colours offered, a gradient's end. Shared by the dialog and ``photobot idphoto``, and
free of python-telegram-bot so that the command line does not load it."""

from __future__ import annotations

import re
import unicodedata

from bot.telegram.ui.i18n import t
from providers.specs import CustomSize

#: A typed size: "35x45", "35 × 45 mm", "35mm*45mm", "35 45" (after NFKC, so full-width digits
#: and "，" count; "毫米" reads as "mm" and "乘" as "x"). Whole millimetres, as PicWish takes them.
_MM_SIZE = re.compile(r"^(\d{1,3})\s*(?:mm)?(?:\s*[x×*,]\s*|\s+)(\d{1,3})\s*(?:mm)?$", re.IGNORECASE | re.ASCII)
DEFAULT_COLORS = ("white", "blue", "red")


def gradient_end(colour: str) -> str:
    """The bottom colour of a gradient from ``colour``: much lighter, or a shade darker for white."""
    rgb = [int(colour[i : i + 2], 16) for i in (0, 2, 4)]
    if min(rgb) > 230:
        end = [round(v * 0.85) for v in rgb]
    else:
        end = [round(v + (255 - v) * 0.6) for v in rgb]
    return "".join(f"{v:02X}" for v in end)


def parse_mm(text: str) -> tuple[int, int] | None:
    """Width and height in millimetres from what a user typed, or None."""
    normal = unicodedata.normalize("NFKC", text).strip().replace("毫米", "mm").replace("乘", "x")
    match = _MM_SIZE.match(normal)
    return (int(match.group(1)), int(match.group(2))) if match else None


def ratio_text(value: float) -> str:
    return f"{value:g}"


def size_refusal(lang: str, bounds: CustomSize, size: tuple[int, int]) -> str | None:
    """Why a typed size cannot be made (a side out of range, a frame too narrow or wide), or None."""
    problem = bounds.problem(*size)
    if problem is None:
        return None
    return t(
        lang,
        f"idphoto.mm_{problem}",
        width=size[0],
        height=size[1],
        min=bounds.min_mm,
        max=bounds.max_mm,
        low=ratio_text(bounds.min_ratio),
        high=ratio_text(bounds.max_ratio),
    )
