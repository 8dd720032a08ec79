"""Job options that stand for stored files (a portrait template's picture): the runner turns them
into signed ``/media/`` links when the job is sent, and the media sweep keeps their files while
their jobs need them."""

from __future__ import annotations


def linked(ref: str) -> dict[str, str]:
    """A job option that stands for a stored file: the runner turns it into a signed ``/media/``
    link when the job is sent, and the media sweep keeps the file while the job needs it."""
    return {"media": ref}


def linked_ref(value: object) -> str | None:
    """The stored file a job option stands for (see :func:`linked`), or None."""
    if isinstance(value, dict) and isinstance(value.get("media"), str):
        return value["media"]
    return None
