"""In the quick check before charging, a portrait's face is found by the short-range detector alone
(faces.PORTRAIT_FACE), and Face Mesh reads the region about that detection, cut out by Pillow; a
photo of small faces still goes to the full-range detector, and the ID photo itself is placed by
the careful route. Both must agree on what the checks read: the face's box and place, a second
face, the landmarks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from providers.localengine import FaceCheckError, blazeface, faces, resample
from providers.localengine.landmarks import find_landmarks
from tests.conftest import astronaut


def _head(side: int) -> Image.Image:
    """The astronaut cropped to her head and shoulders (her face about 0.4 of its width), ``side``
    pixels high."""
    return astronaut().crop((120, 10, 370, 330)).resize((side * 250 // 320, side), Image.Resampling.LANCZOS)


def _canvas(width: int, height: int, heads: list[tuple[int, int, int]]) -> np.ndarray:
    img = Image.new("RGB", (width, height), "#8fa3b8")
    for side, x, y in heads:
        img.paste(_head(side), (x, y))
    return np.asarray(img)


def test_a_portrait_is_found_by_the_short_range_detector_where_the_full_range_one_finds_it() -> None:
    rgb = _canvas(500, 640, [(640, 0, 0)])
    face = faces.find_face(rgb, quick=True)
    assert face.seen is not None  # the full-range detector did not run
    assert faces.find_face(rgb).seen is None  # the careful route runs it
    (full,) = faces._found(rgb, 1)
    height, width = rgb.shape[:2]
    # The short-range box, made the full-range one's size and place, is where that one's is.
    assert face.width == pytest.approx(full.width * width, rel=0.06)
    assert face.height == pytest.approx(full.height * height, rel=0.06)
    assert face.x == pytest.approx(full.x * width, abs=0.05 * face.width)
    assert face.y == pytest.approx(full.y * height, abs=0.05 * face.height)


def test_a_second_face_beside_a_portrait_is_still_seen() -> None:
    # A second head three fifths the size: its face is over a quarter of the main one's area.
    with pytest.raises(FaceCheckError, match="several_faces"):
        faces.find_face(_canvas(900, 640, [(640, 0, 0), (384, 520, 200)]), quick=True)


def test_small_faces_go_to_the_full_range_detector() -> None:
    rgb = _canvas(1600, 1200, [(300, 100, 400), (300, 1100, 400)])
    with pytest.raises(FaceCheckError, match="several_faces"):
        faces.find_face(rgb, quick=True)
    one = _canvas(1600, 1200, [(300, 650, 400)])
    assert faces.find_face(one, quick=True).seen is None


@pytest.mark.parametrize("scale", [1.0, 2.0], ids=["photo", "half-size copy"])
def test_the_quick_mesh_finds_what_the_careful_one_finds(scale: float) -> None:
    # On a copy at half the photo's size (as inspect_face reads a Telegram photo) the landmarks come
    # back in the photo's pixels either way.
    rgb = _canvas(500, 640, [(640, 0, 0)])
    face = faces.find_face(rgb, quick=True)
    box = (face.x, face.y, face.width, face.height)
    seen = find_landmarks(rgb, box, scale, face.seen, quick=True)
    looked_again = find_landmarks(rgb, box, scale)
    assert seen is not None and looked_again is not None
    assert 190 * scale < seen.eye_centre[0] < 230 * scale
    # The same face, read from a slightly different square: within 2 % of its width everywhere.
    assert np.abs(seen.points[:, :2] - looked_again.points[:, :2]).max() < 0.02 * seen.face_width
    assert seen.yaw == pytest.approx(looked_again.yaw, abs=2) and seen.pitch == pytest.approx(looked_again.pitch, abs=2)


@pytest.mark.parametrize(
    ("centre", "degrees"),
    [((250, 300), 0.0), ((250, 300), 17.0), ((60, 40), -8.0)],
    ids=["level", "turned", "past the corner"],
)
def test_the_turned_crop_reads_what_opencvs_warp_reads(centre: tuple[float, float], degrees: float) -> None:
    rgb = np.asarray(astronaut().convert("RGB"))[:600, :500]
    size = (230.0, 230.0)
    exact = blazeface.crop(rgb, centre, size, np.radians(degrees), 192, zero=False)
    corners = resample.rotated_rect_corners(centre, size, degrees)
    crop = resample.turned_crop(rgb, corners, 192)
    difference = np.abs(exact.astype(int) - crop.astype(int))
    # Rounding apart (Pillow's floating point against OpenCV's 1/32 of a pixel): past the photo's
    # corner too, where both repeat its edge.
    assert crop.shape == (192, 192, 3) and difference.max() <= 4 and difference.mean() < 1


@pytest.mark.parametrize(
    ("centre", "edge"),
    [((300.0, 50.0), (slice(None), -1)), ((-200.0, 50.0), (slice(None), 0)), ((50.0, -90.0), (0, slice(None)))],
    ids=["right", "left", "above"],
)
def test_a_turned_crop_wholly_outside_the_photo_repeats_its_nearest_edge(
    centre: tuple[float, float], edge: tuple[slice | int, slice | int]
) -> None:
    rgb = np.zeros((100, 100, 3), dtype=np.uint8)
    rgb[edge] = (200, 100, 50)
    corners = resample.rotated_rect_corners(centre, (40.0, 40.0), 0.0)
    crop = resample.turned_crop(rgb, corners, 16)
    assert (crop == (200, 100, 50)).all()


def test_a_close_up_the_full_range_detector_misses_keeps_the_short_range_box_as_it_is() -> None:
    """Where no portrait is seen and the full-range detector finds nothing, both routes take the
    short-range detections as they were before the quick route came (no detection carried on)."""
    rgb = _canvas(500, 640, [(640, 0, 0)])
    close = faces._found(rgb, 0)
    assert close and close[0].seen is not None
    small = faces._detected(np.ascontiguousarray(rgb[::3, ::3]), quick=False)
    assert all(found.seen is None for found in small)
    assert faces._detected(rgb, quick=True)[0].width == pytest.approx(close[0].width * faces.FULL_RANGE_SCALE)


def test_a_photo_sent_sideways_is_checked_on_the_same_face() -> None:
    upright = Image.fromarray(_canvas(500, 640, [(640, 0, 0)]))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left, shown turned right
    upright.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=95, exif=exif.tobytes())
    _rgb, size, face = faces.check_face(out.getvalue(), quick=True)
    assert size == (500, 640) and face.seen is not None and 200 < face.eye_center_x < 300
