"""Inline keyboards. Button texts come from the locale catalogs, callback data from callback_data."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot.callback_data import Prefix, build
from bot.i18n import LANGUAGES, t
from providers.orders import IdPhotoOrder
from providers.specs import Spec

SPECS_PER_PAGE = 8
OUTFITS_PER_ROW = 5


def _rows(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def services_menu(lang: str, services: Sequence[str]) -> Markup:
    return Markup(
        [[Button(t(lang, f"service.{name}"), callback_data=build(Prefix.MENU, "svc", name))] for name in services]
    )


def categories(lang: str, names: Sequence[str]) -> Markup:
    buttons = [
        Button(t(lang, f"category.{name}"), callback_data=build(Prefix.IDPHOTO, "cat", i))
        for i, name in enumerate(names)
    ]
    return Markup(_rows(buttons, 2))


def spec_page(lang: str, specs: Sequence[Spec], page: int) -> Markup:
    pages = max(1, -(-len(specs) // SPECS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = specs[page * SPECS_PER_PAGE : (page + 1) * SPECS_PER_PAGE]
    rows = [
        [
            Button(
                t(lang, "idphoto.spec_button", title=s.title, w=s.mm[0], h=s.mm[1]),
                callback_data=build(Prefix.IDPHOTO, "spec", s.spec_id),
            )
        ]
        for s in shown
    ]
    nav = []
    if page > 0:
        nav.append(Button("◀", callback_data=build(Prefix.IDPHOTO, "pg", page - 1)))
    if pages > 1:
        nav.append(Button(f"{page + 1}/{pages}", callback_data=build(Prefix.IDPHOTO, "pg", page)))
    if page < pages - 1:
        nav.append(Button("▶", callback_data=build(Prefix.IDPHOTO, "pg", page + 1)))
    if nav:
        rows.append(nav)
    rows.append([Button(t(lang, "button.back"), callback_data=build(Prefix.IDPHOTO, "back", "cat"))])
    return Markup(rows)


def colors(lang: str, names: Sequence[str], custom: bool) -> Markup:
    buttons = [Button(t(lang, f"color.{name}"), callback_data=build(Prefix.IDPHOTO, "col", name)) for name in names]
    if custom:
        buttons.append(Button(t(lang, "color.custom"), callback_data=build(Prefix.IDPHOTO, "col", "custom")))
    rows = _rows(buttons, 4)
    rows.append([Button(t(lang, "button.back"), callback_data=build(Prefix.IDPHOTO, "back", "spec"))])
    return Markup(rows)


def _on_off(lang: str, value: bool) -> str:
    return t(lang, "option.on") if value else t(lang, "option.off")


def options(lang: str, draft: IdPhotoOrder, features: Sequence[str]) -> Markup:
    """The option toggles this provider can do, then Back / Continue."""
    states = {
        "beauty": _on_off(lang, draft.beauty),
        "outfit": draft.clothes_id or t(lang, "option.none"),
        "layout": draft.layout_size or t(lang, "option.none"),
        "preview": _on_off(lang, draft.preview),
        "gradient": _on_off(lang, draft.bg_color2 is not None),
    }
    rows = [
        [Button(t(lang, f"option.{name}", state=states[name]), callback_data=build(Prefix.IDPHOTO, "opt", name))]
        for name in features
    ]
    rows.append(
        [
            Button(t(lang, "button.back"), callback_data=build(Prefix.IDPHOTO, "back", "color")),
            Button(t(lang, "button.continue"), callback_data=build(Prefix.IDPHOTO, "opt", "done")),
        ]
    )
    return Markup(rows)


def _outfit_group(outfit: str) -> str:
    return outfit.rsplit("_", 1)[0]


def outfit_groups(lang: str, outfits: Sequence[str]) -> Markup:
    """The provider's outfit groups ("man_3" is in "man"), in its catalog's order."""
    groups = dict.fromkeys(_outfit_group(c) for c in outfits)
    rows = [[Button(t(lang, f"outfit.{g}"), callback_data=build(Prefix.IDPHOTO, "outfit", g))] for g in groups]
    rows.append([Button(t(lang, "outfit.none"), callback_data=build(Prefix.IDPHOTO, "cloth", "none"))])
    return Markup(rows)


def outfit_items(lang: str, group: str, outfits: Sequence[str]) -> Markup:
    items = [c for c in outfits if _outfit_group(c) == group]
    buttons = [Button(c.rsplit("_", 1)[1], callback_data=build(Prefix.IDPHOTO, "cloth", c)) for c in items]
    rows = _rows(buttons, OUTFITS_PER_ROW)
    rows.append([Button(t(lang, "button.back"), callback_data=build(Prefix.IDPHOTO, "opt", "outfit"))])
    return Markup(rows)


def summary(lang: str, nonce: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.confirm"), callback_data=build(Prefix.ORDER, "ok", nonce)),
                Button(t(lang, "button.cancel"), callback_data=build(Prefix.ORDER, "no", nonce)),
            ]
        ]
    )


def job_running(lang: str, job_id: str) -> Markup:
    return Markup([[Button(t(lang, "button.cancel"), callback_data=build(Prefix.JOB, "cancel", job_id))]])


def job_failed(lang: str, job_id: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.retry"), callback_data=build(Prefix.JOB, "retry", job_id)),
                Button(t(lang, "button.new_photo"), callback_data=build(Prefix.MENU, "new")),
            ]
        ]
    )


def spec_refused(lang: str) -> Markup:
    """Under a refusal that only this spec makes: another spec, or another photo."""
    return Markup(
        [
            [
                Button(t(lang, "button.back"), callback_data=build(Prefix.IDPHOTO, "back", "spec")),
                Button(t(lang, "button.new_photo"), callback_data=build(Prefix.MENU, "new")),
            ]
        ]
    )


def new_photo(lang: str) -> Markup:
    return Markup([[Button(t(lang, "button.new_photo"), callback_data=build(Prefix.MENU, "new"))]])


def idphoto_result(lang: str, job_id: str, can_rerender: bool) -> Markup:
    rows = []
    if can_rerender:
        rows.append([Button(t(lang, "button.other_color"), callback_data=build(Prefix.IDPHOTO, "recolor", job_id))])
    rows.append(
        [
            Button(t(lang, "button.file_size"), callback_data=build(Prefix.IDPHOTO, "kb", job_id)),
            Button(t(lang, "button.dpi"), callback_data=build(Prefix.IDPHOTO, "dpi", job_id)),
        ]
    )
    rows.append([Button(t(lang, "button.print_sheet"), callback_data=build(Prefix.IDPHOTO, "sheet", job_id))])
    rows.append([Button(t(lang, "button.new_photo"), callback_data=build(Prefix.MENU, "new"))])
    return Markup(rows)


def size_windows(job_id: str, windows: Sequence[tuple[int, int]]) -> Markup:
    buttons = [
        Button(f"{low}–{high} KB", callback_data=build(Prefix.IDPHOTO, "kbw", job_id, low, high))
        for low, high in windows
    ]
    return Markup(_rows(buttons, 2))


def dpi_choices(job_id: str, choices: Sequence[int]) -> Markup:
    return Markup([[Button(f"{dpi} dpi", callback_data=build(Prefix.IDPHOTO, "dpis", job_id, dpi)) for dpi in choices]])


def sheet_papers(lang: str, job_id: str, fits: dict[str, int]) -> Markup:
    """Per paper: all the copies that fit, or fewer."""
    rows = []
    for paper, count in fits.items():
        if count == 0:
            continue
        row = [
            Button(
                t(lang, "reedit.all_copies", paper=t(lang, f"layout.{paper}"), count=count),
                callback_data=build(Prefix.IDPHOTO, "shc", job_id, paper, 0),
            )
        ]
        row += [
            Button(f"×{n}", callback_data=build(Prefix.IDPHOTO, "shc", job_id, paper, n)) for n in (2, 4) if n < count
        ]
        rows.append(row)
    return Markup(rows)


def forget_confirm(lang: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "forget.confirm"), callback_data=build(Prefix.MENU, "forget", "yes")),
                Button(t(lang, "forget.keep"), callback_data=build(Prefix.MENU, "forget", "no")),
            ]
        ]
    )


def languages() -> Markup:
    return Markup(
        [[Button(t(code, "language.name"), callback_data=build(Prefix.LANG, "set", code))] for code in LANGUAGES]
    )


def anime_styles(styles: Sequence[tuple[str, str]]) -> Markup:
    """``styles``: (id, title in the user's language)."""
    return Markup([[Button(title, callback_data=build(Prefix.ANIME, "style", style_id))] for style_id, title in styles])


def anime_layouts(lang: str) -> Markup:
    return Markup(
        [
            [Button(t(lang, f"anime.layout_{name}"), callback_data=build(Prefix.ANIME, "lay", name))]
            for name in ("anime", "side_by_side")
        ]
    )


def repair_modes(lang: str, prices: dict[str, int]) -> Markup:
    """One button per mode the provider offers, with its price, in the provider's order."""
    return Markup(
        [
            [Button(t(lang, f"repair.mode_{mode}", price=price), callback_data=build(Prefix.REPAIR, "mode", mode))]
            for mode, price in prices.items()
        ]
    )


def repair_backgrounds(lang: str) -> Markup:
    buttons = [
        Button(t(lang, f"color.{name}"), callback_data=build(Prefix.REPAIR, "bg", name))
        for name in ("white", "blue", "red")
    ]
    buttons.append(Button(t(lang, "color.custom"), callback_data=build(Prefix.REPAIR, "bg", "custom")))
    return Markup(_rows(buttons, 4))


def enhance_types(types: Sequence[tuple[str, str]]) -> Markup:
    """``types``: (id, button text in the user's language)."""
    return Markup([[Button(text, callback_data=build(Prefix.ENHANCE, "type", type_id))] for type_id, text in types])


def portrait_browser(lang: str, index: int, count: int, template_id: str) -> Markup:
    rows = []
    if count > 1:
        rows.append(
            [
                Button("◀", callback_data=build(Prefix.PORTRAIT, "nav", (index - 1) % count)),
                Button(f"{index + 1}/{count}", callback_data=build(Prefix.PORTRAIT, "nav", index)),
                Button("▶", callback_data=build(Prefix.PORTRAIT, "nav", (index + 1) % count)),
            ]
        )
    rows.append([Button(t(lang, "portrait.choose"), callback_data=build(Prefix.PORTRAIT, "pick", template_id))])
    return Markup(rows)
