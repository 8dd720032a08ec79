"""Print sheets: copies of one or several ID photos on a paper (``bot/ops/packing.py`` places
them), each framed by a cut line, with a 1 cm scale bar, as a JPEG and as a PDF whose page is the
paper's exact size."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from bot.ops.packing import POINTS_PER_INCH, SCALE_BAR_MM, Layout, Paper, cut_frame, pack, px

CUT_LINE = (160, 160, 160)
SCALE_INK = (0, 0, 0)
#: The scale bar's label: a unit symbol, the same in every language (and drawable without a CJK font).
SCALE_LABEL = "1 cm"
#: How far a photo's pixels may stray from its spec's shape (width over height) and still be
#: printed at the spec's millimetres (the rounding of a few pixels is far within it); a photo of
#: another shape is printed at its own pixels' size rather than stretched.
MM_SHAPE = 0.02


@dataclass(frozen=True)
class SheetPhoto:
    """A finished photo, its size on the sheet in pixels (:func:`printed_size`), and how many
    copies go on the sheet."""

    data: bytes
    size: tuple[int, int]
    count: int


@dataclass(frozen=True)
class Sheet:
    jpeg: bytes
    pdf: bytes
    layout: Layout

    @property
    def copies(self) -> int:
        return len(self.layout.copies)


def printed_size(
    size: tuple[int, int], own_dpi: int, sheet_dpi: int, mm: tuple[float, float] | None = None
) -> tuple[int, int]:
    """A photo of ``size`` pixels made at ``own_dpi``, in pixels at the sheet's DPI: its spec's
    millimetres ``mm`` where its pixels have their shape (within MM_SHAPE), else the same size on
    paper as its pixels at ``own_dpi``. Some published specs' pixels and DPI disagree with their
    millimetres (National Student Registration: 26×32 mm, 307×378 px at 150 dpi, which prints at
    52×64 mm): a sheet is cut and handed in at the millimetres the spec names."""
    if mm is not None and abs((size[0] / size[1]) / (mm[0] / mm[1]) - 1) <= MM_SHAPE:
        return px(mm[0], sheet_dpi), px(mm[1], sheet_dpi)
    return round(size[0] * sheet_dpi / own_dpi), round(size[1] * sheet_dpi / own_dpi)


def print_sheet(photos: Sequence[SheetPhoto], paper: Paper, dpi: int) -> Sheet:
    """The sheet at ``dpi``; ValueError when the copies do not fit on the paper."""
    images = []
    for photo in photos:
        with Image.open(io.BytesIO(photo.data)) as source:
            img = source.convert("RGB")
        images.append(img if photo.size == img.size else img.resize(photo.size, Image.Resampling.LANCZOS))
    layout = pack([img.size for img in images], [photo.count for photo in photos], paper, dpi)
    if layout is None:
        raise ValueError("the copies do not fit on the paper")
    canvas = Image.new("RGB", (layout.width, layout.height), "white")
    draw = ImageDraw.Draw(canvas)
    for box in layout.copies:
        canvas.paste(images[box.item], (box.x, box.y))
        draw.rectangle(cut_frame(box, layout.gap), outline=CUT_LINE, width=1)
    _scale_bar(draw, layout)
    jpeg = io.BytesIO()
    canvas.save(jpeg, "JPEG", quality=95, subsampling=0, dpi=(dpi, dpi))
    return Sheet(jpeg.getvalue(), _pdf(canvas, paper, layout), layout)


def _scale_bar(draw: ImageDraw.ImageDraw, layout: Layout) -> None:
    """A bar exactly 1 cm long at the sheet's DPI (as near as whole pixels go), with end ticks
    the height of its box, and its label to the right."""
    box, dpi = layout.scale_bar, layout.dpi
    length, thick = px(SCALE_BAR_MM, dpi), max(2, px(0.4, dpi))
    middle = box.y + box.height // 2
    draw.rectangle((box.x, middle - thick // 2, box.x + length - 1, middle - thick // 2 + thick - 1), fill=SCALE_INK)
    for x in (box.x, box.x + length - thick):
        draw.rectangle((x, box.y, x + thick - 1, box.y + box.height - 1), fill=SCALE_INK)
    font = ImageFont.load_default(size=box.height)
    draw.text((box.x + length + px(1.0, dpi), middle), SCALE_LABEL, fill=SCALE_INK, font=font, anchor="lm")


def _pdf(canvas: Image.Image, paper: Paper, layout: Layout) -> bytes:
    """One page the paper's size in points, not the pixels' (A4 is 2480 px at 300 dpi, 0.3 px
    short of 210 mm): the resolution given to Pillow is the one that makes the page exact."""
    width_pt, height_pt = paper.points()
    if layout.turned:
        width_pt, height_pt = height_pt, width_pt
    resolution = (canvas.width * POINTS_PER_INCH / width_pt, canvas.height * POINTS_PER_INCH / height_pt)
    out = io.BytesIO()
    canvas.save(out, "PDF", dpi=resolution)
    return out.getvalue()
