"""The price of an extra ID-photo size ordered with the first: ``prices.extra_spec`` of its own."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.domain.ordering import extra_price


@pytest.mark.parametrize(
    ("price", "share", "expected"),
    [
        (6, 0.5, 3),
        (5, 0.5, 3),  # 2.5 is rounded up: a part of a credit counts as a whole one
        (2, 0.5, 1),  # the local engine's
        (10, 0.3, 3),  # 0.3 × 10 is 3.0000000000000004 in floats: worked out on the share as written
        (15, 0.25, 4),
        (7, 1.0, 7),
        (7, 0.0, 0),
        (0, 0.5, 0),
    ],
)
def test_an_extra_size_costs_its_share_of_its_own_price_rounded_up(price, share, expected):
    assert extra_price(price, share) == expected


def test_the_share_and_the_bound_are_configured_within_sense():
    settings = Settings()
    assert (settings.prices.extra_spec, settings.limits.extra_specs) == (0.5, 4)
    with pytest.raises(ValidationError, match="extra_spec"):
        Settings.model_validate({"prices": {"extra_spec": 1.5}})
    with pytest.raises(ValidationError):
        Settings.model_validate({"limits": {"extra_specs": -1}})
