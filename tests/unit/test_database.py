"""The database keeps working after a write that could not be committed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from bot.storage.db import Database
from bot.storage.repositories import Repositories
from bot.storage.store import Tx

#: Runs in a child process: a file-size limit is the portable way to make the disk "full".
_FULL_DISK = textwrap.dedent("""
    import asyncio, os, resource, sqlite3, sys
    from bot.storage.db import Database
    from bot.storage.jobs import JobDraft
    from bot.storage.repositories import Repositories

    async def main(path):
        db = await Database.open(path, checkpoint_interval=3600)
        repos = Repositories.on(db, daily_free=20)
        await repos.users.ensure(1, 1, "en")
        used = max(os.path.getsize(path), os.path.getsize(path + "-wal"))
        resource.setrlimit(resource.RLIMIT_FSIZE, (used + 4096, resource.RLIM_INFINITY))
        draft = JobDraft(user_id=1, chat_id=1, service="idphoto", provider="picwish",
                         options={"note": "x" * 200_000}, input_ref=None, price=5, deadline_seconds=60)
        try:
            await repos.jobs.create(draft)
        except sqlite3.Error as err:
            print("refused:", err.sqlite_errorname)
        print("open transaction:", db.conn.in_transaction)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        job = await repos.jobs.create(draft)
        print("after space is back:", job.state, await repos.ledger.balance(1), await repos.ledger.problems())
        await db.close()

    asyncio.run(main(sys.argv[1]))
""")


def test_a_full_disk_refuses_the_write_and_the_database_serves_once_space_is_back(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path / "db.sqlite3")],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] in ("refused: SQLITE_FULL", "refused: SQLITE_IOERR_WRITE"), done.stdout
    assert lines[1:] == ["open transaction: False", "after space is back: queued 15 []"]


async def test_a_commit_that_fails_is_rolled_back_explicitly(tmp_path):
    """SQLite leaves a transaction open when COMMIT fails on a deferred constraint; without an
    explicit ROLLBACK every later transaction on the connection would fail."""
    db = await Database.open(tmp_path / "db.sqlite3")
    repos = Repositories.on(db, daily_free=20)

    async def orphan_job(tx: Tx) -> None:
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        await tx.execute("INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (99, 'admin_grant', 1, 0)")

    try:
        with pytest.raises(sqlite3.IntegrityError):
            await db.transaction(orphan_job, user=99)
        assert not db.conn.in_transaction
        await repos.users.ensure(1, 1, "en")
        assert await repos.ledger.balance(1) == 20
        assert (await db.fetchone("SELECT COUNT(*) FROM ledger WHERE user_id = 99"))[0] == 0
    finally:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        await db.close()
