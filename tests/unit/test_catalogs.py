from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot import callback_data
from bot.callback_data import Prefix
from bot.i18n import LANGUAGES, catalog, pick_language
from providers.specs import load_catalog

DOC = Path(__file__).resolve().parents[3] / "shared" / "provider-docs" / "004_e9915b65730d8c0e.txt"


@pytest.mark.skipif(not DOC.exists(), reason="the provider document is not beside the checkout")
def test_spec_catalog_is_the_documents_table_row_for_row():
    rows = re.findall(
        r"^(\d{4}) \| ([^|]+) \| ([^|]+) \| (\d+)x(\d+) \| (\d+)x(\d+) \| (\d+) \| ([^|]+) \|$",
        DOC.read_text(encoding="utf-8"),
        flags=re.M,
    )
    specs = load_catalog().specs
    assert len(rows) == len(specs) == 130
    for row, spec in zip(rows, specs, strict=True):
        sid, category, title, mw, mh, pw, ph, dpi, colours = (v.strip() for v in row)
        assert (spec.spec_id, spec.category, spec.title) == (int(sid), category, title)
        assert spec.mm == (int(mw), int(mh)) and spec.px == (int(pw), int(ph)) and spec.dpi == int(dpi)
        expected = None if colours == "No Requirement" else tuple(c.strip().lower() for c in colours.split(","))
        assert spec.colors == expected


def test_search():
    c = load_catalog()
    assert [s.spec_id for s in c.search("US")] == [3108]
    assert [s.spec_id for s in c.search("3108")] == [3108]
    assert len(c.search("visa")) == 23
    assert c.search("   ") == []
    assert "Business English Exam" not in [s.title for s in c.search("us")]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_locale_catalogs_have_the_same_keys_and_placeholders():
    english = catalog("en")
    for lang in LANGUAGES:
        other = catalog(lang)
        assert set(other) == set(english), lang
        for key, text in english.items():
            assert _placeholders(other[key]) == _placeholders(text), (lang, key)


def test_every_category_and_error_code_has_a_text():
    english = catalog("en")
    for category in load_catalog().categories:
        assert f"category.{category}" in english
    from providers import errors

    codes = {
        cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ProviderError)
    }
    assert {f"error.{code}" for code in codes} <= set(english)


def test_language_choice():
    assert pick_language("zh-hans") == pick_language("zh-TW") == "zh-Hans"
    assert pick_language("en-GB") == pick_language(None) == pick_language("de") == "en"


def test_callback_data_round_trip_and_limit():
    data = callback_data.build(Prefix.JOB, "cancel", "f" * 32)
    parsed = callback_data.parse(data)
    assert parsed.prefix is Prefix.JOB and parsed.action == "cancel" and parsed.arg() == "f" * 32
    assert callback_data.pattern(Prefix.JOB, "cancel").match(data)
    assert not callback_data.pattern(Prefix.JOB, "retry").match(data)
    assert callback_data.parse("zz:1") is None and callback_data.parse(None) is None
    with pytest.raises(ValueError):
        callback_data.build(Prefix.JOB, "x", "y" * 80)
