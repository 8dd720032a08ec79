"""Every service, in menu order. A new service is one module and one line here."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.services import anime, enhance, idphoto, portrait, repair
from bot.services.base import Service

SERVICES: tuple[Service[Any], ...] = (
    idphoto.SERVICE,
    anime.SERVICE,
    portrait.SERVICE,
    repair.SERVICE,
    enhance.SERVICE,
)
BY_NAME: dict[str, Service[Any]] = {service.name: service for service in SERVICES}


def enabled(
    settings: Settings, out_of_service: frozenset[str] = frozenset(), down: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Service name -> the first usable provider that can serve it, in menu order; providers
    ``out_of_service`` (an account with no uses left) are passed over, and those ``down`` where
    another provider can stand in (see Service.serving_provider)."""
    found: dict[str, str] = {}
    for service in SERVICES:
        if (provider := service.serving_provider(settings, out_of_service, down)) is not None:
            found[service.name] = provider
    return found


def provider_names() -> tuple[str, ...]:
    """Every provider some service can use."""
    return tuple(sorted({name for service in SERVICES for name in service.providers}))
