"""Frozen dataclasses that cross the provider boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

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


@dataclass(frozen=True)
class TaskStatus:
    phase: Phase
    progress: int = 0
    queue_position: int | None = None
    images: tuple[ResultImage, ...] = ()
    error: ProviderError | None = None
    raw_state: int | str | None = None


@dataclass(frozen=True)
class Submission:
    task_id: str
