"""The schema version a process finds in its database, against the newest migration it knows.

A process runs statements written for the newest migration it knows. A database migrated further
(by a newer photobot, before a rollback or while an upgrade rolls out) may have tables those
statements no longer fit, and nothing migrates a schema back: such a process refuses to start.
"""

from __future__ import annotations

#: In every message about such a schema (``photobot run`` and ``check`` name the fix by it).
NEWER_SCHEMA = "newer than this photobot knows"


class SchemaTooNew(Exception):
    """The database's schema is newer than every migration this photobot knows."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"the database's schema is at version {found}, {NEWER_SCHEMA} (up to {known}): a newer photobot migrated it"
        )
        self.found = found
        self.known = known


def pending(migrations: list[tuple[int, str]], current: int) -> list[tuple[int, str]]:
    """The (version, script) of ``migrations`` (in order) newer than ``current``, the database's
    version; SchemaTooNew where ``current`` is past the newest of them."""
    newest = migrations[-1][0]
    if current > newest:
        raise SchemaTooNew(current, newest)
    return [(version, script) for version, script in migrations if version > current]
