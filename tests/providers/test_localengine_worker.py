"""The local engine's worker process: answers, a crash in it, and its end when the bot is killed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("ai_edge_litert", reason="the photobot[local] extra is not installed")

from providers.errors import EngineBusy, EngineCrashed, EngineTimeout
from providers.localengine import worker as worker_module
from providers.localengine.worker import EngineLimits, EngineWorker, FaceProblem, Urgency
from tests.conftest import portrait_jpeg

SPEC = {"px_width": 413, "px_height": 531, "dpi": 300, "bg_color": "438EDB", "rule": "icao"}


def _blank() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 800), "#d0d0d0").save(out, "JPEG")
    return out.getvalue()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # an exited, unreaped one is gone
    except FileNotFoundError:
        return False


async def _gone(pid: int) -> None:
    """Until the process has ended (polled: the OS tells no other process when it does)."""
    while _running(pid):
        await asyncio.sleep(0.05)


@pytest.fixture
async def worker():
    engine = EngineWorker(1)
    yield engine
    engine.close()


async def test_faces_and_photos_come_back_from_the_worker(worker):
    good = await worker.inspect(portrait_jpeg())
    assert good.problem is None and good.id_problem is None and good.head_px > 200
    assert (await worker.inspect(_blank())).problem == "no_face"
    photo, placement = await worker.make_id_photo(portrait_jpeg(), SPEC)
    with Image.open(io.BytesIO(photo)) as img:
        assert img.size == (413, 531)
    assert placement["rule"] == "icao" and 0.71 <= placement["shares"]["head_crown"] <= 0.80
    with pytest.raises(FaceProblem) as refused:
        await worker.make_id_photo(_blank(), SPEC)
    assert refused.value.code == "no_face"


async def test_a_stored_file_is_read_by_the_worker_not_handed_to_it(worker, tmp_path):
    stored, blank = tmp_path / "photo.jpg", tmp_path / "blank.jpg"
    stored.write_bytes(portrait_jpeg())
    blank.write_bytes(_blank())
    assert (await worker.inspect(stored)) == (await worker.inspect(portrait_jpeg()))
    assert (await worker.inspect(blank)).problem == "no_face"
    photo, _ = await worker.make_id_photo(portrait_jpeg(), SPEC)
    result = tmp_path / "result.jpg"
    result.write_bytes(photo)
    placement = await worker.report(result, "438EDB", "icao", (35.0, 45.0), checklist=False)
    assert placement == await worker.report(photo, "438EDB", "icao", (35.0, 45.0), checklist=False)
    assert placement is not None and placement["rule"] == "icao"


async def test_a_preview_comes_back_with_its_checklist_and_a_finished_photo_is_measured_alike(worker):
    photo, report = await worker.make_id_photo(portrait_jpeg(), {**SPEC, "mm": (35, 45)}, preview=True)
    checks = {item["key"]: item for item in report["checklist"]}
    face = ["roll", "yaw", "pitch", "eyelids", "mouth", "sharpness", "light", "light_sides", "burnt_out", "glasses"]
    face += ["hair", "head_covering", "hands"]
    assert list(checks) == ["head", "eyes", *face, "background"]
    assert checks["head"]["unit"] == "mm" and checks["head"]["low"] == 32.0 and checks["head"]["high"] == 36.0
    assert checks["background"]["variant"] == "clean" and checks["background"]["status"] == "ok"
    assert checks["mouth"] == {**checks["mouth"], "variant": "apart", "status": "warn"}  # ICAO: a neutral face
    assert all(checks[key]["status"] == "ok" for key in ["head", "eyes", "roll", "yaw", "pitch", "sharpness"])
    assert report["shares"] == (await worker.make_id_photo(portrait_jpeg(), SPEC))[1]["shares"]
    # A photo made elsewhere (PicWish's) is measured on its pixels: the same items but the cut-out.
    measured = await worker.report(photo, "438EDB", "icao", (35, 45), checklist=True)
    assert measured is not None and [item["key"] for item in measured["checklist"]] == ["head", "eyes", *face]
    assert abs(measured["checklist"][0]["value"] - checks["head"]["value"]) < 1.0
    # Where no checklist is shown (a bought photo's caption names the placement alone), none is made.
    placed = await worker.report(photo, "438EDB", "icao", (35, 45), checklist=False)
    assert placed == {"rule": "icao", "shares": measured["shares"]}
    # No face to measure: no placement for a caption, and a checklist that says so.
    assert await worker.report(_blank(), "438EDB", "icao", (35, 45), checklist=False) is None
    unmeasured = await worker.report(_blank(), "438EDB", "icao", (35, 45), checklist=True)
    assert unmeasured is not None and unmeasured["shares"] == {}
    assert [(item["key"], item["status"], item["variant"]) for item in unmeasured["checklist"]] == [
        ("face", "fail", "missing")
    ]


async def test_a_crashed_worker_is_replaced_and_the_metrics_are_told(worker):
    with pytest.raises(EngineCrashed):
        # The worker dies as if native code had crashed.
        await worker._run(os._exit, 3, limits=EngineLimits(), urgency=Urgency.CHECK)
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert worker.endings == {"time_limit": 0, "crashed": 1}


async def test_the_worker_leaves_when_the_bot_is_killed():
    script = textwrap.dedent("""
        import asyncio
        from providers.localengine.worker import shared_worker
        from tests.conftest import portrait_jpeg

        async def main():
            engine = shared_worker(1)
            assert (await engine.inspect(portrait_jpeg())).problem is None
            print(*engine.pids(), flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
    """)

    bot = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(bot.stdout.readline(), 60)
    (pid,) = [int(p) for p in line.split()]
    assert _running(pid)
    bot.send_signal(signal.SIGKILL)
    await bot.wait()
    await asyncio.wait_for(_gone(pid), 10)


async def test_a_full_queue_is_busy_at_once_and_costs_no_engine_time(worker):

    limits = EngineLimits(queue_limit=1)
    photos = [asyncio.ensure_future(worker.inspect(portrait_jpeg(), limits)) for _ in range(2)]
    while worker.pending < 2:  # let both tasks reach the engine (a yield, not a timed wait)
        await asyncio.sleep(0)
    with pytest.raises(EngineBusy):
        await worker.inspect(portrait_jpeg(), limits)  # one being made, one waiting: full
    assert worker.started == 2
    assert [(await p).problem for p in photos] == [None, None]
    assert worker.pending == 0
    assert (await worker.inspect(portrait_jpeg(), limits)).problem is None


async def test_free_previews_leave_room_in_the_queue_for_paid_photos_and_go_after_them(worker):
    # Free previews are bounded per person, not all people's together: many people's filled the
    # queue, and a paid photo (another size, an album's photo) and everyone's face checks were told
    # "very busy"; a paid photo waited behind every preview that came before it. Previews now fill
    # half the queue, and a free process takes a paid photo before them.
    await worker.inspect(portrait_jpeg())  # started and warm
    limits = EngineLimits(queue_limit=2)
    done: list[str] = []

    def call(name: str, free: bool) -> asyncio.Future[object]:
        future = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC, limits, free=free))
        future.add_done_callback(lambda _: done.append(name))
        return future

    first = call("preview 1", free=True)
    await _waiting(worker, 1)
    second = call("preview 2", free=True)
    await _waiting(worker, 2)  # one being made, one waiting: the previews' half of the queue
    with pytest.raises(EngineBusy):
        await worker.make_id_photo(portrait_jpeg(), SPEC, limits, free=True)
    paid = call("paid", free=False)
    await _waiting(worker, 3)
    await asyncio.gather(first, second, paid)
    assert done == ["preview 1", "paid", "preview 2"]
    assert worker.pending == 0


async def _waiting(worker: EngineWorker, calls: int) -> None:
    """Until ``calls`` calls are being made or wait for the engine (yields, not a timed wait)."""
    while worker.pending < calls:
        await asyncio.sleep(0)


async def test_a_free_worker_takes_the_most_urgent_call_first(worker):
    # One process, busy making an ID photo while another ID photo, face checks and a provider's
    # finished photo wait: the finished photo (an order's delivery waits on it) is measured first,
    # then the checks (people wait at a button) in the order they came, then the ID photo that came
    # before them all. First come, first served would take them as they came.
    finished, _ = await worker.make_id_photo(portrait_jpeg(), SPEC)  # started and warm
    done: list[str] = []

    def call(name: str, work: Awaitable[object]) -> asyncio.Future[object]:
        future = asyncio.ensure_future(work)
        future.add_done_callback(lambda _: done.append(name))
        return future

    photo = call("photo", worker.make_id_photo(portrait_jpeg(), SPEC))
    await _waiting(worker, 1)
    later = call("photo 2", worker.make_id_photo(portrait_jpeg(), SPEC))
    first, second = call("check 1", worker.inspect(portrait_jpeg())), call("check 2", worker.inspect(_blank()))
    result = call("result", worker.report(finished, "438EDB", "icao", (35.0, 45.0), checklist=False))
    await _waiting(worker, 5)
    await asyncio.gather(photo, later, first, second, result)
    assert done == ["photo", "result", "check 1", "check 2", "photo 2"]
    assert (first.result().problem, second.result().problem) == (None, "no_face")
    assert result.result() == await worker.report(finished, "438EDB", "icao", (35.0, 45.0), checklist=False)


async def test_a_call_cancelled_while_it_waits_gives_its_turn_to_the_next(worker):
    await worker.inspect(portrait_jpeg())  # started and warm
    photo = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
    await _waiting(worker, 1)
    given_up = asyncio.ensure_future(worker.inspect(portrait_jpeg()))
    kept = asyncio.ensure_future(worker.inspect(_blank()))
    await _waiting(worker, 3)
    given_up.cancel()
    await photo
    assert (await kept).problem == "no_face" and given_up.cancelled()
    assert worker.pending == 0
    # Nothing holds the process: a call after them is made at once.
    assert (await worker.inspect(portrait_jpeg())).problem is None


async def test_the_time_limit_counts_a_call_s_run_not_its_wait(worker):
    # A face check allowed 0.2 s waits longer than that for the ID photo being made: it is not
    # timed out while it waits (nor is the photo killed by its time-out), and runs in its time.
    await worker.inspect(portrait_jpeg())  # started and warm
    photo = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
    await _waiting(worker, 1)
    started = asyncio.get_running_loop().time()
    findings = await worker.inspect(portrait_jpeg(), EngineLimits(time_limit=0.2))
    assert findings.problem is None and photo.done()
    assert asyncio.get_running_loop().time() - started > 0.2  # it did wait longer than its limit
    made, _ = await photo
    with Image.open(io.BytesIO(made)) as img:
        assert img.size == (413, 531)


async def test_a_call_that_waited_its_allowance_goes_before_more_urgent_calls_that_came_later():
    # None waits without end while more urgent calls keep coming: here an ID photo's allowance is
    # nothing and a face check's a minute, so the ID photo that came first is made first.
    worker = EngineWorker(1, allowance={Urgency.RESULT: 0.0, Urgency.CHECK: 60.0, Urgency.PHOTO: 0.0})
    try:
        await worker.inspect(portrait_jpeg())  # started and warm
        done: list[str] = []
        photo = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
        await _waiting(worker, 1)
        later = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
        later.add_done_callback(lambda _: done.append("photo 2"))
        await _waiting(worker, 2)
        check = asyncio.ensure_future(worker.inspect(portrait_jpeg()))
        check.add_done_callback(lambda _: done.append("check"))
        await asyncio.gather(photo, later, check)
        assert done == ["photo 2", "check"]
    finally:
        worker.close()


async def test_a_process_is_free_when_it_has_answered_a_call_not_when_its_caller_gives_up(worker):
    # An ID photo's job is cancelled while the worker makes it (a job given up, a bot stopping): the
    # process goes on with it, so a face check behind it waits for it in the bot's process. (Handed to
    # a process pool at once, the check waited in the pool's queue, ran out of its time and killed
    # the worker.)
    await worker.inspect(portrait_jpeg())  # started and warm
    photo = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
    await _waiting(worker, 1)
    photo.cancel()
    started = asyncio.get_running_loop().time()
    findings = await worker.inspect(portrait_jpeg(), EngineLimits(time_limit=0.2))
    assert findings.problem is None and photo.cancelled()
    assert asyncio.get_running_loop().time() - started > 0.2  # it waited for the photo being made


async def test_a_call_handed_the_process_as_it_is_cancelled_hands_it_on():
    worker = EngineWorker(1)
    loop, slot = await worker._turn(Urgency.CHECK)  # holds the only process
    first = asyncio.ensure_future(worker._turn(Urgency.CHECK))
    second = asyncio.ensure_future(worker._turn(Urgency.PHOTO))
    while len(worker._waiting) < 2:
        await asyncio.sleep(0)
    worker._hand_on(loop, slot)  # the process is free: the first waiting call takes it
    first.cancel()  # before it could go on
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 10) == (loop, slot)  # the process went on to it
    assert (worker._free, worker._waiting) == ([], [])
    worker._hand_on(loop, slot)
    assert worker._free == [slot]


async def test_each_call_tells_how_long_it_waited_and_a_failing_listener_costs_it_nothing(worker):
    waits: list[tuple[Urgency, float]] = []
    worker.waited = lambda urgency, seconds: waits.append((urgency, seconds))
    await worker.inspect(portrait_jpeg())  # a process free: no wait
    photo = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
    await _waiting(worker, 1)
    await worker.inspect(portrait_jpeg())  # behind the photo being made
    await photo
    assert [urgency for urgency, _ in waits] == [Urgency.CHECK, Urgency.PHOTO, Urgency.CHECK]
    assert waits[0][1] < 0.1 and waits[2][1] > waits[0][1]

    def broken(_urgency: Urgency, _seconds: float) -> None:
        raise RuntimeError("a metric that fails")

    worker.waited = broken
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert (await worker.inspect(portrait_jpeg())).problem is None  # and the process was handed on


async def test_a_photo_over_its_time_limit_ends_the_worker_and_the_next_photo_works(worker):

    await worker.inspect(portrait_jpeg())  # started and warm
    (stuck,) = worker.pids()
    with pytest.raises(EngineTimeout):
        await worker.make_id_photo(portrait_jpeg(), SPEC, EngineLimits(time_limit=0.001))
    assert worker.endings == {"time_limit": 1, "crashed": 0}
    # The stuck process is gone, not left working, and the next call has a new one.
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert worker.pids() != [stuck]
    await asyncio.wait_for(_gone(stuck), 10)


async def _collected(pid: int) -> None:
    """Until the process has ended and its exit been collected (polled, as in ``_gone``)."""
    while Path(f"/proc/{pid}").exists():
        await asyncio.sleep(0.01)


async def _replaced(worker: EngineWorker, old: int) -> int:
    """The worker's new process, once the ended one's call is over (polled, as in ``_gone``)."""
    while worker.pids() in ([], [old]):
        await asyncio.sleep(0.01)
    (new,) = worker.pids()
    return new


async def test_a_process_that_ends_under_a_call_is_replaced_at_once_and_collected(worker, tmp_path):
    """The next call finds a process that started without it (no second of loading the models in its
    wait, or in its time limit), and the ended one is no zombie waiting for the next start."""
    await worker.inspect(portrait_jpeg())  # started and warm
    (stuck,) = worker.pids()
    flag = tmp_path / "started"
    with pytest.raises(EngineTimeout):
        await worker._run(_started_then_sleep, str(flag), 30, limits=EngineLimits(time_limit=1), urgency=Urgency.CHECK)
    new = await asyncio.wait_for(_replaced(worker, stuck), 10)
    await asyncio.wait_for(_collected(stuck), 10)  # ended, and no zombie left
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert worker.pids() == [new]  # that process answered: nothing was started for the call
    os.kill(new, signal.SIGKILL)  # dies while idle: the next call finds out
    with pytest.raises(EngineCrashed):
        await worker.inspect(portrait_jpeg())
    newer = await asyncio.wait_for(_replaced(worker, new), 10)
    assert newer != new
    await asyncio.wait_for(_collected(new), 10)
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert worker.pids() == [newer]


async def test_a_replacement_that_cannot_start_leaves_the_slot_to_the_next_call(worker, tmp_path, monkeypatch):
    """No process can be started as the ended one is replaced (the machine out of memory or of file
    descriptors): the call that ended fails, and the next call starts one once it can."""
    await worker.inspect(portrait_jpeg())  # started and warm
    (stuck,) = worker.pids()

    def cannot_start(*args: object) -> None:
        raise OSError("[Errno 24] Too many open files")

    monkeypatch.setattr(worker_module, "EngineProcess", cannot_start)
    with pytest.raises(EngineTimeout):
        await worker._run(
            _started_then_sleep, str(tmp_path / "started"), 30, limits=EngineLimits(time_limit=1), urgency=Urgency.CHECK
        )
    await asyncio.wait_for(_collected(stuck), 10)
    assert worker.pids() == []
    monkeypatch.undo()
    findings = await asyncio.wait_for(worker.inspect(portrait_jpeg()), 30)
    assert findings.problem is None and len(worker.pids()) == 1


def test_an_event_loop_torn_down_during_a_call_starts_no_new_process():
    """The bot stopping (its event loop's tasks cancelled) during a photo ends that photo's process
    and starts none in its place: one would load the models as the interpreter exits."""
    worker = EngineWorker(1)
    try:
        with asyncio.Runner() as runner:
            runner.run(worker.inspect(portrait_jpeg()))  # started and warm
            (old,) = worker.pids()
            runner.get_loop().create_task(worker.make_id_photo(portrait_jpeg(), SPEC))
            runner.run(asyncio.sleep(0.05))  # the photo is being made as the runner closes
        assert worker.pids() == []
        asyncio.run(asyncio.wait_for(_collected(old), 10))
    finally:
        worker.close()


@pytest.mark.parametrize("cutout", [False, True])
def test_a_worker_loads_the_cut_out_models_only_where_it_makes_id_photos(cutout):
    """A bot that only checks faces (no local ID photos) never holds the 180 MB cut-out models; one
    that makes them loads them as its worker starts. Run as a worker process would be, whose
    parent is the process that spawned it."""
    code = textwrap.dedent(
        f"""
        import os, threading
        from providers.localengine import models, worker
        worker._start(os.getppid(), {cutout})
        for thread in threading.enumerate():
            if thread.name == "warm-cutout":
                thread.join()
        print(models._segmenter.cache_info().currsize, models._tflite.cache_info().currsize > 0)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == [("2" if cutout else "0"), "True"]


def test_no_answer_of_the_engine_brings_numpy_into_the_bot_s_process(tmp_path):
    """The bot's process never imports numpy: every answer it rebuilds (a face check's findings, an ID
    photo's report as a preview and as a bought photo, a provider's photo measured both ways) holds
    plain Python values. A NumPy number in one (a share of the head, the face's burnt-out share) made
    the bot import NumPy at its first face check. Run in a fresh interpreter, as the bot is."""
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(portrait_jpeg())
    script = tmp_path / "bot_side.py"  # spawned processes need their parent's main module as a file
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, sys
            from providers.localengine.worker import EngineWorker

            SPEC = {dict(SPEC, mm=[35, 45])!r}

            async def main():
                data = open({str(photo)!r}, "rb").read()
                worker = EngineWorker(1)
                try:
                    seen = ["numpy" in sys.modules]
                    findings = await worker.inspect(data)
                    seen.append("numpy" in sys.modules)
                    preview, _ = await worker.make_id_photo(data, SPEC, preview=True)
                    await worker.make_id_photo(data, SPEC)
                    seen.append("numpy" in sys.modules)
                    for checklist in (True, False):
                        await worker.report(preview, "438EDB", "icao", (35.0, 45.0), checklist=checklist)
                    seen.append("numpy" in sys.modules)
                    print(findings.problem, *seen)
                finally:
                    worker.close()

            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.stdout.split() == ["None", "False", "False", "False", "False"]


async def test_a_time_out_ends_only_its_own_process():
    # Two processes: one runs past its time limit, the other's photo, made meanwhile, comes back.
    worker = EngineWorker(2)
    try:
        worker.warm(cutout=True)
        await asyncio.gather(worker.inspect(portrait_jpeg()), worker.inspect(portrait_jpeg()))  # both started
        before = set(worker.pids())
        other = asyncio.ensure_future(worker.make_id_photo(portrait_jpeg(), SPEC))
        await _waiting(worker, 1)
        with pytest.raises(EngineTimeout):
            await worker.make_id_photo(portrait_jpeg(), SPEC, EngineLimits(time_limit=0.001))
        made, _ = await other
        with Image.open(io.BytesIO(made)) as img:
            assert img.size == (413, 531)
        assert len(before & set(worker.pids())) == 1  # the other process is the one it was
    finally:
        worker.close()


def _fails(kind: str) -> None:
    import numpy as np

    if kind == "value":
        raise ValueError("not a photo")
    if kind == "numpy":
        np.linalg.inv(np.zeros((2, 2)))
    if kind == "holds numpy":
        {}[np.int64(3)]  # a KeyError holding a numpy number
    if kind == "timeout":
        raise TimeoutError("the engine's own")
    if kind == "exit":
        raise SystemExit(3)
    raise ValueError(threading.Lock())  # a lock cannot be pickled


async def test_what_the_engine_raises_comes_back_with_its_traceback(worker):
    with pytest.raises(ValueError, match="not a photo") as raised:
        await worker._run(_fails, "value", limits=EngineLimits(), urgency=Urgency.CHECK)
    assert "in _fails" in raised.value.__notes__[-1]  # where in the engine's process
    with pytest.raises(RuntimeError, match=r"ValueError: <unlocked _thread\.lock"):
        await worker._run(_fails, "lock", limits=EngineLimits(), urgency=Urgency.CHECK)
    assert (await worker.inspect(portrait_jpeg())).problem is None  # the process answers on


async def test_an_error_of_the_engine_s_libraries_comes_back_as_text_not_importing_them_into_the_bot(worker):
    """numpy.linalg.LinAlgError, or a KeyError holding a numpy number, rebuilt in the bot's process
    would import numpy there; a SystemExit is not the bot's to raise."""
    for kind, text in (
        ("numpy", "LinAlgError: Singular matrix"),
        ("holds numpy", "KeyError: np.int64"),
        ("exit", "SystemExit: 3"),
    ):
        with pytest.raises(RuntimeError, match=text) as raised:
            await worker._run(_fails, kind, limits=EngineLimits(), urgency=Urgency.CHECK)
        assert type(raised.value) is RuntimeError
        assert "in _fails" in str(raised.value)  # with the engine process's traceback


async def test_the_engine_s_own_timeout_error_is_not_its_time_limit(worker):
    """A TimeoutError the engine raised comes back as it is: the process answered, it is not ended,
    and no time limit is counted."""
    await worker.inspect(portrait_jpeg())  # started and warm
    (process,) = worker.pids()
    with pytest.raises(TimeoutError, match="the engine's own"):
        await worker._run(_fails, "timeout", limits=EngineLimits(), urgency=Urgency.CHECK)
    assert worker.endings == {"time_limit": 0, "crashed": 0}
    assert (await worker.inspect(portrait_jpeg())).problem is None and worker.pids() == [process]


def test_a_call_left_in_an_event_loop_that_closed_leaves_no_process_answering_no_one():
    worker = EngineWorker(1)
    try:
        first = asyncio.new_event_loop()
        first.run_until_complete(worker.inspect(portrait_jpeg()))  # started and warm
        (old,) = worker.pids()
        left = first.create_task(worker.make_id_photo(portrait_jpeg(), SPEC))
        first.run_until_complete(asyncio.sleep(0.05))  # the photo is being made when the loop closes
        first.set_exception_handler(lambda _loop, _context: None)  # its tasks are dropped unfinished
        first.close()
        assert not left.done()
        findings = asyncio.run(worker.inspect(portrait_jpeg()))
        assert findings.problem is None and worker.pids() != [old]
        asyncio.run(_gone(old))
    finally:
        worker.close()


async def test_a_call_takes_no_thread_in_the_bot_s_process(worker):
    await worker.inspect(portrait_jpeg())
    threads = threading.active_count()
    await asyncio.gather(*(worker.inspect(portrait_jpeg()) for _ in range(3)))
    assert threading.active_count() == threads


def _started_then_sleep(flag: str, seconds: float) -> float:
    """Run in the engine's process: say that the call has started (``flag``, a file), then take ``seconds``."""
    Path(flag).touch()
    time.sleep(seconds)
    return seconds


async def _started(flag: Path) -> None:
    while not flag.exists():
        await asyncio.sleep(0.01)


async def test_an_answer_that_comes_as_the_time_limit_runs_out_costs_the_next_call_nothing(worker, tmp_path):
    # The answer comes while the event loop is busy, and the time limit passes meanwhile: whichever the
    # loop sees first, the process is either trusted with the next call or ended, never killed and kept.
    warm = EngineLimits()
    await worker._run(_started_then_sleep, str(tmp_path / "warm"), 0, limits=warm, urgency=Urgency.CHECK)  # imported
    flag = tmp_path / "started"
    limits = EngineLimits(time_limit=0.2)
    call = asyncio.ensure_future(worker._run(_started_then_sleep, str(flag), 0.1, limits=limits, urgency=Urgency.CHECK))
    await asyncio.wait_for(_started(flag), 30)
    time.sleep(0.5)  # the event loop busy elsewhere (not synchronisation: the call has answered by now)
    with contextlib.suppress(EngineTimeout):
        assert await call == 0.1
    assert (await worker.inspect(portrait_jpeg())).problem is None


async def test_closing_the_worker_during_a_call_ends_that_call_and_the_next_starts_anew(worker, tmp_path):
    await worker.inspect(portrait_jpeg())  # started and warm
    flag = tmp_path / "started"
    call = asyncio.ensure_future(
        worker._run(_started_then_sleep, str(flag), 30, limits=EngineLimits(), urgency=Urgency.CHECK)
    )
    await asyncio.wait_for(_started(flag), 30)
    (old,) = worker.pids()
    worker.close()
    with pytest.raises(EngineCrashed):
        await asyncio.wait_for(call, 10)
    assert (await worker.inspect(portrait_jpeg())).problem is None
    assert worker.pids() != [old]


def _refuse() -> None:
    raise ValueError("cannot be rebuilt")


class _Unbuildable:
    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        return (_refuse, ())


async def test_arguments_the_engine_cannot_rebuild_fail_the_call_not_the_process(worker):
    await worker.inspect(portrait_jpeg())
    (pid,) = worker.pids()
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        await worker._run(str, _Unbuildable(), limits=EngineLimits(), urgency=Urgency.CHECK)
    assert (await worker.inspect(portrait_jpeg())).problem is None and worker.pids() == [pid]
