"""Every service, in menu order. A new service is one module and one line here."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.domain.session import ServiceState
from bot.services import anime, enhance, portrait, repair
from bot.services.idphoto import service as idphoto
from bot.telegram.context import Service, serving
from providers.orders import Order

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
    """Service name -> the provider serving it now, in menu order (see :func:`serving`)."""
    return serving(SERVICES, settings, out_of_service, down)


def provider_names() -> tuple[str, ...]:
    """Every provider some service can use."""
    return tuple(sorted({name for service in SERVICES for name in service.providers}))


def order_models() -> dict[str, type[Order]]:
    """Each service's order model by name: how a stored order (a job row, a kept session) reads."""
    return {service.name: service.order_model for service in SERVICES}


def state_models() -> dict[str, type[ServiceState]]:
    """Each service's session state model by name, for those that keep one: how a kept session's
    service states read."""
    return {service.name: service.state_model for service in SERVICES if service.state_model is not None}
