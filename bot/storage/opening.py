"""Opening the configured database: SQLite for one process, PostgreSQL for a bot beyond one."""

from __future__ import annotations

import sqlite3

from bot.storage.db import Database
from bot.storage.postgres import POOL_MAX, PostgresStore
from bot.storage.schema import SchemaTooNew
from bot.storage.store import Store


class DatabaseUnavailable(Exception):
    """The configured database could not be used at start: database.url's PostgreSQL server not
    reached, the login or the database refused, or the schema not brought up to date; or the
    SQLite file at database.path not opened. The message says why, as the driver put it (it may
    quote database.url: report it redacted); ``setting`` names the key."""

    def __init__(self, message: str, setting: str = "database.url") -> None:
        super().__init__(message)
        self.setting = setting


def cannot_connect(err: BaseException) -> str:
    """Why PostgreSQL could not be used, in the words ``photobot check`` and ``run`` both print."""
    return f"cannot connect: {type(err).__name__}: {err}"


async def open_store(path: str, url: str = "", pool_size: int | None = None, *, migrate: bool = True) -> Store:
    """PostgreSQL when ``url`` is set (``database.url``, with up to ``pool_size`` connections),
    else SQLite at ``path``. Without ``migrate`` PostgreSQL's schema is waited for, not migrated
    (a worker's: the bot process migrates it); SQLite's, one process's own, is always migrated."""
    if url:
        try:
            return await PostgresStore.open(url, max_size=pool_size or POOL_MAX, migrate=migrate)
        except SchemaTooNew as err:
            raise DatabaseUnavailable(str(err)) from err
        except Exception as err:  # whatever the driver raises, the operator reads it
            # A refused connection is an OSError, which `run` would report as the web server's port.
            raise DatabaseUnavailable(cannot_connect(err)) from err
    try:
        return await Database.open(path)
    except SchemaTooNew as err:
        raise DatabaseUnavailable(str(err), "database.path") from err
    except (sqlite3.Error, OSError) as err:  # a folder that cannot be made or written, a file not SQLite
        raise DatabaseUnavailable(f"cannot open {path}: {type(err).__name__}: {err}", "database.path") from err
