"""What an operator reads when ``photobot run`` cannot start: the setting to fix, with Telegram's or
the database's own reason, not another setting's advice (a real ``python -m bot run`` process)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.fakes.server import free_port
from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]


async def _run(config: Path, tmp_path: Path, *options: str) -> tuple[int, list[str], str]:
    """``photobot run`` until it ends: its status, its ``error:``/``fix:`` lines, all of stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *options,
        "--config",
        str(config),
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    stderr = err.decode()
    assert proc.returncode is not None
    return proc.returncode, [line for line in stderr.splitlines() if line.startswith(("error: ", "  fix: "))], stderr


async def test_a_webhook_telegram_refuses_is_reported_as_refused_not_as_unreachable(telegram: FakeTelegram, tmp_path):
    """python-telegram-bot's BadRequest is a NetworkError: Telegram's refusal of the webhook was
    reported as "cannot reach Telegram", with advice about this machine's internet connection."""
    telegram.official_webhook_rules = True
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"telegram: {{token: '{telegram.token}', base_url: '{telegram.base_url}', mode: webhook}}\n"
        f"server: {{host: 127.0.0.1, port: {port}, public_url: 'http://127.0.0.1:{port}'}}\n"
        f"database: {{path: '{tmp_path / 'db.sqlite3'}'}}\n"
        "providers: {local: {enabled: false}}\n"
    )
    code, lines, stderr = await _run(config, tmp_path)
    assert code == 1
    assert lines == [
        f"error: server.public_url: Telegram refused to send updates to http://127.0.0.1:{port}:"
        " Bad webhook: an https url must be provided for webhook",
        "  fix: set server.public_url to an https:// address on port 443, 80, 88 or 8443 at which Telegram reaches"
        " this machine's server.port (with a certificate Telegram trusts), or use telegram.mode: polling",
    ]
    assert "cannot reach" not in stderr and telegram.token not in stderr


def _postgres_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "telegram: {token: '123456:TEST-token-for-a-bot-that-is-not-there'}\n"
        f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"database: {{url: '{url}'}}\n"
        "providers: {local: {enabled: false}}\n"
    )
    return config


DATABASE_FIX = (
    "  fix: check the host, port, database name, user and password in database.url, and that the PostgreSQL"
    " server runs and accepts connections from this machine"
)


async def test_a_postgresql_server_that_refuses_the_connection_is_named_as_database_url(tmp_path):
    """A refused connection is an OSError: `run` reported it as the web server's port, held by
    another program (`check` named database.url)."""
    url = f"postgresql://photobot:Sup3rS3cretPassw0rd@127.0.0.1:{free_port()}/photobot"
    code, lines, stderr = await _run(_postgres_config(tmp_path, url), tmp_path)
    assert code == 1
    assert lines == [
        "error: database.url: cannot connect: ConnectionRefusedError: [Errno 111] Connection refused",
        DATABASE_FIX,
    ]
    assert "server.port" not in stderr and "Sup3rS3cretPassw0rd" not in stderr


async def test_a_database_that_does_not_exist_is_named_as_database_url_without_a_traceback(tmp_path):
    """It was a raw InvalidCatalogNameError traceback."""
    from urllib.parse import urlsplit, urlunsplit

    from tests.conftest import POSTGRES_URL, postgres_schema

    await postgres_schema()  # skips without a PostgreSQL server
    parts = urlsplit(POSTGRES_URL)
    user = parts.username or "postgres"
    netloc = f"{user}:Sup3rS3cretPassw0rd@{parts.hostname}:{parts.port or 5432}"
    url = urlunsplit((parts.scheme, netloc, "/photobot_no_such_database", "", ""))
    code, lines, stderr = await _run(_postgres_config(tmp_path, url), tmp_path)
    assert code == 1
    assert lines == [
        'error: database.url: cannot connect: InvalidCatalogNameError: database "photobot_no_such_database"'
        " does not exist",
        DATABASE_FIX,
    ]
    assert "Traceback" not in stderr and "Sup3rS3cretPassw0rd" not in stderr


async def test_a_sqlite_file_that_cannot_be_opened_is_named_as_database_path(tmp_path):
    """It was reported as the web server's port, held by another program."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    config = tmp_path / "config.yaml"
    config.write_text(
        "telegram: {token: '123456:TEST-token-for-a-bot-that-is-not-there'}\n"
        f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"database: {{path: '{blocker / 'photobot.sqlite3'}'}}\n"
        "providers: {local: {enabled: false}}\n"
    )
    code, lines, stderr = await _run(config, tmp_path)
    assert code == 1
    assert lines[0].startswith(f"error: database.path: cannot open {blocker / 'photobot.sqlite3'}: ")
    assert lines[1].startswith("  fix: set database.path to a file in a folder this user may write")
    assert "server.port" not in stderr and "Traceback" not in stderr


def _newest(folder: str) -> int:
    """The newest migration this photobot knows, in bot/storage/``folder``."""
    return max(int(script.name.split("_", 1)[0]) for script in (ROOT / "bot" / "storage" / folder).glob("*.sql"))


SCHEMA_FIX = (
    "  fix: run the photobot release that migrated the database (or a newer one) in every process, bot and"
    " workers alike: a schema is never migrated back"
)


@pytest.mark.parametrize("role", ["bot", "worker"])
async def test_a_postgresql_schema_newer_than_the_code_is_refused_at_start(tmp_path, role):
    """A process older than the schema (a rollback, a worker of the last release restarted after
    the bot migrated) ran its statements against tables it does not know, without a word."""
    import asyncpg

    from tests.conftest import postgres_schema

    url = await postgres_schema()
    known = _newest("pg_migrations")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", known + 1)
    finally:
        await conn.close()
    code, lines, stderr = await _run(_postgres_config(tmp_path, url), tmp_path, "--role", role)
    assert code == 1
    assert lines == [
        f"error: database.url: the database's schema is at version {known + 1}, newer than this photobot knows"
        f" (up to {known}): a newer photobot migrated it",
        SCHEMA_FIX,
    ]
    assert "Traceback" not in stderr
    conn = await asyncpg.connect(url)
    try:  # nothing was created beside it
        assert await conn.fetchval("SELECT to_regclass('jobs')") is None
    finally:
        await conn.close()


async def test_a_sqlite_file_newer_than_the_code_is_refused_at_start(tmp_path):
    """Its migrations were all skipped (each older than the file) and the bot ran on tables it did
    not know."""
    known = _newest("migrations")
    path = tmp_path / "photobot.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {known + 1}")
    config = tmp_path / "config.yaml"
    config.write_text(
        "telegram: {token: '123456:TEST-token-for-a-bot-that-is-not-there'}\n"
        f"server: {{host: 127.0.0.1, port: {free_port()}}}\n"
        f"database: {{path: '{path}'}}\n"
        "providers: {local: {enabled: false}}\n"
    )
    code, lines, stderr = await _run(config, tmp_path)
    assert code == 1
    assert lines == [
        f"error: database.path: the database's schema is at version {known + 1}, newer than this photobot knows"
        f" (up to {known}): a newer photobot migrated it",
        SCHEMA_FIX,
    ]
    assert "Traceback" not in stderr
