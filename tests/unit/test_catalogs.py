from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from unicodedata import east_asian_width

import pytest

from bot.services.idphoto.buttons import SPECS_PER_PAGE, Back, Colour, MakeSize, spec_page
from bot.telegram.ui.callback_data import Action, CancelJob, NewPhoto, Prefix, RetryJob
from bot.telegram.ui.i18n import LANGUAGES, catalog, pick_language, t
from providers.specs import load_catalog
from tests.fakes.registry import LATIN_NAMES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT.parent / "shared" / "provider-docs" / "004_e9915b65730d8c0e.txt"


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


@pytest.mark.parametrize(
    ("query", "first"),
    [
        # ids and sizes, however the multiplication sign is typed
        ("3108", 3108),
        ("35x45", 1104),
        ("35*45", 1104),
        ("35×45 mm", 1104),
        ("３５×４５毫米", 1104),
        ("602x602px", 3108),
        # English names, short words and typos
        ("US", 3108),
        ("us visa", 3108),
        ("USA Visa", 3108),
        ("japn visa", 3109),
        ("pasport", 3202),
        ("passport", 3202),
        ("ID card", 2102),
        ("driving licence", 2301),
        ("2 inch", 1105),
        ("small 1 inch", 1101),
        ("civil service exam beijing", 5103),
        ("cet6", 5509),
        ("custom", 9001),
        # Chinese names, short forms and synonyms
        ("身份证", 2102),
        ("身份证照片", 2102),
        ("一寸", 1102),
        ("1寸", 1102),
        ("小一寸", 1101),
        ("二寸", 1105),
        ("2寸照片", 1105),
        ("大二寸", 1106),
        ("居住证", 2103),
        ("社保卡", 2101),
        ("社保", 2101),
        ("医保", 2203),
        ("驾驶证", 2301),
        ("驾照", 2301),
        ("健康证", 2201),
        ("护照", 3202),
        ("美国签证", 3108),
        ("美国签证照片", 3108),
        ("美签", 3108),
        ("日本签证", 3109),
        ("日本 签证", 3109),
        ("韩国", 3105),
        ("申根", 3102),
        ("港澳通行证", 3302),
        ("台湾", 3301),
        ("教资", 6401),
        ("教师资格证", 6401),
        ("考研", 5405),
        ("公务员", 5101),
        ("国考", 5101),
        ("北京公务员", 5103),
        ("上海 公务员", 5121),
        ("四级", 5507),
        ("英语六级", 5509),
        ("普通话", 5501),
        ("高考", 5401),
        ("法考", 5905),
        ("二建", 6101),
        ("自定义", 9001),
    ],
)
def test_real_queries_find_the_spec_first(query, first):
    found = load_catalog().search(query)
    assert found and found[0].spec_id == first, [s.spec_id for s in found[:5]]


def test_search_ranks_the_id_then_a_name_then_the_rest():
    c = load_catalog()
    assert [s.spec_id for s in c.search("一寸")][:3] == [1102, 1101, 1103]  # the name, then other names
    assert len(c.search("visa")) == 23
    assert c.search("   ") == [] and c.search("xyzzy") == [] and c.search("火星签证") == []
    assert "Business English Exam" not in [s.title for s in c.search("us")]  # short words are whole words
    assert 9001 not in [s.spec_id for s in c.search("35x45")]  # its size is only an example


def test_every_spec_and_category_has_a_chinese_name():
    c = load_catalog()
    for spec in c.specs:
        assert spec.name("zh-Hans") != spec.title and _CJK.search(spec.name("zh-Hans")), spec.spec_id
        assert spec.name("en") == spec.title and spec.slug.isascii()
    for category in c.categories:
        assert c.category_name(category, "en") != category or category in ("Government", "Student", "Enrollment")
        assert _CJK.search(c.category_name(category, "zh-Hans")), category


_CJK = re.compile(r"[\u3400-\u9fff]")
#: Latin script a Chinese reader expects to see: names of products and services (the providers'
#: from tests/fakes/registry.py), file formats and units, and the acronyms exams go by.
_LATIN_IN_CHINESE = LATIN_NAMES | {
    "AI", "API", "Telegram", "English",
    "BMP", "HEIC", "JPEG", "PNG", "TIFF", "WebP", "DPI", "dpi", "KB", "MB", "UTC", "ID",
    "BIM", "AB", "x", "PDF", "A",  # "A": the A of A4 paper
    "ICAO", "GA",  # the names of the standards: ICAO Doc 9303, GA 461-2004
}  # fmt: skip


def _latin_words(text: str) -> set[str]:
    """Latin-script words of ``text`` other than placeholders, `commands to type`, /commands,
    configuration keys and host names (dotted or snake_case), hex colours and the "R,G,B" form."""
    text = re.sub(r"\{[^}]*\}|`[^`]*`", " ", text)
    text = re.sub(r"/[a-z]+|[\w-]+(?:\.[\w-]+)+|\w+_\w+|\b[0-9A-F]{6}\b|R,G,B", " ", text)
    return set(re.findall(r"[A-Za-z]+", text))


def test_no_english_is_left_in_the_chinese_interface():
    left = {key: _latin_words(text) - _LATIN_IN_CHINESE for key, text in _chinese_texts().items()}
    assert {key: words for key, words in left.items() if words} == {}


def _chinese_texts() -> dict[str, str]:
    """What a Chinese reader reads: the catalog, the specs' and categories' names and the rules'."""
    texts = dict(catalog("zh-Hans"))
    c = load_catalog()
    texts.update({f"spec {spec.spec_id}": spec.name("zh-Hans") for spec in c.specs})
    texts.update({f"category {name}": c.category_name(name, "zh-Hans") for name in c.categories})
    texts.update({f"rule {spec.rule.rule_id}": spec.rule.title("zh-Hans") for spec in c.specs})
    return texts


#: Half-width punctuation touching a Chinese character ("照片,", "(一寸)", "是?"), the Japanese
#: middle dot (・), and three dots for an ellipsis.
_HALF_WIDTH = re.compile(r"(?<=[\u3400-\u9fff])[,.;:?!()]|[,;:?!()](?=[\u3400-\u9fff])|・|\.\.\.")


def test_chinese_takes_full_width_punctuation():
    texts = _chinese_texts()
    found = {key: _HALF_WIDTH.findall(re.sub(r"`[^`]*`", "", text)) for key, text in texts.items()}
    assert {key: marks for key, marks in found.items() if marks} == {}


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
    from bot.services.idphoto.choices import parse_mm

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


def test_every_error_code_has_a_text():
    english = catalog("en")
    from providers import errors

    codes = {
        cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ProviderError)
    }
    assert {f"error.{code}" for code in codes} <= set(english)


def test_english_counts_take_the_singular_for_one():
    from bot.telegram.ui.i18n import t

    assert t("en", "job.done", price=1) == "✅ Done! 1 credit used."
    assert t("en", "job.done", price=6) == "✅ Done! 6 credits used."
    assert t("en", "job.cancelled", price=1) == "Cancelled. Your 1 credit was returned."
    assert t("en", "balance.text", balance=1, daily=30).startswith("You have 1 credit. ")
    assert t("en", "forget.wait", count=1).startswith("1 of your orders is already being made")
    assert t("zh-Hans", "job.done", price=1) == "✅ 完成！已使用 1 积分。"
    # No count is left without its singular: "{n} credits" always goes with "{n:credit|credits}".
    assert t("en", "order.too_many", active=1).startswith("You already have 1 order in the works.")
    assert t("en", "reedit.sheet_done", copies=1, paper="A4", dpi=300).startswith("1 copy on A4 paper")
    bare = re.compile(r"\{(\w+)\} (?:(?:bonus )?credits|days|minutes|uses|files|orders|photos|copies|orders are)\b")
    assert {key for key, text in catalog("en").items() if bare.search(text)} == set()


def test_a_count_given_as_text_takes_its_plural_form_too():
    """Settings that may be fractions (days, minutes) are formatted before they reach a text."""
    from bot.telegram.ui.i18n import t

    assert t("en", "privacy.retention_days", days="1") == "for 1 day"
    assert t("en", "privacy.retention_days", days="0.5") == "for 0.5 days"
    assert t("en", "privacy.retention_days", days="7") == "for 7 days"


def test_a_failed_jobs_reason_leaves_the_credits_to_the_line_under_it():
    """A failed job is told as job.failed ("❌ {reason}" then "Your 6 credits were returned.") or
    job.failed_free ("Nothing was charged."): a reason that spoke of charges as well contradicted
    it ("nothing was charged" above "6 credits were returned"). The error texts sent on their own
    (named in the code outside delivery) may."""
    delivery = ROOT / "bot" / "telegram" / "delivery.py"
    source = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot").rglob("*.py") if path != delivery)
    alone = set(re.findall(r'"(error\.\w+)"', source))
    assert alone == {"error.engine_busy", "error.internal_error"}
    speaks = {"en": re.compile(r"charg|credit|refund", re.IGNORECASE), "zh-Hans": re.compile(r"扣|积分|退")}
    for lang, pattern in speaks.items():
        reasons = {key: text for key, text in catalog(lang).items() if key.startswith("error.") and key not in alone}
        assert {key for key, text in reasons.items() if pattern.search(text)} == set(), lang


def _width(text: str) -> float:
    """A text's width in Latin letters: a CJK character or an emoji is about 1.6 of them (20 of
    them take the room of 32 letters); combining marks and the emoji variation selector none."""
    return sum(
        0 if unicodedata.category(c) in ("Mn", "Cf") or c == "\ufe0f" else 1.6 if east_asian_width(c) in "WF" else 1
        for c in text
    )


#: Buttons that share their row with another (keyboards.py, services/idphoto/buttons.py).
_PAIRED = {
    "button.confirm", "button.cancel", "button.buy_preview", "button.retry", "button.new_photo", "button.back",
    "button.continue", "button.file_size", "button.dpi", "idphoto.back_to_order", "forget.confirm",
    "forget.keep", "admin.refund_yes", "admin.refund_no",
}  # fmt: skip
#: Button texts around a name that is not the catalog's (a spec's title, a configured one).
_NAMING = {"idphoto.less_size", "reedit.mix_with", "enhance.type_button", "idphoto.spec_button"}


def _button_keys() -> set[str]:
    """Every catalog key the code puts on a button, "option.{name}" standing for each option."""
    source = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "bot").rglob("*.py"))
    keys = catalog("en")
    found = set()
    for key in re.findall(r'Button\(\s*t\((?:lang|code), f?"([^"]+)"', source):
        pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(key)))
        matched = {k for k in keys if pattern.fullmatch(k)}
        if "{" in key:  # "option.{name}": the options' buttons, not option.with and the like
            matched = {k for k in matched if _placeholders(keys[k]) <= {"state", "price"}}
        found |= matched
    return found - _NAMING


def test_buttons_fit_a_phone():
    """A full-width button holds about 32 Latin letters or 20 Chinese characters on a phone, one of
    two in a row about 23 letters; longer, Telegram cuts it off, price first."""
    keys = _button_keys()
    assert {"button.final", "repair.mode_upscale", "option.preview", "service.repair"} <= keys
    for lang in LANGUAGES:
        values = {
            "price": 12, "credits": 1000, "stars": 2500, "number": 20, "count": 20, "first": 9, "second": 9,
            "paper": t(lang, "paper.5x7"), "state": max(t(lang, "option.on"), t(lang, "option.off"), key=len),
        }  # fmt: skip
        long = {}
        for key in sorted(keys):
            text = t(lang, key, **values)
            if _width(text) > (23 if key in _PAIRED else 32):
                long[key] = text
        assert long == {}, lang


def _seen_on_a_phone(text: str, room: float = 32) -> str:
    """What a phone shows of a full-width button's text: as much as fits, the rest cut off."""
    shown = ""
    for c in text:
        if _width(shown + c) > room:
            break
        shown += c
    return shown


def test_every_spec_button_shows_its_size_and_tells_it_from_the_others_on_a_phone():
    """A spec's button shows its size whatever its title's length, and no two buttons of a list
    look alike once a phone has cut them off. Before, 82 of the 131 English buttons ended past what
    a phone shows, size and all: "Level 2 Constructor Certificate (1 Inch)" and its 2-inch sibling
    both read "Level 2 Constructor Certificate…"."""
    specs = load_catalog()
    for lang in LANGUAGES:
        for category in specs.categories:
            shown = specs.in_category(category)
            seen = [
                _seen_on_a_phone(button.text)
                for page in range(-(-len(shown) // SPECS_PER_PAGE))
                for row in spec_page(lang, shown, page).inline_keyboard[:-1]
                for button in row
                if button.callback_data and str(button.callback_data).startswith("i:spec:")
            ]
            assert len(seen) == len(shown)
            assert len(set(seen)) == len(seen), (lang, category)
            for spec, text in zip(shown, seen, strict=True):
                assert spec.custom is not None or f"{spec.mm[0]}×{spec.mm[1]}" in text, (lang, text)


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
    from bot.telegram.alerts import OPERATOR_ERRORS

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
