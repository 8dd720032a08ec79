"""The album tables on both backends: parts kept once each, at most ten, none after the album was
closed; and the job whose delivery ended last, once every job of the order's did, sends the zip."""

from __future__ import annotations

import asyncio
import time

from bot.storage.albums import MAX_PARTS, AlbumPart, Albums, forget


def _part(message_id: int, group: str = "g1", user_id: int = 7) -> AlbumPart:
    return AlbumPart(user_id, user_id, group, message_id, "photo", f"file-{message_id}", 1000, time.time())


async def test_parts_are_kept_once_at_most_ten_and_none_after_the_album_closed(store):
    albums = Albums(store)
    assert [await albums.add_part(_part(i)) for i in range(1, MAX_PARTS + 1)] == ["added"] * MAX_PARTS
    assert await albums.add_part(_part(3)) == "again"  # Telegram sent the update again
    assert await albums.add_part(_part(99)) == "full"
    assert await albums.open_albums() == [(7, 7, "g1")]
    parts = await albums.parts(7, "g1")
    assert [p.message_id for p in parts] == list(range(1, MAX_PARTS + 1)) and not parts[0].taken_in
    await albums.taken_in(parts[0], ref="inputs/a.jpg", size=(800, 1000))
    await albums.taken_in(parts[1], refusal="input.file_too_large")
    first, second = (await albums.parts(7, "g1"))[:2]
    assert (first.input_ref, first.width, first.height, first.taken_in) == ("inputs/a.jpg", 800, 1000, True)
    assert (second.refusal, second.taken_in) == ("input.file_too_large", True)
    await albums.add_part(_part(1, "other"))
    assert await albums.drop_open(7) == MAX_PARTS + 1  # /cancel while they arrive
    assert await albums.open_albums() == []
    await albums.close(7, "g1", [])
    assert await albums.add_part(_part(11)) == "late"
    # The next album closed forgets the one before; /forget forgets them all. A part that came
    # while the album was being shown is named: it is not in it.
    await albums.add_part(_part(20, "g2"))
    await albums.add_part(_part(21, "g2"))
    assert await albums.close(7, "g2", [20]) == [21]
    assert await albums.parts(7, "g1") == [] and len(await albums.parts(7, "g2")) == 2
    # Albums shown a while ago go (the quiet sessions' sweep); one still arriving stays.
    await albums.add_part(_part(30, "g3"))
    assert await albums.forget_shown(time.time() - 60) == 0
    assert await albums.forget_shown(time.time() + 1) == 2
    assert await albums.parts(7, "g2") == [] and await albums.open_albums() == [(7, 7, "g3")]
    await albums.add_part(_part(20, "g2"))

    async def work(tx):
        await forget(tx, 7)

    await store.transaction(work, user=7)
    assert await albums.parts(7, "g2") == []


async def test_the_job_delivered_last_sends_the_zip_once_and_says_so_again_after_a_restart(store):
    albums = Albums(store)
    assert await albums.delivered(7, "group", "job-a", 3) is False
    # Two ending at once: exactly one of them is the last.
    both = await asyncio.gather(albums.delivered(7, "group", "job-b", 3), albums.delivered(7, "group", "job-c", 3))
    assert sorted(both) == [False, True]
    last = "job-b" if both[0] else "job-c"
    # Asked again (a restart between the decision and its record): the same answers.
    assert await albums.delivered(7, "group", last, 3) is True
    assert await albums.delivered(7, "group", "job-a", 3) is False
