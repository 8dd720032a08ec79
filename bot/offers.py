"""Per service: the price of an order and the lines that describe it on the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.i18n import localized, t

if TYPE_CHECKING:
    from bot.wiring import Wiring


def price(service: str, options: dict[str, Any], settings: Settings) -> int:
    """Credits for an order; prices are configuration."""
    if service == "idphoto" and settings.enabled_services().get("idphoto") == "local":
        return settings.providers.local.price
    if service == "idphoto":
        prices = settings.providers.picwish.prices
        if options.get("preview"):
            return prices.preview
        total = prices.outfit if options.get("clothes_id") else prices.base
        if options.get("beauty"):
            total += prices.beauty
        if options.get("layout_size"):
            total += prices.layout
        return total
    if service == "anime":
        return settings.providers.qq_anime.price
    if service == "repair":
        return int(getattr(settings.providers.hili.prices, options["mode"]))
    if service == "enhance":
        return next(e.price for e in settings.providers.magictiger.enhance_types if e.id == options["enhance"])
    if service == "portrait":
        return settings.providers.wanxing.price
    raise KeyError(service)


def describe(service: str, options: dict[str, Any], lang: str, services: Wiring) -> str:
    if service == "idphoto":
        return _describe_idphoto(options, lang, services)
    if service == "anime":
        styles = {s.id: s for s in services.settings.providers.qq_anime.all_styles()}
        style = styles.get(options["style"])
        return t(
            lang,
            "anime.details",
            style=localized(style.title, lang) if style else options["style"],
            layout=t(lang, f"anime.layout_{options['layout']}"),
        )
    if service == "repair":
        text = t(lang, f"repair.mode_{options['mode']}", price=price(service, options, services.settings))
        if options.get("rgb"):
            text += "\n" + t(lang, "repair.background", rgb=options["rgb"])
        return text
    if service == "enhance":
        enhance = next(e for e in services.settings.providers.magictiger.enhance_types if e.id == options["enhance"])
        return t(lang, "enhance.details", title=localized(enhance.title, lang))
    if service == "portrait":
        template = services.templates.get(options["template"])
        title = localized(template.config.title, lang) if template else options["template"]
        return t(lang, "portrait.details", title=title)
    raise KeyError(service)


def _describe_idphoto(options: dict[str, Any], lang: str, services: Wiring) -> str:
    spec = services.catalog.get(int(options["spec_id"]))
    assert spec is not None
    on, off, none = t(lang, "option.on"), t(lang, "option.off"), t(lang, "option.none")
    name = options["color_name"]
    color = t(lang, f"color.{name}") if name in services.catalog.palette else name
    if options.get("bg_color2"):
        color = t(lang, "idphoto.gradient_to", color=color, end=f"#{options['bg_color2']}")
    if services.enabled_services.get("idphoto") == "local":
        return t(lang, "idphoto.details_local", spec=spec_text(lang, spec), color=color)
    return t(
        lang,
        "idphoto.details",
        spec=spec_text(lang, spec),
        color=color,
        beauty=on if options.get("beauty") else off,
        outfit=options.get("clothes_id") or none,
        layout=t(lang, f"layout.{options['layout_size']}") if options.get("layout_size") else none,
        preview=on if options.get("preview") else off,
    )


def spec_text(lang: str, spec: Any) -> str:
    return t(
        lang,
        "idphoto.spec_info",
        title=spec.title,
        mm_w=spec.mm[0],
        mm_h=spec.mm[1],
        px_w=spec.px[0],
        px_h=spec.px[1],
        dpi=spec.dpi,
    )
