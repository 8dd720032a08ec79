"""Old photos are deleted after database.media_retention_days, unless a job still needs them."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from bot.main.app import running
from tests.bot.flows import order_until_summary

DAY = 86400


def _age(folder, days: float) -> list[str]:
    """Make every file in ``folder`` look ``days`` old; their names."""
    then = time.time() - days * DAY
    names = []
    for path in folder.iterdir():
        os.utime(path, (then, then))
        names.append(path.name)
    return names


async def test_old_photos_are_deleted_but_not_those_a_job_still_needs(make_settings, telegram, picwish):
    settings = make_settings(database__media_retention_days=7)
    media = settings.media_dir
    done_user, waiting_user = telegram.user(user_id=601), telegram.user(user_id=602)
    async with running(settings):
        summary = await order_until_summary(done_user, "Visa", "USA Visa", "White")
        await done_user.press(summary, "Confirm")
        document = await done_user.next_message(kind="document", timeout=15)
        picwish.hold_new_tasks = True
        waiting = await order_until_summary(waiting_user, "Visa", "USA Visa", "White")
        await waiting_user.press(waiting, "Confirm")
        await waiting_user.edited(waiting, "Working on it")
    inputs, results = _age(media / "inputs", 8), _age(media / "results", 8)
    assert len(inputs) == 2 and len(results) == 1
    fresh = media / "inputs" / "fresh.jpg"
    fresh.write_bytes(b"a photo sent a minute ago")

    async with running(settings) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)
        (held,) = [job for job in await bot.jobs.unfinished() if job.user_id == waiting_user.id]
        assert sorted(p.name for p in (media / "inputs").iterdir()) == sorted(
            [held.input_ref.split("/")[1], "fresh.jpg"]
        )
        assert list((media / "results").iterdir()) == []

        pressed = await done_user.press(document, "File size")
        assert "no longer available" in (await done_user.answer_to(pressed) or "")

        picwish.release()
        await waiting_user.next_message(kind="document", timeout=15)
        assert await bot.ledger.problems() == []


def test_a_job_keeps_its_input_its_linked_photos_and_its_results(tmp_path):
    from bot.ops.media import MediaStore
    from bot.ops.retention import sweep
    from bot.storage.jobs import Job, JobResult
    from bot.storage.links import linked

    store = MediaStore(tmp_path)
    refs = [
        store.save_input(b"in"),
        store.save_input(b"source"),
        store.save_result("j1", 0, b"out"),
        store.save_template("beach", b"template"),
        store.save_input(b"stray"),
        store.save_template("city", b"t"),
    ]
    job = Job(
        id="j1",
        user_id=1,
        chat_id=1,
        service="portrait",
        provider="wanxing",
        options={"source": linked(refs[1]), "target": linked(refs[3]), "style": "beach"},
        input_ref=refs[0],
        price=5,
        provider_task_id=None,
        state="succeeded",
        progress=100,
        attempts=1,
        created_at=0.0,
        deadline=None,
        result=JobResult(files=[refs[2]]),
        error=None,
        callback_secret="s",
        status_message_id=None,
        delivery=None,
    )
    assert job.files() == set(refs[:4])
    assert sweep(tmp_path, time.time() + 60, job.files()) == 1
    assert [store.exists(ref) for ref in refs] == [True, True, True, True, False, True]


async def test_an_order_placed_from_a_just_expired_photo_during_a_sweep_keeps_its_photo(
    make_settings, telegram, picwish
):
    """The person confirms an order of a photo that has just expired while a sweep runs, after it
    read which files jobs need and before it deleted any: the photo stays and the order is made.
    Before, the sweep deleted the photo under the new job, which failed and was refunded."""
    settings = make_settings(database__media_retention_days=7)
    user = telegram.user(user_id=603)
    async with running(settings) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)  # the sweep of the start, done
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        (photo,) = _age(settings.media_dir / "inputs", 8)
        placed: list[str] = []

        async def confirm_now() -> None:
            await user.press(summary, "Confirm")
            await user.edited(summary, "Working on it")
            placed.extend(job.input_ref for job in await bot.jobs.unfinished())

        bot.sweeper.before_delete = confirm_now
        assert await bot.sweeper.sweep_once() == 0
        assert placed == [f"inputs/{photo}"]
        assert (settings.media_dir / "inputs" / photo).is_file()
        await user.next_message(kind="document", timeout=15)
        assert await bot.ledger.problems() == []
        assert [job.state for job in await bot.jobs.recent(user.id, 5)] == ["succeeded"]


async def test_with_photos_kept_for_good_the_sweep_still_deletes_what_forget_kept(make_settings, telegram):
    """``media_retention_days: 0`` keeps every photo, but what /forget kept of free previews must
    still go after about an hour (/privacy says so). Before, no sweep ran at all then, and it
    stayed until that person's next preview."""
    settings = make_settings(database__media_retention_days=0)
    async with running(settings) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)
        await bot.db.write(
            "INSERT INTO forgotten_previews (fingerprint, service, provider, made_at) VALUES (?, ?, ?, ?)",
            ("f" * 16, "idphoto", "local", time.time() - 2 * 3600),
        )
    old = settings.media_dir / "inputs" / "old.jpg"
    old.write_bytes(b"a photo sent a year ago")
    _age(settings.media_dir / "inputs", 365)

    async with running(settings) as bot:
        await asyncio.wait_for(bot.sweeper.swept.wait(), 10)
        assert (await bot.db.fetchone("SELECT COUNT(*) AS n FROM forgotten_previews"))["n"] == 0
        assert old.read_bytes() == b"a photo sent a year ago"


#: Two ways one sweep can fail, each undone before the next: the database refuses its first
#: statement (a table gone: sqlite3.OperationalError), or a stored job cannot be read (ValueError).
_SWEEP_FAULTS = {
    "refused": (
        "ALTER TABLE forgotten_previews RENAME TO forgotten_previews_away",
        "ALTER TABLE forgotten_previews_away RENAME TO forgotten_previews",
    ),
    "unreadable": (
        "INSERT INTO users (user_id, chat_id, language, first_seen) VALUES (1, 1, 'en', 0);"
        " INSERT INTO jobs (id, user_id, chat_id, service, provider, options, price, state, created_at,"
        " updated_at, callback_secret) VALUES ('bad', 1, 1, 'idphoto', 'local', 'not json', 0, 'queued', 0, 0, 's')",
        "DELETE FROM jobs WHERE id = 'bad'",
    ),
}


@pytest.mark.parametrize("fault", list(_SWEEP_FAULTS))
async def test_a_sweep_that_failed_is_tried_again_and_deletes_the_expired_photos(tmp_path, fault):
    """Before, a database error (not an OSError) or a stored job it could not read ended the
    sweeping task for good: no photo was deleted again, and /forget's previews were kept, until the
    process restarted."""
    import logging

    from bot.ops.media import MediaStore
    from bot.ops.retention import MediaSweeper
    from bot.storage.db import Database
    from bot.storage.repositories import Repositories

    db = await Database.open(tmp_path / "db.sqlite3")
    media = MediaStore(tmp_path / "media")
    media.save_input(b"a photo sent eight days ago")
    (expired,) = _age(media.root / "inputs", 8)
    failed = asyncio.Event()

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("media sweep failed"):
                failed.set()

    handler = Failures()
    logging.getLogger("bot.ops.retention").addHandler(handler)
    break_it, mend_it = _SWEEP_FAULTS[fault]
    db.conn.executescript(break_it)
    sweeper = MediaSweeper(Repositories.on(db, daily_free=0).jobs, media, retention_days=7, interval=0.05)
    try:
        sweeper.start()
        await asyncio.wait_for(failed.wait(), 10)
        assert not sweeper.swept.is_set() and (media.root / "inputs" / expired).exists()
        db.conn.executescript(mend_it)
        await asyncio.wait_for(sweeper.swept.wait(), 10)
        assert list((media.root / "inputs").iterdir()) == []
    finally:
        logging.getLogger("bot.ops.retention").removeHandler(handler)
        await sweeper.stop()
        await db.close()
