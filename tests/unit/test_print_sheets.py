"""Print sheets: how many copies each paper holds, the gaps and margins the packing keeps, the
1 cm scale bar and the PDF's page size."""

from __future__ import annotations

import io
import itertools
import re

import numpy as np
import pytest
from PIL import Image

from bot.ops.packing import Layout, cut_frame, load_papers, most, pack, px
from bot.ops.printing import CUT_LINE, SheetPhoto, print_sheet, printed_size

PAPERS = load_papers().papers
ONE_INCH, SMALL_TWO_INCH, TWO_INCH, US = (295, 413), (413, 531), (413, 579), (602, 602)


def _jpeg(size: tuple[int, int], colour: str = "#5a8cc8") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "fits"),
    [
        (ONE_INCH, {"5inch": 9, "6inch": 11, "5x7": 18, "a4": 56}),
        (SMALL_TWO_INCH, {"5inch": 4, "6inch": 8, "5x7": 9, "a4": 32}),
        (US, {"5inch": 2, "6inch": 2, "5x7": 6, "a4": 15}),
    ],
)
def test_copies_each_paper_holds_at_300_dpi(size, fits):
    assert {key: most([size], [1], paper, 300) for key, paper in PAPERS.items()} == fits


def test_mixed_counts_on_a4_and_on_6_inch():
    assert most([ONE_INCH, TWO_INCH], [1, 1], PAPERS["a4"], 300) == 18
    assert most([ONE_INCH, TWO_INCH], [2, 1], PAPERS["a4"], 300) == 13
    assert pack([ONE_INCH, TWO_INCH], [4, 2], PAPERS["6inch"], 300) is not None  # the studio classic


LAYOUTS = [
    ("a4", [ONE_INCH, TWO_INCH], [26, 13], 300),
    ("a4", [ONE_INCH, US], [10, 6], 300),
    ("6inch", [ONE_INCH, TWO_INCH], [4, 2], 300),
    ("6inch", [SMALL_TWO_INCH], [8], 300),
    ("5inch", [ONE_INCH], [9], 300),
    ("5x7", [(344, 482), (413, 579)], [4, 4], 350),
]


def _layout(paper: str, sizes, counts, dpi) -> Layout:
    layout = pack(sizes, counts, PAPERS[paper], dpi)
    assert layout is not None
    return layout


@pytest.mark.parametrize(("paper", "sizes", "counts", "dpi"), LAYOUTS)
def test_every_copy_is_placed_upright_at_its_own_size(paper, sizes, counts, dpi):
    layout = _layout(paper, sizes, counts, dpi)
    for item, count in enumerate(counts):
        placed = [box for box in layout.copies if box.item == item]
        assert len(placed) == count
        assert all((box.width, box.height) == sizes[item] for box in placed)


@pytest.mark.parametrize(("paper", "sizes", "counts", "dpi"), LAYOUTS)
def test_copies_are_a_cut_gap_apart_and_share_their_cut_lines(paper, sizes, counts, dpi):
    layout = _layout(paper, sizes, counts, dpi)
    assert layout.gap == px(1.0, dpi)
    boxes = [*layout.copies, layout.scale_bar]
    for a, b in itertools.combinations(boxes, 2):
        apart_x = max(b.x - (a.x + a.width), a.x - (b.x + b.width))
        apart_y = max(b.y - (a.y + a.height), a.y - (b.y + b.height))
        assert max(apart_x, apart_y) >= layout.gap
    # Side by side on one shelf at exactly the gap: one cut line between them.
    neighbours = [
        (a, b)
        for a, b in itertools.permutations(layout.copies, 2)
        if b.x - (a.x + a.width) == layout.gap and a.y == b.y
    ]
    assert neighbours
    for a, b in neighbours:
        assert cut_frame(a, layout.gap)[2] == cut_frame(b, layout.gap)[0]


@pytest.mark.parametrize(("paper", "sizes", "counts", "dpi"), LAYOUTS)
def test_nothing_is_printed_in_the_margin(paper, sizes, counts, dpi):
    layout = _layout(paper, sizes, counts, dpi)
    margin = px(PAPERS[paper].margin_mm, dpi)
    frames = [cut_frame(box, layout.gap) for box in layout.copies]
    bar = layout.scale_bar
    frames.append((bar.x, bar.y, bar.x + bar.width - 1, bar.y + bar.height - 1))
    for left, top, right, bottom in frames:
        assert margin <= left and right < layout.width - margin
        assert margin <= top and bottom < layout.height - margin


def test_too_many_copies_do_not_fit():
    assert pack([ONE_INCH], [57], PAPERS["a4"], 300) is None
    assert most([(2000, 2000)], [1], PAPERS["6inch"], 300) == 0


@pytest.mark.parametrize(("paper", "dpi"), [("6inch", 300), ("5x7", 350)])
def test_the_scale_bar_is_1_cm_at_the_sheet_dpi_and_the_cut_lines_are_drawn(paper, dpi):
    photos = [
        SheetPhoto(_jpeg(ONE_INCH), printed_size(ONE_INCH, 300, dpi), 4),
        SheetPhoto(_jpeg(TWO_INCH), printed_size(TWO_INCH, 300, dpi), 2),
    ]
    sheet = print_sheet(photos, PAPERS[paper], dpi)
    assert sheet.copies == 6
    with Image.open(io.BytesIO(sheet.jpeg)) as img:
        assert img.size == PAPERS[paper].pixels(dpi)[:: -1 if sheet.layout.turned else 1]
        assert tuple(round(v) for v in img.info["dpi"]) == (dpi, dpi)
        rgb = np.asarray(img.convert("RGB"), dtype=int)
    bar = sheet.layout.scale_bar
    row = rgb[bar.y + bar.height // 2, bar.x - 5 : bar.x + bar.width]
    dark = np.nonzero(row.max(axis=1) < 80)[0]
    runs = np.split(dark, np.nonzero(np.diff(dark) != 1)[0] + 1)
    assert len(runs[0]) == round(10 / 25.4 * dpi)  # the bar, then the label's strokes
    assert runs[0][0] == 5
    first = sheet.layout.copies[0]
    left, top, right, _ = cut_frame(first, sheet.layout.gap)
    line = rgb[top, left : right + 1]
    assert (np.abs(line - CUT_LINE).max(axis=1) < 30).mean() > 0.9


@pytest.mark.parametrize("paper", list(PAPERS))
def test_the_pdf_page_is_the_paper_size_in_points(paper):
    sheet = print_sheet([SheetPhoto(_jpeg(ONE_INCH), ONE_INCH, 2)], PAPERS[paper], 300)
    (box,) = re.findall(rb"/MediaBox \[ ([\d. ]+) \]", sheet.pdf)
    x0, y0, width, height = (float(v) for v in box.split())
    expected = PAPERS[paper].points()
    if sheet.layout.turned:
        expected = expected[::-1]
    assert (x0, y0) == (0, 0)
    assert width == pytest.approx(expected[0], abs=1e-6) and height == pytest.approx(expected[1], abs=1e-6)
    assert sheet.pdf.count(b"/Type /Page\n") + sheet.pdf.count(b"/Type /Page ") <= 1


def test_a4_is_210_by_297_mm():
    width, height = PAPERS["a4"].points()
    assert width * 25.4 / 72 == pytest.approx(210) and height * 25.4 / 72 == pytest.approx(297)


def test_a_copy_prints_at_its_specs_millimetres_where_its_pixels_and_dpi_disagree():
    """National Student Registration is published as 26×32 mm, 307×378 px at 150 dpi (52×64 mm at
    that DPI): its copies on a sheet are 26×32 mm. A photo whose pixels have another shape than its
    millimetres is printed at its own size, not stretched."""
    assert printed_size((307, 378), 150, 300, mm=(26, 32)) == (307, 378)  # 26×32 mm at 300 dpi
    assert printed_size((307, 378), 150, 150, mm=(26, 32)) == (154, 189)
    assert printed_size((413, 531), 300, 300, mm=(25, 35)) == (413, 531)  # 35×45 mm's shape: its own size
    assert printed_size((413, 531), 300, 600) == (826, 1062)


def test_a_providers_layout_sheet_prints_at_its_own_size_not_one_photos_millimetres():
    """PicWish's 5-inch layout of Small 1 Inch (22×32 mm) photos is 1050×1500 px, within the shape
    that lets one photo print at its spec's millimetres: the whole sheet is a paper of copies, and
    prints at its own size."""
    from bot.services.idphoto.reedit import _on_sheet
    from bot.storage.jobs import Job, JobState

    options = {"spec_id": 1101, "px_width": 260, "px_height": 378, "dpi": 300, "bg_color": "FFFFFF"}
    options |= {"layout_size": "5inch", "layout_vertical": True}
    job = Job(
        "j",
        1,
        1,
        "idphoto",
        "picwish",
        options,
        None,
        6,
        None,
        JobState.SUCCEEDED,
        100,
        1,
        0.0,
        None,
        None,
        None,
        "s",
        None,
        "done",
    )
    assert _on_sheet(job, _jpeg((1050, 1500)), 300) == (1050, 1500)
