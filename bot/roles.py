"""Which parts of the bot one process runs (``photobot run --role``; docs/deploy.md)."""

from __future__ import annotations

from typing import Literal

#: ``bot`` takes Telegram's updates, serves the web paths and creates jobs; ``worker`` runs jobs
#: and delivers them; ``all`` is both, the one-process bot.
Role = Literal["all", "bot", "worker"]
ROLES: tuple[Role, ...] = ("all", "bot", "worker")
