"""What the ID-photo dialog keeps in the user's session between steps (its ``ServiceState``): the
draft being put together, the spec list on screen and the custom spec whose size is being typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from bot.domain.session import ServiceState
from providers.orders import IdPhotoOrder


class IdPhotoDraft(BaseModel):
    """The ID photo being put together: its order so far and the photo it is made from."""

    order: IdPhotoOrder
    input_ref: str | None = None
    #: Re-renders of a finished photo skip the options step.
    rerender: bool = False
    #: Another size for the order on the summary with this nonce (``PendingOrder.extras``:
    #: sizes.py): its colour chosen, it joins that order instead of becoming one.
    extra_for: str | None = None

    def change(self, **fields: object) -> None:
        """The order with ``fields`` changed, validated again."""
        self.order = IdPhotoOrder.model_validate({**self.order.model_dump(), **fields})


class SpecList(BaseModel):
    """Where the spec list on screen came from: a category of the catalog (its index), or a
    search (its text)."""

    model_config = ConfigDict(frozen=True)

    category: int | None = None
    query: str = ""


class IdPhotoState(ServiceState):
    """The ID-photo dialog's part of the session (``Service.state_model``); a new photo and /cancel
    drop its draft, a menu timing out all of it."""

    draft: IdPhotoDraft | None = None
    #: The category or search behind the spec list on screen.
    spec_list: SpecList | None = None
    #: The custom spec whose size the user is typing.
    sizing_spec: int | None = None

    @field_validator("spec_list", mode="before")
    @classmethod
    def _older_spec_list(cls, value: object) -> object:
        """Also the "cat:3" / "q:text" of sessions kept before the list was a mapping."""
        if not isinstance(value, str):
            return value
        if value.startswith("cat:"):
            return {"category": int(value[4:])}
        return {"query": value[2:]} if value.startswith("q:") else None

    @classmethod
    def from_old_session(cls, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """The draft, the spec list (once named ``spec_source``) and the custom spec at the top
        level of the session."""
        fields = {
            "draft": data.get("draft"),
            "spec_list": data.get("spec_list") or data.get("spec_source"),
            "sizing_spec": data.get("sizing_spec"),
        }
        return fields if any(value is not None for value in fields.values()) else None

    @property
    def drafting(self) -> bool:
        return self.draft is not None

    def drop_draft(self) -> None:
        self.draft = None
