"""The cut-out's edge steps (providers/localengine/matting.py) on pictures whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2", reason="the photobot[local] extra is not installed")

from providers.localengine import matting

RED, GREEN, GREY = (200.0, 30.0, 30.0), (30.0, 160.0, 40.0), (128.0, 128.0, 128.0)


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red person (left half) in front of a green background, with a green blob the coarse mask
    took for the person just beside the outline."""
    image = np.empty((120, 200, 3), dtype=np.float32)
    image[:, :100] = RED
    image[:, 100:] = GREEN
    alpha = np.zeros((120, 200), dtype=np.float32)
    alpha[:, :100] = 1.0
    alpha[40:80, 100:104] = 1.0  # a strip of background colour the mask kept along the outline
    protected = np.zeros((120, 200), dtype=bool)
    return image, alpha, protected


def test_background_colours_next_to_the_outline_are_taken_out() -> None:
    image, alpha, protected = _scene()
    refined, _doubt = matting.refine_edges(image, alpha, protected)
    assert refined[40:80, 100:104].max() < 0.1
    assert refined[:, :95].min() > 0.99  # the person stays


def test_the_face_is_never_cut() -> None:
    image, alpha, protected = _scene()
    protected[40:80, 100:104] = True
    refined, _doubt = matting.refine_edges(image, alpha, protected)
    assert refined[40:80, 100:104].min() == 1.0


def test_a_kept_blob_of_background_is_doubt_and_a_clean_cut_is_not() -> None:
    image, alpha, protected = _scene()
    assert matting.doubt(image, alpha, protected) > matting.DOUBTFUL
    clean = alpha.copy()
    clean[40:80, 100:104] = 0.0
    assert matting.doubt(image, clean, protected) == 0.0


def test_soft_edges_get_the_persons_colour_not_the_old_backgrounds() -> None:
    image = np.empty((100, 100, 3), dtype=np.float32)
    image[:] = GREEN
    image[:, :50] = RED
    alpha = np.zeros((100, 100), dtype=np.float32)
    alpha[:, :50] = 1.0
    alpha[:, 50:54] = 0.5
    image[:, 50:54] = (np.array(RED) + np.array(GREEN)) / 2  # half red hair over green leaves
    estimate = matting.foreground(image, alpha)
    # The pixels themselves are 85 off red; the estimate is close to the person's colour.
    assert np.abs(estimate[:, 50:54] - np.array(RED)).max() < 25
    assert np.abs(estimate[:, :40] - np.array(RED)).max() < 1


def test_a_faint_haze_of_background_off_the_body_is_taken_out_and_hair_stays() -> None:
    """Beyond the person's body the mask kept a faint haze: one patch in the background's colour
    (a flag beside a cap), one in the person's (a lock of hair). The colour lines alone keep both,
    as no sure part of the person lies within their radius."""
    image = np.empty((240, 240, 3), dtype=np.float32)
    image[:] = GREEN
    image[:, :60] = RED
    alpha = np.zeros((240, 240), dtype=np.float32)
    alpha[:, :60] = 1.0
    alpha[40:80, 70:90] = 0.4  # haze in the background's colour, far from the body
    image[140:180, 70:90] = RED
    alpha[140:180, 70:90] = 0.4  # a faint lock of the person's colour
    refined, _doubt = matting.refine_edges(image, alpha, np.zeros((240, 240), dtype=bool))
    assert refined[40:80, 70:90].max() == 0.0
    assert refined[145:175, 72:88].min() > 0.3
