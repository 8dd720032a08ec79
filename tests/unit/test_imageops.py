"""The engine's small image operations (providers/localengine/imageops.py and resample.py) on
pictures whose answer is known: worked out by hand, or the figures OpenCV gave for the same call (the
engine used OpenCV before, and its verdicts hang on these being the same)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine import imageops, resample


def test_gray_rounds_bt601_as_opencv() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 200, 30]]], dtype=np.uint8)
    # cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    assert imageops.gray(rgb).tolist() == [[76, 150, 29, 255, 124]]


def test_lightness_is_opencv_8_bit_lab_l() -> None:
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [128, 128, 128], [255, 0, 0], [20, 40, 200], [3, 3, 3]]])
    # cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0]
    expected = np.array([0, 255, 137, 136, 74, 2], dtype=np.float32) * np.float32(100 / 255)
    assert np.array_equal(imageops.lightness(rgb.astype(np.uint8))[0], expected)


@pytest.mark.parametrize(("border", "left"), [("reflect101", (2 + 1 + 2) / 3), ("reflect", (1 + 1 + 2) / 3)])
def test_box_mean_reflects_at_the_edges(border: imageops.Border, left: float) -> None:
    row = np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    means = imageops.box_mean(row, 3, 1, border=border)
    assert means[0, 1:3] == pytest.approx([2.0, 3.0])
    assert means[0, 0] == pytest.approx(left)


def test_box_mean_of_a_constant_is_the_constant_and_channels_stay_apart() -> None:
    image = np.zeros((20, 30, 2), dtype=np.float32)
    image[..., 0] = 7.0
    image[5, 5, 1] = 25.0
    means = imageops.box_mean(image, 5)
    assert np.allclose(means[..., 0], 7.0)
    assert means[5, 5, 1] == pytest.approx(1.0)
    assert means[..., 1].sum() == pytest.approx(25.0)


def test_sobel_and_laplacian_of_a_ramp() -> None:
    ramp = np.tile(np.arange(6, dtype=np.float32) * 2, (5, 1))
    assert np.allclose(imageops.sobel_x(ramp)[:, 1:-1], 16.0)  # (1 + 2 + 1) x (x+1 - x-1) of 2 a step
    assert np.allclose(imageops.sobel_x(ramp)[:, 0], 0.0)  # reflected: the pixel left of 0 is pixel 1
    assert np.allclose(imageops.sobel_y(ramp), 0.0)
    assert np.allclose(imageops.laplacian(ramp)[:, 1:-1], 0.0)


def test_square_morphology() -> None:
    mask = np.zeros((9, 9), dtype=bool)
    mask[4, 4] = True
    grown = imageops.dilate_square(mask, 2)
    assert grown.sum() == 25 and grown[2:7, 2:7].all()
    assert np.array_equal(imageops.erode_square(grown, 2), mask)
    full = np.ones((5, 5), dtype=bool)
    assert imageops.erode_square(full, 2).all()  # past the edges counts as in


def test_disc_is_opencvs_elliptic_element() -> None:
    mask = np.zeros((11, 11), dtype=bool)
    mask[5, 5] = True
    disc = imageops.dilate_disc(mask, 3)
    # cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)), row by row
    assert disc[2:9, 2:9].sum(axis=1).tolist() == [1, 5, 7, 7, 7, 5, 1]
    assert disc.sum() == 33


def test_within_distance_is_the_chamfer_ball() -> None:
    mask = np.zeros((21, 21), dtype=bool)
    mask[10, 10] = True
    # OpenCV's 3x3 chamfer: 0.955 a step across, 1.3693 diagonally.
    # cv2.distanceTransform: (10, 8) 1.91, (9, 8) 2.3243, (8, 8) 2.7386, (10, 7) 2.865
    near = imageops.within_distance(mask, 2.0)
    assert near[10, 8] and not near[9, 8] and not near[10, 7]
    assert near.sum() == 13
    assert imageops.within_distance(mask, 2.33)[9, 8]
    assert imageops.within_distance(mask, 2.74)[8, 8]  # two diagonal steps: 2.7386
    assert imageops.within_distance(mask, 0).sum() == 1


def test_component_at_joins_diagonal_neighbours_only() -> None:
    mask = np.zeros((6, 8), dtype=bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal line: one component in 8-connectivity
    mask[4:6, 5:8] = True  # apart
    component = imageops.component_at(mask, 2, 2)
    assert component.sum() == 3 and component[0, 0]
    assert imageops.component_at(mask, 5, 7).sum() == 6
    assert not imageops.component_at(mask, 3, 3).any()


def test_component_at_follows_a_spiral() -> None:
    mask = np.zeros((9, 9), dtype=bool)
    mask[0, :] = mask[:, 8] = mask[8, :] = mask[2:, 0] = mask[2, :7] = mask[2:7, 6] = mask[6, 2:7] = True
    mask[4, 4] = True  # inside the spiral, touching nothing
    component = imageops.component_at(mask, 0, 0)
    assert component.sum() == mask.sum() - 1 and not component[4, 4]


def test_components_are_every_component_largest_first() -> None:
    mask = np.zeros((9, 9), dtype=bool)
    mask[0, :] = mask[:, 8] = mask[8, :] = mask[2:, 0] = mask[2, :7] = mask[2:7, 6] = mask[6, 2:7] = True
    mask[4, 4] = True  # inside the spiral, touching nothing
    spiral, dot = imageops.components(mask)
    assert np.array_equal(spiral, imageops.component_at(mask, 0, 0))
    assert dot.sum() == 1 and dot[4, 4]
    assert imageops.components(np.zeros((3, 3), dtype=bool)) == []
    (largest,) = imageops.components(mask, limit=1)
    assert np.array_equal(largest, spiral)


def test_small_parts_apart_are_those_that_hold_no_seed_and_are_small_against_those_that_do() -> None:
    mask = np.zeros((20, 20), dtype=bool)
    mask[0:10, 0:10] = True  # holds the seed: 100 pixels
    mask[10, 10] = mask[11, 11] = True  # joined to it diagonally
    mask[15:17, 0:2] = True  # apart, 4 pixels
    mask[13:20, 13:20] = True  # apart, 49 pixels
    seed = np.zeros_like(mask)
    seed[5, 5] = True
    apart = imageops.small_parts_apart(mask, seed, 0.1)  # under 10.2 pixels
    assert apart.sum() == 4 and apart[15:17, 0:2].all()
    both = imageops.small_parts_apart(mask, seed, 0.5)
    assert both.sum() == 4 + 49 and not both[0:12, 0:12].any()
    seed[14, 14] = True  # now the large square holds a seed too, and counts as the person
    assert imageops.small_parts_apart(mask, seed, 0.05).sum() == 4
    assert not imageops.small_parts_apart(np.zeros((3, 3), dtype=bool), np.zeros((3, 3), dtype=bool), 1.0).any()


def test_discs_and_polygons() -> None:
    disc = imageops.fill_disc((9, 9), (4, 4), 3)
    # cv2.circle(mask, (4, 4), 3, 1, -1), row by row
    assert disc.sum(axis=1).tolist() == [0, 1, 5, 5, 7, 5, 5, 1, 0]
    square = imageops.fill_polygon((6, 6), np.array([[1, 1], [4, 1], [4, 4], [1, 4]]))
    assert square.sum() == 16 and square[1:5, 1:5].all()
    # Cut by the picture's edges: the rows and columns inside it.
    assert imageops.fill_disc((5, 5), (0, 0), 3).sum(axis=1).tolist() == [4, 3, 3, 1, 0]


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_span_sums_are_reduceats_to_the_bit(dtype: type) -> None:
    """resize_area's sums of whole rows: NumPy's reduceat adds a span's first row to the pairwise sum
    of the others; the row-at-a-time sums must give the same floats, up to spans of 8 rows and past."""
    rng = np.random.default_rng(7)
    for rows in (3, 17, 40, 200):
        image = (
            rng.uniform(0, 255, (rows, 13)).astype(np.float32)
            if dtype == np.float32
            else rng.integers(0, 256, (rows, 13, 3), dtype=np.uint8)
        )
        for spans in range(1, rows + 1, 3):
            starts = np.unique(np.linspace(0, rows - 1, spans).astype(np.int64))
            expected = np.add.reduceat(image, starts, axis=0, dtype=dtype)
            assert np.array_equal(resample._span_sums(image, starts, dtype), expected)


def test_resize_area_averages_what_each_pixel_covers() -> None:
    image = np.arange(12, dtype=np.float32).reshape(1, 12)
    assert resample.resize_area(image, (4, 1))[0].tolist() == pytest.approx([1, 4, 7, 10])
    # 3 pixels into 2: each covers one and a half.
    assert resample.resize_area(np.array([[0.0, 3.0, 6.0]]), (2, 1))[0].tolist() == pytest.approx([1.0, 5.0])
    rgb = np.full((10, 10, 3), 200, dtype=np.uint8)
    assert resample.resize_area(rgb, (3, 3)).dtype == np.uint8


def test_resize_area_sums_each_span_once_where_its_end_falls_just_short_of_a_row() -> None:
    """246 rows into 240: the last span ends at 245.99..., inside the last row, which it cuts."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (246, 3), dtype=np.uint8)
    edges = np.arange(241) * (246 / 240)
    expected = [
        sum(
            float(image[row, 0]) * (min(high, row + 1) - max(low, row))
            for row in range(int(low), min(246, int(np.ceil(high))))
        )
        / (high - low)
        for low, high in itertools.pairwise(edges)
    ]
    assert resample.resize_area(image, (3, 240))[:, 0] == pytest.approx(expected, abs=0.51)  # uint8: rounded


@pytest.mark.parametrize("size", [(9, 7), (2, 3)])
def test_resize_linear_resizes_each_channel_as_a_plane(size) -> None:
    image = np.random.default_rng(3).random((5, 4, 3)).astype(np.float32)
    resized = resample.resize_linear(image, size)
    assert resized.shape == (size[1], size[0], 3)
    for channel in range(3):
        np.testing.assert_array_equal(resized[..., channel], resample.resize_linear(image[..., channel], size))


def test_resize_linear_and_cubic() -> None:
    image = np.array([[0.0, 10.0]], dtype=np.float32)
    assert resample.resize_linear(image, (4, 1))[0].tolist() == pytest.approx([0.0, 2.5, 7.5, 10.0])
    assert resample.resize_linear(np.arange(4, dtype=np.float32)[None], (2, 1))[0].tolist() == pytest.approx([0.5, 2.5])
    flat = np.full((4, 4), 3.0, dtype=np.float32)
    assert np.allclose(resample.resize_cubic(flat, (9, 7)), 3.0)


def test_sample_bilinear_in_32nds() -> None:
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[:, 1] = 255
    xs = np.array([0.0, 0.5, 1 / 64, 5.0, -3.0, 3 / 64])
    sampled = resample.sample_bilinear(image, xs, np.zeros_like(xs))[:, 0]
    # cv2.remap: 1/64 rounds to 0 (half to even), 3/64 to 2/32: 255 x 2/32 = 15.9
    assert sampled.tolist() == [0, 128, 0, 255, 0, 16]
    assert resample.sample_bilinear(image, np.array([1.5]), np.array([0.0]), zero_outside=True)[0, 0] == 128


def test_warp_perspective_of_the_identity_and_a_shift() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    assert np.array_equal(resample.warp_perspective(image, np.eye(3), (10, 12), zero_outside=True), image)
    shift = np.array([[1.0, 0, 2], [0, 1, 0], [0, 0, 1]])
    moved = resample.warp_perspective(image, shift, (10, 12), zero_outside=True)
    assert np.array_equal(moved[:, 2:], image[:, :8]) and not moved[:, :2].any()


@pytest.mark.parametrize("zero_outside", [True, False])
def test_warp_perspective_reads_the_same_points_axis_aligned_or_not(zero_outside: bool) -> None:
    """An axis-aligned warp (a letterbox) works its points out once per row and per column, any
    other once per pixel: both read where sample_bilinear reads."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    scale = np.array([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])  # the output is twice the input, shifted
    columns, rows = np.meshgrid(np.arange(50), np.arange(42))
    expected = resample.sample_bilinear(image, (columns - 1) / 2, (rows - 1) / 2, zero_outside=zero_outside)
    assert np.array_equal(resample.warp_perspective(image, scale, (50, 42), zero_outside=zero_outside), expected)
    nearly = scale.copy()
    nearly[2, 0] = 1e-18  # in perspective, by far too little to move a point
    assert np.array_equal(resample.warp_perspective(image, nearly, (50, 42), zero_outside=zero_outside), expected)


def test_rect_corners_and_the_perspective_through_them() -> None:
    corners = resample.rotated_rect_corners((5.0, 5.0), (4.0, 2.0), 0.0)
    assert corners.tolist() == [[3, 6], [3, 4], [7, 4], [7, 6]]
    target = np.array([[0, 2], [0, 0], [4, 0], [4, 2]], dtype=np.float32)
    matrix = resample.perspective_from_points(corners, target)
    assert np.allclose(matrix, [[1, 0, -3], [0, 1, -4], [0, 0, 1]])


def test_warp_affine_repeats_the_edges() -> None:
    image = np.tile(np.arange(5, dtype=np.float32), (4, 1))
    shift = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 0.0]])
    moved = resample.warp_affine(image, shift, (8, 4))
    assert np.allclose(moved[:, :3], 0.0) and np.allclose(moved[:, 3:], np.arange(5))
    half = resample.warp_affine(image, np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), (9, 4), cubic=True)
    assert np.allclose(half[:, ::2], np.arange(5), atol=1e-4)
    assert np.allclose(half[:, 3:7:2], [1.5, 2.5], atol=1e-4)
    # Pillow's bicubic (a = -1) overshoots at the repeated edge a little more than OpenCV's (0.40625).
    assert half[0, 1] == pytest.approx(0.375)


def test_results_are_writable() -> None:
    """The engine scales and clears masks in place."""
    mask = np.zeros((4, 4), dtype=np.float32)
    shift = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    for result in (
        resample.resize_linear(mask, (8, 8)),
        resample.warp_affine(mask, shift, (4, 4)),
        imageops.fill_polygon((4, 4), np.array([[0, 0], [3, 0], [3, 3]])),
        imageops.box_mean(mask, 1),
    ):
        assert result.flags.writeable


def test_perspective_rounds_as_opencv_where_points_fall_between_steps() -> None:
    """A letterbox's points fall half-way between two 1/32 steps: which way they round follows the
    last bit of OpenCV's solve and inverse (cv2.getPerspectiveTransform gave 0.16886543535620055)."""
    corners = resample.rotated_rect_corners((455.0, 568.5), (1137.0, 1137.0), 0.0)
    target = np.array([[0, 192], [0, 0], [192, 0], [192, 192]], dtype=np.float32)
    matrix = resample.perspective_from_points(corners, target)
    assert matrix[0, 0] == 0.16886543535620055 and matrix[1, 1] == 0.16886543535620052


def test_reduce_box_is_the_area_mean_within_a_few_levels_and_enlarges_as_resize_area():
    rng = np.random.default_rng(3)
    # A smooth picture with some texture: the cut-out models' input from a phone photo.
    ys, xs = np.mgrid[0:300, 0:400]
    smooth = np.stack([xs * 0.5, ys * 0.7, (xs + ys) * 0.3], axis=2)
    image = np.clip(smooth + rng.normal(0, 8, smooth.shape), 0, 255).astype(np.uint8)
    reduced, exact = resample.reduce_box(image, (130, 97)), resample.resize_area(image, (130, 97))
    assert reduced.dtype == np.uint8 and reduced.shape == exact.shape == (97, 130, 3)
    difference = np.abs(reduced.astype(int) - exact.astype(int))
    assert difference.mean() < 1.0 and difference.max() <= 4
    small = image[:50, :60]
    assert np.array_equal(resample.reduce_box(small, (120, 100)), resample.resize_area(small, (120, 100)))
