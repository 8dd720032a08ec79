"""Where copies go on a print sheet: the papers (``providers/data/print_papers.yaml``) and shelf
packing of copies of one or several sizes, with a 1 cm scale bar. Pure arithmetic in pixels at the
sheet's DPI; ``bot/ops/printing.py`` draws what this places.

Copies are never turned (an ID photo is upright); the paper is, when that fits more. Between two
copies there is exactly the cut gap, with the cut line in its middle, and the cut lines stay
inside the printable area (the paper less its margin).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from providers import yamltext

MM_PER_INCH = 25.4
POINTS_PER_INCH = 72
#: The scale bar's box: a bar 10 mm long, a space and the label "1 cm", this tall.
SCALE_BOX_MM = (18.0, 2.2)
SCALE_BAR_MM = 10.0
#: Never more copies of one photo than this on a sheet (callback data holds two digits).
MOST_COPIES = 99


def px(mm: float, dpi: int) -> int:
    """``mm`` in whole pixels at ``dpi``."""
    return round(mm / MM_PER_INCH * dpi)


@dataclass(frozen=True)
class Paper:
    key: str
    width_mm: float
    height_mm: float
    margin_mm: float

    def pixels(self, dpi: int) -> tuple[int, int]:
        return px(self.width_mm, dpi), px(self.height_mm, dpi)

    def points(self) -> tuple[float, float]:
        """The page size a PDF gives this paper (1 pt = 1/72 in)."""
        return self.width_mm / MM_PER_INCH * POINTS_PER_INCH, self.height_mm / MM_PER_INCH * POINTS_PER_INCH


@dataclass(frozen=True)
class Papers:
    papers: dict[str, Paper]
    cut_gap_mm: float


@cache
def load_papers() -> Papers:
    raw = yamltext.parse((resources.files("providers.data") / "print_papers.yaml").read_text(encoding="utf-8"))
    papers = {key: Paper(key, **fields) for key, fields in raw["papers"].items()}
    return Papers(papers, float(raw["cut_gap_mm"]))


@dataclass(frozen=True)
class Box:
    """A copy of photo ``item`` (or the scale bar: item -1) at (x, y), in sheet pixels."""

    item: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Layout:
    #: The page in pixels, as printed (turned when ``turned``).
    width: int
    height: int
    turned: bool
    dpi: int
    gap: int
    copies: tuple[Box, ...]
    scale_bar: Box


SCALE_ITEM = -1


def pack(sizes: Sequence[tuple[int, int]], counts: Sequence[int], paper: Paper, dpi: int) -> Layout | None:
    """``counts[i]`` copies of a photo of ``sizes[i]`` pixels (at ``dpi``) and the scale bar on
    ``paper``, upright or turned, or None when they do not fit either way."""
    items = [(i, size) for i, (size, count) in enumerate(zip(sizes, counts, strict=True)) for _ in range(count)]
    # Shelves by height: the tallest first, so each shelf's first copy sets its height.
    items.sort(key=lambda item: (-item[1][1], -item[1][0]))
    items.append((SCALE_ITEM, (px(SCALE_BOX_MM[0], dpi), px(SCALE_BOX_MM[1], dpi))))
    width, height = paper.pixels(dpi)
    for turned in (False, True):
        page = (height, width) if turned else (width, height)
        layout = _shelves(items, page, paper, dpi, turned)
        if layout is not None:
            return layout
    return None


def _shelves(
    items: Sequence[tuple[int, tuple[int, int]]], page: tuple[int, int], paper: Paper, dpi: int, turned: bool
) -> Layout | None:
    """First fit into shelves: each copy goes right of the last one on the first shelf with room,
    or on a new shelf below. The area for copies is the printable one less the room the outer cut
    lines take (:func:`cut_frame`)."""
    gap = px(load_papers().cut_gap_mm, dpi)
    before, after = _line_room(gap)
    margin = px(paper.margin_mm, dpi)
    inset = margin + before
    area_w, area_h = page[0] - 2 * margin - before - after, page[1] - 2 * margin - before - after
    shelves: list[list[int]] = []  # [y, height, next x]
    placed: list[Box] = []
    for item, (w, h) in items:
        shelf = next((s for s in shelves if s[2] + w <= area_w and h <= s[1]), None)
        if shelf is None:
            y = shelves[-1][0] + shelves[-1][1] + gap if shelves else 0
            if w > area_w or y + h > area_h:
                return None
            shelf = [y, h, 0]
            shelves.append(shelf)
        placed.append(Box(item, shelf[2], shelf[0], w, h))
        shelf[2] += w + gap
    # The block of copies in the middle of the printable area.
    right = max(box.x + box.width for box in placed)
    bottom = max(box.y + box.height for box in placed)
    dx, dy = inset + (area_w - right) // 2, inset + (area_h - bottom) // 2
    moved = [Box(b.item, b.x + dx, b.y + dy, b.width, b.height) for b in placed]
    copies = tuple(b for b in moved if b.item != SCALE_ITEM)
    (scale,) = (b for b in moved if b.item == SCALE_ITEM)
    return Layout(page[0], page[1], turned, dpi, gap, copies, scale)


def _line_room(gap: int) -> tuple[int, int]:
    """Pixels a cut line takes before (left, above) and after (right, below) a copy: the line is
    one pixel in the middle of the gap, where the neighbour's line is too."""
    after = (gap - 1) // 2
    return gap - after, after + 1


def cut_frame(box: Box, gap: int) -> tuple[int, int, int, int]:
    """The cut line around a copy, as (left, top, right, bottom) pixel columns and rows: in the
    middle of the gap, so two neighbours share one line."""
    before, after = _line_room(gap)
    return box.x - before, box.y - before, box.x + box.width - 1 + after, box.y + box.height - 1 + after


def most(sizes: Sequence[tuple[int, int]], ratio: Sequence[int], paper: Paper, dpi: int) -> int:
    """The largest n for which ``ratio[i] * n`` copies of each photo fit on ``paper`` (0: none)."""
    n = 0
    while max(ratio) * (n + 1) <= MOST_COPIES and pack(sizes, [r * (n + 1) for r in ratio], paper, dpi):
        n += 1
    return n
