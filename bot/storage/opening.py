"""Opening the configured database: SQLite for one process, PostgreSQL for a bot beyond one."""

from __future__ import annotations

from bot.storage.db import Database
from bot.storage.postgres import POOL_MAX, PostgresStore
from bot.storage.store import Store


class DatabaseUnavailable(Exception):
    """database.url's PostgreSQL server could not be used at start: not reached, the login or the
    database refused, or the schema not brought up to date. The message says why, as the
    driver put it (it may quote database.url: report it redacted)."""


def cannot_connect(err: BaseException) -> str:
    """Why PostgreSQL could not be used, in the words ``photobot check`` and ``run`` both print."""
    return f"cannot connect: {type(err).__name__}: {err}"


async def open_store(path: str, url: str = "", pool_size: int | None = None) -> Store:
    """PostgreSQL when ``url`` is set (``database.url``, with up to ``pool_size`` connections),
    else SQLite at ``path``."""
    if url:
        try:
            return await PostgresStore.open(url, max_size=pool_size or POOL_MAX)
        except Exception as err:  # whatever the driver raises, the operator reads it
            # A refused connection is an OSError, which `run` would report as the web server's port.
            raise DatabaseUnavailable(cannot_connect(err)) from err
    return await Database.open(path)
