from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.callback_data import Action, Back, CancelJob, Colour, MakeSize, NewPhoto, Prefix, RetryJob
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
    specs = load_catalog().documented
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


@pytest.mark.parametrize(
    ("typed", "size"),
    [
        ("35x45", (35, 45)),
        ("35 × 45 mm", (35, 45)),
        ("35mm*45mm", (35, 45)),
        ("35 45", (35, 45)),
        ("３５×４５毫米", (35, 45)),  # full-width digits, as a Chinese keyboard types them
        ("35乘45", (35, 45)),
        ("35，45", (35, 45)),
        ("3545", None),  # no separator: not guessed
        ("35.5x45", None),  # PicWish takes whole millimetres
        ("35x", None),
        ("1000x45", None),
        ("thirty-five by forty-five", None),
    ],
)
def test_a_typed_size_in_millimetres(typed, size):
    from bot.services.idphoto.dialog import parse_mm

    assert parse_mm(typed) == size


def test_the_custom_size_bounds_and_its_pixels():
    custom = load_catalog().get(9001)
    assert custom is not None and custom.custom is not None and custom.colors is None and custom.fallback
    bounds = custom.custom
    assert bounds.problem(35, 45) is None and bounds.problem(179, 179) is None
    assert bounds.problem(9, 45) == bounds.problem(35, 180) == "range"
    assert bounds.problem(20, 45) == bounds.problem(90, 45) == "ratio"
    sized = custom.sized(33, 48)
    assert (sized.mm, sized.px, sized.dpi) == ((33, 48), (390, 567), 300)
    large = custom.sized(179, 179)  # 2114 px at 300 dpi: the DPI goes down to stay under 1800 px
    assert large.dpi == 255 and large.px == (1797, 1797)
    assert sized.slug == "custom-size-33x48mm" and custom in load_catalog().search("custom")
    assert custom not in load_catalog().documented


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
    data = CancelJob("f" * 32).data()
    assert data == "j:cancel:" + "f" * 32 and CancelJob.parse(data) == CancelJob("f" * 32)
    assert CancelJob.pattern().match(data) and not RetryJob.pattern().match(data)
    assert RetryJob.parse(data) is None and CancelJob.parse("zz:1") is None and CancelJob.parse(None) is None
    with pytest.raises(ValueError):
        CancelJob("y" * 80).data()


@pytest.mark.parametrize(
    "data",
    [
        "i:kbw:job1:20",  # an argument missing
        "i:kbw:job1:20:50:9",  # one too many
        "i:kbw:job1:20:fifty",  # not a number
        "i:kbw:job1:٢٠:50",  # digits, but not ASCII ones
        "i:kbw:job1:+20:50",
        "i:kbw::20:50",  # an empty id
        "i:kbw:job1:" + "9" * 19 + ":50",  # a number too long to be one the bot made
        "i:kb:job1:20:50",  # another action of the same prefix
    ],
)
def test_forged_or_stale_callback_data_parses_as_nothing(data):
    assert MakeSize.parse(data) is None


def test_typed_arguments_and_exact_patterns():
    assert MakeSize.parse("i:kbw:job1:20:50") == MakeSize("job1", 20, 50)
    assert Back("spec").exact().match("i:back:spec") and not Back("spec").exact().match("i:back:spec:x")
    assert NewPhoto().data() == "m:new" and NewPhoto.parse("m:new") == NewPhoto()
    with pytest.raises(ValueError):
        Colour("a:b").data()  # an argument may not hold the separator


def test_an_action_is_declared_once():
    with pytest.raises(TypeError):

        @dataclass(frozen=True)
        class Again(Action, prefix=Prefix.JOB, action="cancel"):
            job_id: str


def test_only_errors_the_operator_is_alerted_about_say_the_operator_was_told():
    from bot.alerts import OPERATOR_ERRORS

    claims = {
        "en": re.compile(r"operator has been told", re.IGNORECASE),
        "zh-Hans": re.compile(r"已通知运营者"),
    }
    for lang, claim in claims.items():
        texts = catalog(lang)
        saying = {
            key.removeprefix("error.") for key, text in texts.items() if key.startswith("error.") and claim.search(text)
        }
        assert saying == OPERATOR_ERRORS, lang
        assert all(f"admin.alert_{code}" in texts for code in OPERATOR_ERRORS), lang
