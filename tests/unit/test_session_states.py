"""Each service keeps its own dialog state in the session (``ServiceState``, declared by the
service): kept and read back through the registry, cleared without the shared session naming a
field of any service, and sessions kept in the shape before still read."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from bot.domain.session import InputPhoto, PendingOrder, Session
from bot.services import registry
from bot.services.anime import AnimeState
from bot.services.idphoto.state import IdPhotoDraft, IdPhotoState, SpecList
from bot.telegram.persistence import decode, encode
from providers.orders import AnimeOrder, IdPhotoOrder

ORDERS, STATES = registry.order_models(), registry.state_models()
USA_VISA = IdPhotoOrder(spec_id=3108, px_width=602, px_height=602, dpi=300, color_name="white", bg_color="FFFFFF")

#: A row as the version before wrote it: the ID photo's draft, spec list and custom spec and the
#: anime style at the session's top level.
OLD_ROW = (
    '{"lang":"zh-Hans","photo":{"ref":"inputs/ab.jpg","width":800,"height":1000,"face":null},'
    '"draft":{"order":{"spec_id":3108,"px_width":602,"px_height":602,"dpi":300,"mm_width":null,'
    '"mm_height":null,"bg_color":"FFFFFF","color_name":"white","bg_color2":null,"beauty":false,'
    '"sharpen":false,"thin_face":false,"clothes_id":null,"layout_size":null,"layout_vertical":false,'
    '"layout_bg_color":null,"preview":false,"last_id":null,"from_preview":null},'
    '"input_ref":"inputs/ab.jpg","rerender":false},"order":null,"spec_list":{"category":2},'
    '"sizing_spec":null,"anime_style":"manga","pending_refund":null}'
)


def test_the_services_that_keep_a_state_declare_it_and_the_session_names_none_of_their_fields():
    assert STATES["idphoto"] is IdPhotoState and STATES["anime"] is AnimeState
    assert set(STATES) <= set(registry.BY_NAME)
    shared = set(Session.__dataclass_fields__)
    # What was sent (one photo, or an album of them) is the session's, whichever service uses it.
    assert shared == {"lang", "photo", "album", "order", "services", "pending_refund", "touched"}
    assert not shared & {name for model in STATES.values() for name in model.model_fields}


def test_a_session_kept_in_the_old_shape_reads_into_the_services_states():
    session = decode(OLD_ROW, ORDERS, STATES)
    assert session.lang == "zh-Hans" and session.photo is not None and session.photo.ref == "inputs/ab.jpg"
    assert session.services == {
        "idphoto": IdPhotoState(
            draft=IdPhotoDraft(order=USA_VISA, input_ref="inputs/ab.jpg"), spec_list=SpecList(category=2)
        ),
        "anime": AnimeState(style="manga"),
    }
    # Written back in the new shape, it reads the same.
    again = json.loads(encode(session))
    assert "draft" not in again and "anime_style" not in again and set(again["services"]) == {"idphoto", "anime"}
    assert decode(encode(session), ORDERS, STATES).services == session.services


@pytest.mark.parametrize(
    ("kept", "state"),
    [
        ({"spec_source": "cat:3"}, IdPhotoState(spec_list=SpecList(category=3))),
        ({"spec_source": "q:visa"}, IdPhotoState(spec_list=SpecList(query="visa"))),
        ({"spec_list": {"query": "visa"}}, IdPhotoState(spec_list=SpecList(query="visa"))),
        ({"sizing_spec": 9001, "anime_style": ""}, IdPhotoState(sizing_spec=9001)),
        ({"spec_list": None, "sizing_spec": None, "draft": None, "anime_style": ""}, None),
    ],
)
def test_older_forms_of_the_id_photo_fields_still_read(kept, state):
    session = decode(json.dumps({"lang": "en", **kept}), ORDERS, STATES)
    assert session.services == ({"idphoto": state} if state is not None else {})


def test_a_state_that_no_longer_fits_fails_to_read_and_one_of_a_service_gone_is_dropped():
    """The first raises, so persistence drops the row as it drops one whose order no longer reads."""
    row = json.loads(OLD_ROW)
    row["draft"]["order"]["px_width"] = 0
    with pytest.raises(ValidationError, match=r"draft\.order\.px_width"):
        decode(json.dumps(row), ORDERS, STATES)
    gone = {"lang": "en", "services": {"retired": {"style": "pencil"}, "anime": {"style": "anime"}}}
    assert decode(json.dumps(gone), ORDERS, STATES).services == {"anime": AnimeState(style="anime")}


def _putting_together() -> Session:
    session = Session(photo=InputPhoto("inputs/ab.jpg", 800, 1000))
    idphoto = session.state("idphoto", IdPhotoState)
    idphoto.draft, idphoto.spec_list, idphoto.sizing_spec = IdPhotoDraft(order=USA_VISA), SpecList(category=2), 9001
    session.state("anime", AnimeState).style = "manga"
    session.order = PendingOrder("anime", AnimeOrder(style="manga", busi_id="x", layout="anime"), "inputs/ab.jpg")
    return session


def test_a_new_photo_or_cancel_drops_the_drafts_and_a_menu_timing_out_every_choice():
    session = _putting_together()
    assert session.drafting
    session.drop_drafts()  # as before: only the draft and the summary's order go
    assert session.order is None and not session.drafting
    assert session.services == {
        "idphoto": IdPhotoState(spec_list=SpecList(category=2), sizing_spec=9001),
        "anime": AnimeState(style="manga"),
    }
    session.services.pop("anime")  # a dialog timing out: its own state goes
    assert session.state("anime", AnimeState) == AnimeState()  # made anew on first use


def test_an_album_and_its_order_are_kept_and_read_back():
    from bot.domain.session import Album, AlbumPhoto, ExtraOrder
    from providers.localengine.findings import FaceFindings

    session = Session(lang="en")
    checked = InputPhoto("inputs/a.jpg", 800, 1000, FaceFindings(mouth="apart"))
    session.album = Album("13001", [AlbumPhoto(1, checked), AlbumPhoto(2, refusal="album.not_a_photo")])
    state = session.state("idphoto", IdPhotoState)
    state.draft = IdPhotoDraft(order=USA_VISA, album="13001")
    photos = [USA_VISA.model_copy(update={"album_photo": n}) for n in (1, 3)]
    session.order = PendingOrder(
        "idphoto", photos[0], "inputs/a.jpg", extras=[ExtraOrder(photos[1], "inputs/c.jpg")], album=True, notes="x"
    )
    again = decode(encode(session), ORDERS, STATES)
    assert again.album == session.album and again.album.refs() == ["inputs/a.jpg"]
    assert again.album.photos[0].photo.face == FaceFindings(mouth="apart")
    assert again.order == session.order and again.order.album and again.order.notes == "x"
    assert again.state("idphoto", IdPhotoState).draft.album == "13001"
    assert again.unordered_refs() == ["inputs/a.jpg"]
    # Kept before albums: none.
    assert decode(OLD_ROW, ORDERS, STATES).album is None
