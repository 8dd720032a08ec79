"""Finding a spec by what people type, in English or Chinese.

A query is a spec id ("3108"), a size ("35x45", "35*45", "35×45 mm", "413x531px") or words. Words
match a spec's names in both languages, the other words it is known by (``also`` in
``idphoto_spec_names.yaml``), its category's names and its sizes. An English word of four letters or
more may be off by a typo ("pasport", "japn"); a Chinese phrase typed without spaces
("美国签证照片") is cut into the words the catalog knows, and filler such as 照片 or 尺寸 is
ignored. Results are ranked: the exact id, then an exact name, then an exact other name, then the
rest by how well every word matched, in catalog order on ties.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz.distance import DamerauLevenshtein

#: Words that say nothing about which spec: a search for "美国签证照片" is one for 美国签证.
FILLER = frozenset(
    {
        "照片",
        "证件照",
        "证件照片",
        "相片",
        "照",
        "的",
        "尺寸",
        "规格",
        "要求",
        "电子版",
        "电子照",
        "报名照",
        "photo",
        "photos",
        "picture",
        "size",
        "spec",
        "for",
        "the",
        "of",
        "a",
        "an",
    }
)
_SIZE = re.compile(r"^(\d{1,4})\s*[x×*]\s*(\d{1,4})\s*(mm|px)?$")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_RUNS = re.compile(r"[\u3400-\u9fff]+|[^\s\u3400-\u9fff]+")
#: How far a typed English word may be from a known one: one edit up to five letters, two beyond.
_SHORT = 5


class Searchable(Protocol):
    @property
    def spec_id(self) -> int: ...
    @property
    def mm(self) -> tuple[int, int]: ...
    @property
    def px(self) -> tuple[int, int]: ...


@dataclass(frozen=True)
class Entry:
    """What one spec is found by, normalised."""

    spec_id: int
    mm: tuple[int, int]
    px: tuple[int, int]
    #: Its names (English title, Chinese name): an exact hit ranks first after the id.
    names: frozenset[str]
    #: The other names it is known by.
    also: frozenset[str]
    #: Its own words (names and other names), and what it shares with others (its category's
    #: names, its id and sizes), each joined and as Latin-script tokens.
    own: str
    own_tokens: frozenset[str]
    shared: str
    shared_tokens: frozenset[str]


_NUMERALS = dict(zip("12345", "一二三四五", strict=True))


def normalise(text: str) -> str:
    """Lower case, full-width forms folded (NFKC), 毫米 as mm, "2寸" as 二寸, runs of spaces as one."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("毫米", "mm").replace("像素", "px")
    folded = re.sub(r"(?<!\d)([1-5])\s*寸", lambda m: _NUMERALS[m.group(1)] + "寸", folded)
    return re.sub(r"\s+", " ", folded).strip()


def _tokens(text: str) -> frozenset[str]:
    return frozenset(token for token in re.split(r"[^a-z0-9]+", text) if token)


def entry(
    spec: Searchable, names: Iterable[str], also: Iterable[str], context: Iterable[str], *, sized: bool = True
) -> Entry:
    """A spec's entry: ``names`` and ``also`` as above, ``context`` its category's names; not found
    by its size unless ``sized`` (a custom size's is only an example)."""
    own_names = frozenset(normalise(name) for name in names if name)
    other = frozenset(normalise(word) for word in also)
    own = " | ".join([*own_names, *other])
    sizes = [f"{spec.mm[0]}x{spec.mm[1]}mm", f"{spec.px[0]}x{spec.px[1]}px"] if sized else []
    shared = " | ".join([str(spec.spec_id), *(normalise(c) for c in context), *sizes])
    mm, px = (spec.mm, spec.px) if sized else ((0, 0), (0, 0))
    return Entry(spec.spec_id, mm, px, own_names, other, own, _tokens(own), shared, _tokens(shared))


class SpecIndex:
    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        # The Chinese words a phrase typed without spaces is cut into.
        vocabulary = {piece for e in self.entries for piece in _CJK.findall(f"{e.own} {e.shared}")} | {
            w for w in FILLER if _CJK.fullmatch(w)
        }
        self._vocabulary = sorted(vocabulary, key=len, reverse=True)

    def search(self, text: str) -> list[int]:
        """Spec ids matching ``text``, best first."""
        query = normalise(text)
        if not query:
            return []
        size = _SIZE.match(query)
        if size:
            return self._by_size((int(size.group(1)), int(size.group(2))), size.group(3))
        words = self._words(query)
        ranked = []
        for order, e in enumerate(self.entries):
            rank = self._rank(e, query, words)
            if rank is not None:
                ranked.append((rank, order, e.spec_id))
        return [spec_id for _, _, spec_id in sorted(ranked)]

    def _by_size(self, size: tuple[int, int], unit: str | None) -> list[int]:
        in_mm = [e.spec_id for e in self.entries if unit != "px" and e.mm == size]
        in_px = [e.spec_id for e in self.entries if unit != "mm" and e.px == size and e.spec_id not in in_mm]
        return in_mm + in_px

    def _words(self, query: str) -> list[str]:
        """The query's words: Latin-script words as typed, Chinese runs cut into known words;
        filler left out (unless it is all there is)."""
        words: list[str] = []
        for run in _RUNS.findall(query):
            words.extend(self._cut(run) if _CJK.fullmatch(run) else [run])
        meaningful = [w for w in words if w not in FILLER]
        return meaningful or words

    def _cut(self, run: str) -> list[str]:
        """A Chinese run as the longest known words, left to right (a character the catalog does
        not know stays on its own)."""
        pieces, i = [], 0
        while i < len(run):
            word = next((w for w in self._vocabulary if run.startswith(w, i)), run[i])
            pieces.append(word)
            i += len(word)
        return pieces

    def _rank(self, e: Entry, query: str, words: list[str]) -> tuple[int, float] | None:
        """(tier, -score): 0 the id, 1 a name, 2 another name (also without filler: 美国签证照片 is
        美国签证), 3 every word found; None when a word is not found."""
        if query == str(e.spec_id):
            return (0, 0.0)
        typed = {query, " ".join(words), "".join(words)}
        if typed & e.names:
            return (1, 0.0)
        if typed & e.also:
            return (2, 0.0)
        score = 0.0
        for word in words:
            found = _word_score(e, word)
            if found == 0:
                return None
            score += found
        return (3, -score)


def _word_score(e: Entry, word: str) -> float:
    """How well ``word`` is found in a spec: 2 among its own words, 1 among those it shares with
    others (its category, its sizes); half that with a typo; 0 when it is not there."""
    for text, tokens, weight in ((e.own, e.own_tokens, 2.0), (e.shared, e.shared_tokens, 1.0)):
        if word.isascii() and word.isalpha() and len(word) <= 3:
            if word in tokens:  # short English words ("us", "id") match whole words only
                return weight
        elif word in text:
            return weight
    if not (word.isascii() and word.isalpha()) or len(word) < 4:
        return 0.0
    allowed = 1 if len(word) <= _SHORT else 2
    for tokens, weight in ((e.own_tokens, 2.0), (e.shared_tokens, 1.0)):
        if any(DamerauLevenshtein.distance(word, token, score_cutoff=allowed) <= allowed for token in tokens):
            return weight / 2
    return 0.0
