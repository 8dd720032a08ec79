"""Frozen dataclasses that cross the provider boundary."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from providers.errors import ProviderError


class Phase(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class ResultImage:
    """One output: a URL to fetch, or the bytes themselves when the provider inlines them."""

    url: str | None = None
    data: bytes | None = None
    image_id: str | None = None
    #: A by-product beside the main result (a face close-up of an enhanced photo): delivered as a
    #: file after it.
    extra: bool = False
    #: ID photos: the placement rule applied and where the head landed, as shares of the photo
    #: ({"rule": id, "shares": {...}}, see providers/placement.py).
    placement: dict[str, Any] | None = None


@dataclass(frozen=True)
class TaskStatus:
    phase: Phase
    progress: int = 0
    queue_position: int | None = None
    images: tuple[ResultImage, ...] = ()
    error: ProviderError | None = None
    raw_state: int | str | None = None
    #: Links to videos made beside the images (QQ's transformation video), offered, not delivered.
    videos: tuple[str, ...] = ()
    #: A free preview whose exact file the provider keeps to be bought as it is (the local
    #: engine's): the bot shows it reduced and watermarked and never hands the file out before.
    kept_preview: bool = False


@dataclass(frozen=True)
class Submission:
    task_id: str
    #: Synchronous providers answer with the finished task right away; a queue may answer with
    #: the task's place in it (a pending status), shown to the user at once.
    status: TaskStatus | None = None


@dataclass(frozen=True)
class InputImage:
    """The user's photo as a provider takes it: the bytes, or a short-lived link to them."""

    data: bytes | None = None
    url: str | None = None


@dataclass(frozen=True)
class InputLimits:
    """What a provider takes as input, from its document."""

    #: The longest side it takes: a larger photo is scaled down to it before it is sent.
    max_side: int | None = None
    #: The shortest side it accepts: a smaller photo is refused before anything is charged.
    min_side: int | None = None
    max_bytes: int | None = None
    #: The image formats it takes, by Pillow's names. The bot stores every photo as JPEG, which
    #: every provider takes (tests/unit/test_structure.py checks it).
    formats: frozenset[str] = frozenset({"JPEG"})


@dataclass(frozen=True)
class CallbackAnswer:
    """What a provider expects our callback receiver to answer."""

    status: int = 200
    body: bytes = b'{"ok": true}'
    content_type: str = "application/json"
