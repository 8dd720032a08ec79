"""The ID photo spec catalog (``data/idphoto_specs.yaml``), shared by every ID photo provider."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from providers.placement import PlacementRule, load_rules


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

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass(frozen=True)
class SpecCatalog:
    specs: tuple[Spec, ...]
    #: Colour name -> hex RRGGBB.
    palette: dict[str, str]

    @property
    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for spec in self.specs:
            seen.setdefault(spec.category)
        return list(seen)

    def in_category(self, category: str) -> list[Spec]:
        return [s for s in self.specs if s.category == category]

    def get(self, spec_id: int) -> Spec | None:
        return next((s for s in self.specs if s.spec_id == spec_id), None)

    def search(self, text: str) -> list[Spec]:
        """Specs matching every word of ``text``: an id, a size, or words of title and category."""
        words = [w for w in re.split(r"\s+", text.strip().lower()) if w]
        if not words:
            return []
        found = []
        for spec in self.specs:
            sizes = f"{spec.px[0]}x{spec.px[1]} {spec.mm[0]}x{spec.mm[1]}mm"
            haystack = f"{spec.spec_id} {spec.category} {spec.title} {sizes}".lower()
            tokens = re.split(r"[^a-z0-9x]+", haystack)
            if all(_word_matches(w, haystack, tokens) for w in words):
                found.append(spec)
        return found


#: Common short names people type for a spec word.
_ALIASES = {"us": "usa"}


def _word_matches(word: str, haystack: str, tokens: list[str]) -> bool:
    word = _ALIASES.get(word, word)
    if len(word) <= 3 and word.isalpha():
        # Short words ("us", "id") match whole words only, so "us" does not hit "business".
        return word in tokens
    return word in haystack


@lru_cache(maxsize=1)
def load_catalog() -> SpecCatalog:
    text = (resources.files("providers.data") / "idphoto_specs.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
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
        )
        for row in raw["specs"]
    )
    return SpecCatalog(specs=specs, palette={k: str(v).upper() for k, v in raw["colors"].items()})
