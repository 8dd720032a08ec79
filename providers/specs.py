"""The ID photo spec catalog (``data/idphoto_specs.yaml``), shared by every ID photo provider."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from providers import yamltext
from providers.placement import PlacementRule, load_rules
from providers.spec_search import SpecIndex, entry

if TYPE_CHECKING:
    # pydantic (a tenth of a second to import) is not needed to read the catalog: `photobot idphoto`.
    from providers.orders import IdPhotoOrder

MM_PER_INCH = 25.4
#: Why a typed custom size is refused: a side out of range, or a frame too narrow or too wide.
SizeProblem = Literal["range", "ratio"]


@dataclass(frozen=True)
class CustomSize:
    """What a typed size may be (the catalog's ``custom`` bounds), and the pixels it makes."""

    min_mm: int
    max_mm: int
    #: The largest side in pixels the provider makes; a large print gets a lower DPI to stay below.
    max_px: int
    #: Width over height.
    min_ratio: float
    max_ratio: float

    def problem(self, width_mm: int, height_mm: int) -> SizeProblem | None:
        if not all(self.min_mm <= side <= self.max_mm for side in (width_mm, height_mm)):
            return "range"
        if not self.min_ratio <= width_mm / height_mm <= self.max_ratio:
            return "ratio"
        return None

    def pixels(self, width_mm: int, height_mm: int, dpi: int) -> tuple[tuple[int, int], int]:
        """The size in pixels and the DPI that make a print of this size: ``dpi``, or less where
        the longer side would otherwise reach ``max_px``."""
        dpi = min(dpi, math.floor(self.max_px * MM_PER_INCH / max(width_mm, height_mm)))
        return (round(width_mm * dpi / MM_PER_INCH), round(height_mm * dpi / MM_PER_INCH)), dpi


@dataclass(frozen=True)
class Spec:
    spec_id: int
    category: str
    title: str
    mm: tuple[int, int]
    px: tuple[int, int]
    dpi: int
    #: Colour names the spec allows; None means "No requirement".
    colors: tuple[str, ...] | None
    #: Where the head goes (the rule of the spec's authority, or the one it falls back to).
    rule: PlacementRule
    #: No authoritative geometry is known for this spec: ``rule`` is another authority's.
    fallback: bool = False
    #: The user types the size (within these bounds); ``mm``, ``px`` and ``dpi`` are an example.
    custom: CustomSize | None = None
    #: Language code -> the spec's name there (``title`` is the English one).
    names: Mapping[str, str] = field(default_factory=dict)
    #: Other words people find it by (``idphoto_spec_names.yaml``).
    also: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        """The spec's name in ``lang``; file names use :attr:`slug`, which stays ASCII."""
        return self.names.get(lang) or self.title

    def sized(self, width_mm: int, height_mm: int) -> Spec:
        """This custom spec at a typed size (already checked against its bounds)."""
        assert self.custom is not None
        px, dpi = self.custom.pixels(width_mm, height_mm, self.dpi)
        return replace(self, mm=(width_mm, height_mm), px=px, dpi=dpi)

    @property
    def slug(self) -> str:
        """The title for a file name; a custom size's with its millimetres ("custom-size-40x60mm")."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")
        return f"{slug}-{self.mm[0]}x{self.mm[1]}mm" if self.custom is not None else slug


@dataclass(frozen=True)
class SpecCatalog:
    specs: tuple[Spec, ...]
    #: Colour name -> hex RRGGBB.
    palette: dict[str, str]
    #: Category -> language code -> its name there.
    category_names: Mapping[str, Mapping[str, str]]
    index: SpecIndex

    @property
    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for spec in self.specs:
            seen.setdefault(spec.category)
        return list(seen)

    def category_name(self, category: str, lang: str) -> str:
        names = self.category_names.get(category, {})
        return names.get(lang) or names.get("en") or category

    def in_category(self, category: str) -> list[Spec]:
        return [s for s in self.specs if s.category == category]

    @property
    def documented(self) -> tuple[Spec, ...]:
        """The provider document's specs (every one but the custom size)."""
        return tuple(s for s in self.specs if s.custom is None)

    def get(self, spec_id: int) -> Spec | None:
        return next((s for s in self.specs if s.spec_id == spec_id), None)

    def for_order(self, order: IdPhotoOrder) -> Spec | None:
        """The order's spec as made: a custom one at the order's size."""
        spec = self.get(order.spec_id)
        if spec is None or spec.custom is None or order.mm_width is None or order.mm_height is None:
            return spec
        return replace(spec, mm=(order.mm_width, order.mm_height), px=(order.px_width, order.px_height), dpi=order.dpi)

    def search(self, text: str) -> list[Spec]:
        """Specs for what a user typed, best first (``providers/spec_search.py``)."""
        found = (self.get(spec_id) for spec_id in self.index.search(text))
        return [spec for spec in found if spec is not None]


def _data(name: str) -> Any:
    return yamltext.parse((resources.files("providers.data") / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_catalog() -> SpecCatalog:
    raw = _data("idphoto_specs.yaml")
    named = _data("idphoto_spec_names.yaml")
    rules = load_rules()
    specs = tuple(
        Spec(
            spec_id=int(row["spec_id"]),
            category=str(row["category"]),
            title=str(row["title"]),
            mm=(int(row["mm"][0]), int(row["mm"][1])),
            px=(int(row["px"][0]), int(row["px"][1])),
            dpi=int(row["dpi"]),
            colors=tuple(row["colors"]) if row["colors"] is not None else None,
            rule=rules[str(row["rule"])],
            fallback=bool(row.get("fallback", False)),
            custom=CustomSize(**row["custom"]) if row.get("custom") else None,
            names={"en": str(row["title"]), "zh-Hans": str(named["specs"][row["spec_id"]]["zh-Hans"])},
            also=tuple(str(word) for word in named["specs"][row["spec_id"]].get("also", ())),
        )
        for row in raw["specs"]
    )
    categories = {str(k): {str(lang): str(n) for lang, n in v.items()} for k, v in named["categories"].items()}
    index = SpecIndex(
        [
            entry(
                spec,
                spec.names.values(),
                spec.also,
                [spec.category, *categories.get(spec.category, {}).values()],
                sized=spec.custom is None,
            )
            for spec in specs
        ]
    )
    return SpecCatalog(
        specs=specs,
        palette={k: str(v).upper() for k, v in raw["colors"].items()},
        category_names=categories,
        index=index,
    )
