"""Prices in credits, from configuration (defaults: the providers' own credit costs)."""

from __future__ import annotations

from typing import Any

from bot.config import PicwishPrices


def idphoto_price(options: dict[str, Any], prices: PicwishPrices) -> int:
    """PicWish's rules: 6 per photo, 15 with an outfit, +8 with beauty, +5 with a layout, 0 preview."""
    if options.get("preview"):
        return prices.preview
    total = prices.outfit if options.get("clothes_id") else prices.base
    if options.get("beauty"):
        total += prices.beauty
    if options.get("layout_size"):
        total += prices.layout
    return total
