"""Command line: ``photobot run --config PATH`` and ``photobot check --config PATH``."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import signal
import sys
from collections.abc import Callable

from bot.config import ConfigError, Settings, load_settings

#: glibc's mallopt parameter, and the size from which every allocation gets a mapping of its own.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


def _return_freed_memory() -> None:
    """Make glibc give large freed buffers back to the system. By default its mmap threshold
    rises to 32 MB after the first large free, so the pixels of a large upload (decoded on a
    worker thread, in Pillow's 16 MB blocks) stayed in that thread's arena: one 6400×6400 PNG
    left the bot 300 MB larger for good. A fixed threshold keeps each such block in its own
    mapping, unmapped when freed. Elsewhere (musl, macOS) nothing is changed."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def _check(settings: Settings) -> int:
    from bot.services import registry  # the dialogs behind it load only for this command and run

    problems = []
    if not settings.telegram.token:
        problems.append("telegram.token: not set (or set TELEGRAM_BOT_TOKEN)")
    print("providers:")
    for name in registry.provider_names():
        provider = getattr(settings.providers, name)
        if provider.usable and getattr(provider, "needs_public_url", False) and not settings.server.public_url:
            state = "enabled, but needs server.public_url to publish photos"
            problems.append(f"server.public_url: required by providers.{name}")
        elif provider.usable:
            state = "enabled"
        elif provider.enabled:  # explicitly enabled but incomplete
            state = "enabled, incomplete: missing " + ", ".join(provider.missing)
            problems += [
                f"providers.{name}.{key}: required when providers.{name}.enabled is true" for key in provider.missing
            ]
        else:
            state = "disabled" + (f" (set {', '.join(provider.missing)})" if provider.missing else "")
        print(f"  {name}: {state}")
    services = registry.enabled(settings)
    print("services:")
    for name in registry.BY_NAME:
        print(f"  {name}: " + (f"served by {services[name]}" if name in services else "not available"))
    for key in settings.plain_http_urls():
        print(
            f"warning: {key}: plain http:// (photos, keys and signed links travel unencrypted); use https://",
            file=sys.stderr,
        )
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    print("config OK")
    return 0


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux and macOS): the bot spends most of its time on
    sockets, and uvloop's event loop makes each request several times cheaper."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _run(settings: Settings) -> int:
    from bot.app import run_until_stopped
    from bot.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets())
    _return_freed_memory()
    if not settings.telegram.token:
        print("error: telegram.token: not set (or set TELEGRAM_BOT_TOKEN)", file=sys.stderr)
        return 1

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_until_stopped(settings, stop)

    from telegram.error import InvalidToken, NetworkError

    try:
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            runner.run(main())
    except InvalidToken:
        print("error: telegram.token: Telegram refused this bot token", file=sys.stderr)
        return 1
    except NetworkError as err:
        print(f"error: cannot reach Telegram at telegram.base_url: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: cannot start the web server on server.host/server.port: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="photobot", description="A photo studio in a Telegram chat.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "run the bot"), ("check", "validate the config and list the services")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", help="YAML config file (default: $PHOTOBOT_CONFIG)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return _check(settings) if args.command == "check" else _run(settings)


if __name__ == "__main__":
    sys.exit(main())
