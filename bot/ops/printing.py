"""Print sheets: copies of one ID photo on 5-inch or 6-inch photo paper, with cut lines."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

#: Photo paper, landscape, in inches: "5-inch" is 5 x 3.5, "6-inch" is 6 x 4.
PAPER_INCHES = {"5inch": (5.0, 3.5), "6inch": (6.0, 4.0)}
MARGIN_MM = 3.0
GAP_MM = 2.0
CUT_LINE = (160, 160, 160)


@dataclass(frozen=True)
class Sheet:
    data: bytes
    width: int
    height: int
    copies: int


def _px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def capacity(photo_size: tuple[int, int], paper: str, dpi: int) -> tuple[int, int]:
    """(columns, rows) of photos that fit on the paper at the photo's own DPI."""
    sheet_w, sheet_h = (round(v * dpi) for v in PAPER_INCHES[paper])
    margin, gap = _px(MARGIN_MM, dpi), _px(GAP_MM, dpi)
    columns = max(0, (sheet_w - 2 * margin + gap) // (photo_size[0] + gap))
    rows = max(0, (sheet_h - 2 * margin + gap) // (photo_size[1] + gap))
    return columns, rows


def print_sheet(photo: bytes, paper: str, dpi: int, copies: int | None = None) -> Sheet:
    """As many copies as fit (or ``copies``), centred, each framed by a cut line, at ``dpi``."""
    with Image.open(io.BytesIO(photo)) as source:
        img = source.convert("RGB")
    columns, rows = capacity(img.size, paper, dpi)
    fit = columns * rows
    if fit == 0:
        raise ValueError("the photo is larger than the paper")
    count = fit if copies is None else max(1, min(copies, fit))
    sheet_w, sheet_h = (round(v * dpi) for v in PAPER_INCHES[paper])
    gap = _px(GAP_MM, dpi)
    used_rows = -(-count // columns)
    used_columns = min(count, columns)
    block_w = used_columns * img.width + (used_columns - 1) * gap
    block_h = used_rows * img.height + (used_rows - 1) * gap
    left, top = (sheet_w - block_w) // 2, (sheet_h - block_h) // 2
    canvas = Image.new("RGB", (sheet_w, sheet_h), "white")
    draw = ImageDraw.Draw(canvas)
    for index in range(count):
        x = left + (index % columns) * (img.width + gap)
        y = top + (index // columns) * (img.height + gap)
        canvas.paste(img, (x, y))
        draw.rectangle((x - 1, y - 1, x + img.width, y + img.height), outline=CUT_LINE, width=1)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=95, subsampling=0, dpi=(dpi, dpi))
    return Sheet(out.getvalue(), sheet_w, sheet_h, count)
