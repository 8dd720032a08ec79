"""Opening the configured database: SQLite for one process, PostgreSQL for a bot beyond one."""

from __future__ import annotations

from bot.storage.db import Database
from bot.storage.postgres import POOL_MAX, PostgresStore
from bot.storage.store import Store


async def open_store(path: str, url: str = "", pool_size: int | None = None) -> Store:
    """PostgreSQL when ``url`` is set (``database.url``, with up to ``pool_size`` connections),
    else SQLite at ``path``."""
    if url:
        return await PostgresStore.open(url, max_size=pool_size or POOL_MAX)
    return await Database.open(path)
