"""The real-photo benchmark's catalogue (bench/real_photos.py): every photo named once across the
tuned, the held-out and the fresh set, pinned by a hash, and labelled with the vocabulary the benchmark
counts."""

from __future__ import annotations

import re

from bench.real_photos import EXPECTATIONS, FRESH, HELD_OUT, PHOTOS


def test_every_photo_is_named_once_pinned_and_labelled() -> None:
    photos = PHOTOS + HELD_OUT + FRESH
    assert len({photo.name for photo in photos}) == len(photos)
    assert len({(photo.source, photo.member) for photo in photos}) == len(photos)
    assert len({photo.sha256 for photo in photos}) == len(photos)
    for photo in photos:
        assert re.fullmatch(r"[0-9a-f]{64}", photo.sha256), photo.name
        assert photo.expect in EXPECTATIONS, photo.name
        assert photo.background in ("plain", "busy"), photo.name
        assert isinstance(photo.scene, tuple) and isinstance(photo.traits, tuple), photo.name
        assert bool(photo.scene) == (photo.background == "busy") or photo.expect == "several_faces", photo.name
