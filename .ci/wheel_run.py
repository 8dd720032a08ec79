"""Runs an installed photobot (.ci/wheel installs the wheel in a fresh venv): ``photobot check``
against PostgreSQL (connecting migrates the schema, as ``run`` does), then ``photobot run --role
worker`` for a few seconds against the fake Bot API: it must say it is running, keep running and
stop cleanly on SIGTERM. Exits non-zero, with the process's output, on any failure.

Usage: python .ci/wheel_run.py <path of the installed photobot script> <PostgreSQL URL>
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
import yaml

from tests.fakes.telegram_api import FakeTelegram

#: Seconds the worker must keep running once it said it runs.
RUNNING_FOR = 5.0
#: Seconds a command may take to start (the worker imports the local engine).
START_TIMEOUT = 120.0
RUNNING = "photobot is running (worker)"


class Failed(Exception):
    pass


async def _schema(url: str) -> tuple[str, str]:
    """A schema of its own on the test server, and the URL whose tables live there."""
    schema = f"wheel_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema, f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def _drop(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


async def _check(photobot: str, config: Path, env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        photobot,
        "check",
        "--config",
        str(config),
        cwd=config.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), START_TIMEOUT)
    text = out.decode("utf-8", "replace")
    print(text, end="")
    for expected in ("local: enabled", "database: PostgreSQL, reachable, schema up to date", "config OK"):
        if expected not in text:
            raise Failed(f"photobot check did not say {expected!r}")
    if proc.returncode != 0:
        raise Failed(f"photobot check exited {proc.returncode}")


async def _worker(photobot: str, config: Path, env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        photobot,
        "run",
        "--role",
        "worker",
        "--config",
        str(config),
        cwd=config.parent,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []

    async def read_until_running() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            lines.append(raw.decode("utf-8", "replace"))
            if RUNNING in lines[-1]:
                return
        raise Failed(f"the worker ended (exit {await proc.wait()}) before saying {RUNNING!r}")

    async def read_rest() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            lines.append(raw.decode("utf-8", "replace"))

    try:
        await asyncio.wait_for(read_until_running(), START_TIMEOUT)
        rest = asyncio.create_task(read_rest())
        try:
            code = await asyncio.wait_for(asyncio.shield(proc.wait()), RUNNING_FOR)
        except TimeoutError:
            pass  # still running, as it should
        else:
            raise Failed(f"the worker stopped on its own (exit {code})")
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        await rest
        if code != 0:
            raise Failed(f"the worker exited {code} on SIGTERM")
        crashed = [line for line in lines if "Traceback" in line or " ERROR " in line or " CRITICAL " in line]
        if crashed:
            raise Failed(f"the worker logged an error: {crashed[0].strip()}")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        print("".join(lines), end="")


async def main(photobot: str, url: str) -> None:
    schema, schema_url = await _schema(url)
    telegram = FakeTelegram()
    await telegram.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "config.yaml"
            settings = {
                "telegram": {
                    "token": telegram.token,
                    "base_url": telegram.base_url,
                    "base_file_url": telegram.base_file_url,
                },
                "database": {"url": schema_url, "path": f"{folder}/unused.sqlite3", "media_dir": f"{folder}/media"},
            }
            config.write_text(yaml.safe_dump(settings), encoding="utf-8")
            # The installed photobot alone: nothing from this checkout, no config from the caller.
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("PYTHON", "PHOTOBOT_", "TELEGRAM_", "VIRTUAL_ENV"))
            }
            await _check(photobot, config, env)
            await _worker(photobot, config, env)
    finally:
        await telegram.stop()
        await _drop(url, schema)


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    except Failed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print("the installed wheel checks the database and runs a worker")
