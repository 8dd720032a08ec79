"""The cut-out's edge steps (providers/localengine/matting.py) on pictures whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numpy", reason="the photobot[local] extra is not installed")

from providers.localengine import matting
from providers.localengine.findings import DOUBTFUL

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
    refined = matting.refine_edges(image, alpha, protected)
    assert refined[40:80, 100:104].max() < 0.1
    assert refined[:, :95].min() > 0.99  # the person stays


def test_the_face_is_never_cut() -> None:
    image, alpha, protected = _scene()
    protected[40:80, 100:104] = True
    refined = matting.refine_edges(image, alpha, protected)
    assert refined[40:80, 100:104].min() == 1.0


def _portrait() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A finished photo on a grey backdrop: a red head (a disc) over red shoulders, the face
    protected, nothing else."""
    yy, xx = np.mgrid[0:300, 0:240]
    alpha = (((xx - 120) ** 2 + (yy - 110) ** 2) < 60**2).astype(np.float32)
    alpha[210:] = 1.0
    backdrop = np.broadcast_to(np.array(GREY, dtype=np.float32), (300, 240, 3))
    protected = ((xx - 120) ** 2 + (yy - 120) ** 2) < 35**2
    return alpha, backdrop, protected


def _finished(alpha: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    finished: np.ndarray = np.array(RED, dtype=np.float32) * alpha[..., None] + backdrop * (1 - alpha[..., None])
    return finished


def test_a_blob_beside_the_head_is_doubt_and_a_clean_portrait_is_not() -> None:
    alpha, backdrop, protected = _portrait()
    assert matting.doubt(_finished(alpha, backdrop), backdrop, alpha, protected) == 0.0
    kept = alpha.copy()
    kept[100:106, 175:215] = 1.0  # a streak of the old background the mask kept beside the head
    kept[20:60, 60:64] = 1.0  # a thin lock standing out
    share = matting.doubt(_finished(kept, backdrop), backdrop, kept, protected)
    assert share > DOUBTFUL
    # A blob wider than the outline's scale joined to the head is taken for its outline: the
    # colour steps are what take such blobs out.
    wide = alpha.copy()
    wide[90:130, 175:215] = 1.0
    assert matting.doubt(_finished(wide, backdrop), backdrop, wide, protected) < DOUBTFUL


def test_a_faint_haze_shows_only_where_it_differs_from_the_new_background() -> None:
    alpha, backdrop, protected = _portrait()
    finished = _finished(alpha, backdrop)
    finished[90:130, 185:215] = np.array(GREY) + 10  # a faint haze, hardly off the backdrop
    assert matting.doubt(finished, backdrop, alpha, protected) == 0.0
    finished[90:130, 185:215] = GREEN  # the same haze, seen
    assert matting.doubt(finished, backdrop, alpha, protected) > DOUBTFUL


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
    refined = matting.refine_edges(image, alpha, np.zeros((240, 240), dtype=bool))
    assert refined[40:80, 70:90].max() == 0.0
    assert refined[145:175, 72:88].min() > 0.3


def test_a_soft_edge_the_mask_calls_too_solid_takes_the_colour_from_inside() -> None:
    """White hair in front of a black hall, as wide as a passport photo, whose thin outer strands
    the mask calls 0.6 person though they are half hall: their colour comes from the white hair
    next to them, not from themselves (a dark fringe on the new background)."""
    white, black = np.array((235.0, 235.0, 230.0)), np.array((10.0, 10.0, 12.0))
    image = np.empty((60, 400, 3), dtype=np.float32)
    image[:] = black
    image[:, :200] = white
    image[:, 200:204] = (white + black) / 2
    alpha = np.zeros((60, 400), dtype=np.float32)
    alpha[:, :200] = 1.0
    alpha[:, 200:204] = 0.6
    estimate = matting.foreground(image, alpha)
    assert np.abs(estimate[:, 200:204] - white).max() < 12
    assert np.abs(estimate[:, :190] - white).max() < 1


def test_an_unsure_plateau_below_the_chin_is_made_person_or_background_and_soft_edges_stay() -> None:
    # A person (left) with a soft edge; below the chin (row 100) a wide band the models were unsure
    # of, mostly kept (0.7) on the left and mostly dropped (0.3) on the right; above it the same band.
    alpha = np.zeros((200, 240), dtype=np.float32)
    alpha[:, :100] = 1.0
    alpha[:, 100:106] = np.linspace(0.9, 0.15, 6)  # a soft edge, six pixels wide
    alpha[:, 120:160] = 0.7
    alpha[:, 170:210] = 0.3
    settled = matting.settle_below(alpha, chin_row=100)
    assert (settled[110:, 125:155] == 1.0).all()
    assert (settled[110:, 175:205] == 0.0).all()
    np.testing.assert_array_equal(settled[:, :110], alpha[:, :110])  # the soft edge and the person stay
    np.testing.assert_array_equal(settled[:100], alpha[:100])  # above the chin, hair may be see-through


def test_a_flyaway_strand_is_taken_away_and_locks_and_the_face_stay() -> None:
    alpha, _, protected = _portrait()  # 240 wide: a strand is about a pixel
    alpha[20:50, 150] = 1.0  # a lone hair standing 30 pixels off the head
    alpha[30:52, 60:72] = 1.0  # a lock of hair, twelve pixels thick
    alpha[100:103, 30:60] = 0.8  # a thin line off the face's side, in the protected face
    protected[100:103, 30:60] = True
    tidied = matting.tidy(alpha, protected)
    assert tidied[20:40, 150].max() == 0.0
    np.testing.assert_array_equal(tidied[30:52, 60:72], alpha[30:52, 60:72])
    np.testing.assert_array_equal(tidied[100:103, 30:60], alpha[100:103, 30:60])
    assert (tidied[210:] == 1.0).all()  # the shoulders


def test_a_small_piece_apart_from_the_person_is_taken_away_with_its_soft_edge() -> None:
    alpha, _, protected = _portrait()  # the head (11,300 pixels) stands apart from the shoulders;
    # a piece under a fiftieth of it (226 pixels) is taken away
    alpha[180:188, 20:28] = 1.0  # a piece of trim left floating beside the neck
    alpha[177:191, 17:31] = np.maximum(alpha[177:191, 17:31], 0.3)  # its soft edge: 196 pixels in all
    alpha[199:207, 100:108] = 1.0  # another, 3 pixels above the shoulders: none of it may stay
    alpha[44:52, 116:124] = 1.0  # a curl joined to the head's top
    alpha[105:115, 185:197] = 1.0  # a lock beside the head (120 pixels), joined to it only by a wisp
    alpha[110, 180:185] = 0.1
    dropped = matting.drop_apart(alpha, protected)
    assert dropped[170:200, 10:40].max() == 0.0
    assert dropped[199:207, 100:108].max() == 0.0
    np.testing.assert_array_equal(dropped[:170], alpha[:170])  # the head, its curl and its lock
    assert (dropped[210:] == 1.0).all()  # the shoulders: apart from the face, but far larger
    clean, _, protected = _portrait()
    assert matting.drop_apart(clean, protected) is clean


@pytest.mark.parametrize(
    ("hair", "wall", "taken"), [((20.0, 20.0, 20.0), (235.0, 225.0, 200.0), True), (GREY, (200.0, 195.0, 185.0), False)]
)
def test_around_the_face_the_old_background_goes_only_where_the_colours_are_far_apart(hair, wall, taken) -> None:
    # Hair (left half) beside a wall, a patch of the wall between the locks that the mask kept, all
    # of it in the ring around the face; the face's own outline over the patch's lower half.
    image = np.empty((240, 400, 3), dtype=np.float32)
    image[:, :200] = hair
    image[:, 200:] = wall
    image[80:160, 194:200] = wall  # the wall seen between the locks
    alpha = np.zeros((240, 400), dtype=np.float32)
    alpha[:, :200] = 1.0
    protected = np.zeros((240, 400), dtype=bool)
    protected[:, 120:280] = True
    face = np.zeros((240, 400), dtype=bool)
    face[120:, 120:280] = True
    refined = matting.refine_edges(image, alpha, protected, ring=protected & ~face)
    assert bool(refined[84:116, 195:200].max() < 0.1) is taken
    np.testing.assert_array_equal(refined[120:], alpha[120:])  # the face never changes
    assert refined[:, :180].min() == 1.0


def test_below_the_chin_only_what_is_nearly_the_backgrounds_colour_goes() -> None:
    # A person of one colour on the left, a dark hall on the right; along the outline a band the
    # colour lines read as 0.6 of the person (skin in shadow reads so against a dark hall), and a
    # strip of the hall the mask kept. Above the chin (hair may be see-through) the band is lowered
    # to what its colour says; below it (a body) the band stays, and the strip of hall still goes.
    skin, hall = np.array([220.0, 180.0, 140.0]), np.array([40.0, 44.0, 50.0])
    image = np.empty((120, 200, 3), dtype=np.float32)
    image[:, :100] = skin
    image[:, 100:] = hall
    image[:, 92:100] = 0.6 * skin + 0.4 * hall
    alpha = np.zeros((120, 200), dtype=np.float32)
    alpha[:, :100] = 1.0
    alpha[80:100, 100:104] = 1.0
    protected = np.zeros((120, 200), dtype=bool)
    refined = matting.refine_edges(image, alpha, protected, chin_row=60)
    assert refined[10:50, 92:100].max() < 0.8  # above the chin: lowered as its colour says
    assert refined[60:120, 92:100].min() == 1.0  # below it: the body stays whole
    assert refined[80:100, 100:104].max() < 0.1  # the hall kept beside the body still goes
    assert refined[:, :90].min() == 1.0


NAVY = (20.0, 25.0, 60.0)
#: The synthetic body's face: its centre column and width (the body is 3.6 face widths wide).
FACE = (150.0, 50.0)


def _body_in_foliage(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A navy body (columns 60-240, from row 40 down) in front of foliage (noisy greens and greys),
    the whole mask sure; the chin at row 40."""
    rng = np.random.default_rng(seed)
    image = np.empty((240, 300, 3), dtype=np.float32)
    image[:] = rng.uniform((20, 60, 20), (140, 190, 120), size=(240, 300, 3))
    image[40:, 60:240] = NAVY
    alpha = np.zeros((240, 300), dtype=np.float32)
    alpha[40:, 60:240] = 1.0
    return image, alpha, np.zeros((240, 300), dtype=bool), np.zeros((240, 300), dtype=bool)


def test_foliage_kept_between_arm_and_chest_is_a_pocket() -> None:
    image, alpha, protected, below = _body_in_foliage()
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0
    # The models kept a patch of the foliage inside the body's outline (a gap under the arm).
    pocket = np.zeros((240, 300), dtype=bool)
    pocket[180:240, 80:110] = True
    image[pocket] = np.random.default_rng(1).uniform((20, 60, 20), (140, 190, 120), size=(int(pocket.sum()), 3))
    share = matting.pockets(image, alpha, protected, below, 40, FACE)
    # Most of it: colours as rare behind as inside (a bin at the range's edge) fall out, and the
    # parts too thin to be kept around them.
    assert 0.6 * pocket.mean() < share <= pocket.mean()
    # Above the chin (hair, which may be any colour) nothing is read as a pocket.
    assert matting.pockets(image, alpha, protected, below, 239, FACE) == 0.0


def test_a_pocket_large_against_the_body_is_judged_without_its_own_colours() -> None:
    """About a tenth of the person's inside, open to the side: its own pixels make its colours common
    enough inside the person that against the whole person it would pass for the person (the first
    version measured 0 here)."""
    image, alpha, protected, below = _body_in_foliage()
    pocket = np.zeros((240, 300), dtype=bool)
    pocket[130:190, 185:240] = True  # reaching the body's right side
    image[pocket] = np.random.default_rng(1).uniform((20, 60, 20), (140, 190, 120), size=(int(pocket.sum()), 3))
    inside = alpha.astype(bool).sum()
    assert 0.08 < pocket.sum() / inside < matting.POCKET_LARGEST
    share = matting.pockets(image, alpha, protected, below, 40, FACE)
    assert 0.6 * pocket.mean() < share <= pocket.mean()


def test_a_panel_of_the_clothes_in_the_backgrounds_colours_is_not_a_pocket() -> None:
    """A panel on the navy body in the foliage's colours, well inside its outline: its colours are
    the background's, but the models' outline did not swallow it (it is open to nothing outside)."""
    image, alpha, protected, below = _body_in_foliage()
    foliage = np.random.default_rng(3).uniform((20, 60, 20), (140, 190, 120), size=(35, 120, 3))
    image[120:155, 185:205] = foliage[:, :20]
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0
    # The same let into the body from its side is old background.
    image[120:155, 205:240] = foliage[:, 20:55]
    assert matting.pockets(image, alpha, protected, below, 40, FACE) > 0.6 * 35 * 55 / alpha.size


def test_a_garment_of_one_colour_is_not_a_pocket() -> None:
    """A black shoulder in front of a black curtain beside the foliage: open to the outside and in a
    colour of the background's, but of one colour, as clothes are."""
    image, alpha, protected, below = _body_in_foliage()
    image[:, 250:] = (10.0, 10.0, 12.0)  # a black curtain beside the foliage
    image[180:240, 210:240] = (10.0, 10.0, 12.0)  # the jacket's side, down to the frame's bottom
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0


def test_only_the_largest_parts_are_judged_and_too_little_background_reads_nothing(monkeypatch) -> None:
    image, alpha, protected, below = _body_in_foliage()
    foliage = np.random.default_rng(1)
    sizes = ((180, 240, 70, 100), (200, 240, 120, 142), (216, 240, 200, 216))  # 30x60, 22x40, 16x24
    for top, bottom, left, right in sizes:
        image[top:bottom, left:right] = foliage.uniform(
            (20, 60, 20), (140, 190, 120), size=(bottom - top, right - left, 3)
        )
    every = matting.pockets(image, alpha, protected, below, 40, FACE)
    monkeypatch.setattr(matting, "POCKET_PARTS", 2)
    largest_two = matting.pockets(image, alpha, protected, below, 40, FACE)
    assert 0 < largest_two < every
    assert every - largest_two <= 16 * 24 / alpha.size  # the smallest part, left
    # The same with the background unsure but for a corner of 81 pixels: too little to read its
    # colours from (those 81 alone would make the pockets old background).
    alpha[alpha == 0.0] = 0.5
    alpha[:9, :9] = 0.0
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0


def test_the_middle_of_the_chest_is_never_a_pocket() -> None:
    """A shirt front the colour of the background (white in front of a white wall, black in front of
    a dark curtain) fills the middle of the chest, open to the frame's bottom: no background shows
    there in a frontal portrait. The same patch beside the chest, under the arm, is a pocket."""
    image, alpha, protected, below = _body_in_foliage()
    foliage = np.random.default_rng(1).uniform((20, 60, 20), (140, 190, 120), size=(60, 40, 3))
    image[180:240, 130:170] = foliage  # its middle on the face's centre line
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0
    image, alpha, protected, below = _body_in_foliage()
    image[180:240, 175:215] = foliage  # its middle 45 px, 0.9 face widths, out
    assert matting.pockets(image, alpha, protected, below, 40, FACE) > 0.6 * 60 * 40 / alpha.size


def test_pinstripes_and_the_persons_own_colours_are_not_pockets() -> None:
    image, alpha, protected, below = _body_in_foliage()
    # Thin stripes in the foliage's colours down the suit (a trim, a pinstripe in front of leaves).
    image[40:, 60:240:12] = np.random.default_rng(2).uniform((20, 60, 20), (140, 190, 120), size=(200, 15, 3))
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0
    image, alpha, protected, below = _body_in_foliage()
    image[150:240, 150:240] = (30.0, 150.0, 40.0)  # a green shirt: as common in the person as behind
    image[0:40, :] = (30.0, 150.0, 40.0)
    image[40:, 240:] = (30.0, 150.0, 40.0)
    assert matting.pockets(image, alpha, protected, below, 40, FACE) == 0.0
