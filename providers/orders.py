"""What a provider is asked to make: one typed order per kind of work.

A service's dialog builds its order, which is validated then; the job row stores it as JSON, and
the provider gets it back as the same model. One model per kind of work, whichever provider does
it: PicWish and the local engine both take :class:`IdPhotoOrder`. Fields the provider does not
send (a colour's name, a style's id) are the bot's, for the summary and re-edits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: A colour as six hex digits, without "#".
HexColour = Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{6}$")]
#: A colour as "R,G,B" (Hili's form).
RgbColour = Annotated[str, Field(pattern=r"^\d{1,3},\d{1,3},\d{1,3}$")]


class Order(BaseModel):
    """Base of every order: immutable, checked when built and when read back from a job row."""

    # Rows written by an older version may carry a key no longer used; reading them must not fail.
    model_config = ConfigDict(frozen=True, extra="ignore")


class IdPhotoOption(StrEnum):
    """The optional parts of an ID-photo order a provider may declare it makes (its ``features``),
    in the order the dialog lists them; each name is also its toggle's button data and text key."""

    BEAUTY = "beauty"
    SHARPEN = "sharpen"
    THIN_FACE = "thin_face"
    OUTFIT = "outfit"
    LAYOUT = "layout"
    SHEET_VERTICAL = "sheet_vertical"
    SHEET_WHITE = "sheet_white"
    PREVIEW = "preview"
    GRADIENT = "gradient"
    #: Not a toggle: a size the person types (a spec with ``custom`` sizes).
    CUSTOM_SIZE = "custom_size"


class IdPhotoOrder(Order):
    """An ID photo of one spec (PicWish's create fields; the local engine reads the same ones)."""

    #: The catalog's spec. A custom size is sent to PicWish by its millimetres, without it.
    spec_id: int = Field(ge=0)
    px_width: int = Field(gt=0)
    px_height: int = Field(gt=0)
    dpi: int = Field(gt=0)
    #: A size the user typed (PicWish: "<180mm"); ``px_width``/``px_height`` are it at ``dpi``.
    mm_width: int | None = Field(default=None, gt=0, lt=180)
    mm_height: int | None = Field(default=None, gt=0, lt=180)
    bg_color: HexColour = "FFFFFF"
    #: What the user picked ("white", or "#1A2B3C" for a typed colour), for the summary.
    color_name: str = "white"
    #: Bottom colour of a top-to-bottom gradient background.
    bg_color2: HexColour | None = None
    beauty: bool = False
    #: Beauty's sub-options: sharpening, and slimming the face (gently: it must stay a likeness).
    sharpen: bool = False
    thin_face: bool = False
    clothes_id: Annotated[str, Field(pattern=r"^[a-z]+_\d{1,3}$")] | None = None
    layout_size: str | None = None
    #: The print sheet's refinements: photos in a column, and its canvas colour (PicWish's is grey).
    layout_vertical: bool = False
    layout_bg_color: HexColour | None = None
    #: A free watermarked preview: PicWish's; or the local engine's, made however doubtful its
    #: cut-out (the person sees its checklist and decides).
    preview: bool = False
    #: PicWish re-renders a finished photo from its image id, without a new upload.
    last_id: str | None = None
    #: The local engine's preview job this order buys: its input is that job's finished photo,
    #: which the local engine delivers as it is instead of making it again.
    from_preview: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    #: Another size of a photo whose local preview the person saw, with its checklist, and bought:
    #: the local engine makes it however doubtful its cut-out (the same cut-out they accepted),
    #: where an order without a preview would be refused.
    cutout_accepted: bool = False

    @model_validator(mode="after")
    def _both_sides(self) -> IdPhotoOrder:
        if (self.mm_width is None) != (self.mm_height is None):
            raise ValueError("mm_width and mm_height go together")
        return self


class AnimeOrder(Order):
    style: str
    busi_id: str = ""
    layout: Literal["anime", "side_by_side"] = "anime"
    orientation: Literal["vertical", "horizontal"] = "vertical"


class PortraitOrder(Order):
    template: str
    #: The template photo: its URL, or (as the bot stores it) a stored file, ``{"media": ref}``, which
    #: the bot turns into a signed link before the provider gets the order.
    target_url: str | dict[str, str]


class RepairOrder(Order):
    #: One of the provider's ``catalogs["repair_modes"]``.
    mode: str
    #: New background colour, for the "background" mode.
    rgb: RgbColour | None = None


class EnhanceOrder(Order):
    #: The configured enhance type's id, and the provider's type number it stands for.
    enhance: str
    type: int
    #: What the finished task's ``facelist`` holds (document 003): face close-ups beside the whole
    #: enhanced image ("image"), or, for Colorize, the output images themselves ("list").
    outputs: Literal["image", "list"] = "image"
