"""Portrait templates from configuration: their images, published under /media/ for the provider."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.config import PortraitTemplate
from bot.ops.images import ImageRejected, NormalisedImage, normalise
from bot.ops.media import MediaStore
from providers.models import InputLimits

log = logging.getLogger(__name__)


@dataclass
class Template:
    config: PortraitTemplate
    #: A stored copy (local files), or None for a template given as a URL.
    ref: str | None
    #: Telegram's file_id once the preview has been uploaded, so it is uploaded once.
    file_id: str | None = None

    @property
    def url(self) -> str | None:
        return None if self.ref else self.config.image


def template_file(template: PortraitTemplate, limits: InputLimits) -> tuple[str, NormalisedImage | None]:
    """A template given as a local file, read and made what the provider takes; or why it cannot
    be used (``photobot check`` reports it, ``run`` leaves the template out)."""
    try:
        return "", normalise(Path(template.image).read_bytes(), max_side=limits.max_side or 4096)
    except (OSError, ImageRejected) as err:
        return f"portrait template {template.id}: cannot use {template.image}: {err}", None


class TemplateGallery:
    """Loads local template files once (normalised JPEG) into the media store."""

    def __init__(self, configured: tuple[PortraitTemplate, ...], media: MediaStore, limits: InputLimits) -> None:
        """``limits``: the provider's rule for template pictures (``TaskProvider.reference_limits``)."""
        self.media = media
        self.items: list[Template] = []
        for template in configured:
            if template.image.startswith(("http://", "https://")):
                self.items.append(Template(template, None))
                continue
            problem, image = template_file(template, limits)
            if image is None:
                log.error("%s", problem)
                continue
            if limits.min_side and min(image.width, image.height) < limits.min_side:
                log.warning(
                    "portrait template %s is %dx%d px; the provider recommends at least %d px a side",
                    template.id,
                    image.width,
                    image.height,
                    limits.min_side,
                )
            self.items.append(Template(template, media.save_template(template.id, image.data)))

    def drop(self, template: Template, why: str) -> None:
        """Leave out a template given as a URL that Telegram cannot show (it fetches the picture
        itself: a dead link, a page that is not a picture, a picture over 5 MB); the operator is
        told in the log, and the person browses the others."""
        log.error("portrait template %s: Telegram cannot show %s (%s); left out", template.config.id, template.url, why)
        if template in self.items:
            self.items.remove(template)

    def get(self, template_id: str) -> Template | None:
        return next((t for t in self.items if t.config.id == template_id), None)

    def photo(self, template: Template) -> bytes | str:
        """What to send Telegram as the preview: a known file_id, the URL, or the stored bytes."""
        if template.file_id:
            return template.file_id
        if template.ref:
            return self.media.read(template.ref)
        return template.config.image
