"""``photobot run`` and ``photobot check``: the bot itself, and what an operator sees before it runs."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Iterable

from bot.config import Settings
from bot.roles import Role
from bot.storage.schema import NEWER_SCHEMA
from providers import heap
from providers.localengine.files import hand_models_present, u2net_path

log = logging.getLogger(__name__)

NO_FULL_CUTOUT_MODEL = (
    "providers.local: the stronger cut-out model is not installed, so busy backgrounds may show beside the"
    " body; install it once with `photobot models`"
)
NO_HAND_MODELS = (
    "providers.local: the hand models are not installed, so a hand at the face is not looked for;"
    " install them once with `photobot models`"
)
FULL_CUTOUT_FOR_ANOTHER_PROCESSOR = (
    "providers.local: the stronger cut-out model is stored in 8-bit integers, which this processor (no VNNI)"
    " does not run as they were measured; run `photobot models` on this machine (with --dir and"
    " PHOTOBOT_MODELS where the models folder is read-only) to store the float16 form"
)

#: Payments on and nobody to answer for them (telegram.admin_ids empty). A warning, not a refusal:
#: a bot that sells Stars while being tried out is fine, and an upgrade must not stop a running
#: one; its users are told the truth either way (no "the operator has been told").
NO_ADMINS_FOR_PAYMENTS = (
    "telegram.admin_ids: empty while payments.packs sells credits: buyers' /paysupport questions and the"
    " operator alerts reach nobody, and nobody can /refund; set PHOTOBOT_ADMIN_IDS (or telegram.admin_ids)"
    " to your Telegram user id"
)

#: The size from which every allocation of the bot's gets a mapping of its own (see _return_freed_memory).
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


def _return_freed_memory() -> None:
    """Make glibc give large freed buffers back to the system. By default its mmap threshold
    rises to 32 MB after the first large free, so the pixels of a large upload (decoded on a
    worker thread, in Pillow's 16 MB blocks) stayed in that thread's arena: one 6400×6400 PNG
    left the bot 300 MB larger for good. A fixed threshold keeps each such block in its own
    mapping, unmapped when freed. Elsewhere (musl, macOS) nothing is changed."""
    heap.map_from(MMAP_THRESHOLD_BYTES)


#: How to fix a problem ``check`` finds, by the key it names (exact, then by prefix).
_FIXES = {
    "providers.wanxing.templates": (
        "point the template's image at a readable JPEG, PNG or WebP file (or an https:// URL), or remove the template"
    ),
    "telegram.token": (
        "talk to @BotFather in Telegram (/newbot) for a bot token, then set TELEGRAM_BOT_TOKEN=<token> in the"
        " environment or telegram.token in the config"
    ),
    "server.public_url": (
        "set server.public_url to the https:// address at which this machine's server.port is reachable from"
        " the internet (providers fetch photos and send callbacks there)"
    ),
    "telegram.base_url": (
        "check this machine's internet connection and DNS (or telegram.base_url, if you run your own Bot API server)"
    ),
    "server.port": "another program holds the port: choose a free server.port, or the right server.host",
    "webhook": (
        "set server.public_url to an https:// address on port 443, 80, 88 or 8443 at which Telegram reaches"
        " this machine's server.port (with a certificate Telegram trusts), or use telegram.mode: polling"
    ),
    "database.url": (
        "check the host, port, database name, user and password in database.url, and that the PostgreSQL"
        " server runs and accepts connections from this machine"
    ),
    "database.path": (
        "set database.path to a file in a folder this user may write (the folder is made if it can be), on a"
        " local disk, or remove a file there that is not a photobot database"
    ),
    "no config file": "copy config.example.yaml, then run: photobot check --config config.yaml",
    "schema too new": (
        "run the photobot release that migrated the database (or a newer one) in every process, bot and"
        " workers alike: a schema is never migrated back"
    ),
    "--role": "set database.url to the PostgreSQL server every process shares (docs/deploy.md), or run --role all",
}


def _fix(problem: str) -> str:
    key, _, message = problem.partition(": ")
    if key == "server.public_url" and "webhook" in message:
        return _FIXES["webhook"]
    if key.startswith("database.") and NEWER_SCHEMA in message:
        return _FIXES["schema too new"]
    if key == "telegram.base_url" and message.startswith("Telegram refused"):
        return "check telegram.base_url: Telegram's own (https://api.telegram.org/bot), or your Bot API server's"
    if key in _FIXES:
        return _FIXES[key]
    if key.startswith("--role "):
        return _FIXES["--role"]
    if message.startswith("required when providers."):
        provider = key.split(".")[1]
        return f"set {key} (see config.example.yaml), or turn the provider off: providers.{provider}.enabled: false"
    if message == "unknown key":
        return "check its spelling against config.example.yaml, or remove it"
    if " is not valid YAML" in key:
        return "correct the YAML there (an unclosed quote, a tab, or a key indented differently from its neighbours)"
    if key.startswith(("cannot read config file", "no config file")):
        return _FIXES["no config file"]
    return f"see {key.rsplit('.', 1)[-1]} in config.example.yaml for what it takes"


def report(problems: list[str], secrets: Iterable[str]) -> None:
    """Every problem on its own line, each with how to fix it. Redacted as the log is (bot/ops/logs.py):
    a problem may quote a driver's or an HTTP client's error, and those quote URLs (the bot token is
    in every Bot API URL, a password in database.url), so ``secrets`` are hidden and so is any URL's
    password."""
    from bot.ops.logs import RedactSecrets

    redactor = RedactSecrets(secrets)
    for problem in problems:
        print(f"error: {redactor.redact(problem)}", file=sys.stderr)
        print(f"  fix: {redactor.redact(_fix(problem))}", file=sys.stderr)


def check(settings: Settings) -> int:
    from bot.services import registry  # the dialogs behind it load only for this command and run

    problems = []
    if not settings.telegram.token:
        problems.append("telegram.token: not set")
    print("providers:")
    for name in registry.provider_names():
        provider = getattr(settings.providers, name)
        if provider.usable and provider.needs_public_url and not settings.server.public_url:
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
    problems += _template_problems(settings)
    services = registry.enabled(settings)
    print("services:")
    for name in registry.BY_NAME:
        print(f"  {name}: " + (f"served by {services[name]}" if name in services else "not available"))
    for warning in _warnings(settings):
        print(f"warning: {warning}", file=sys.stderr)
    if settings.database.url:
        reached = asyncio.run(_reach_postgres(settings.database.url))
        if reached:
            problems.append(f"database.url: {reached}")
        else:
            print("database: PostgreSQL, reachable, schema up to date")
    else:
        print(f"database: SQLite at {settings.database.path}")
    if problems:
        report(problems, settings.secrets())
        return 1
    print("config OK")
    return 0


def _template_problems(settings: Settings) -> list[str]:
    """玩星's portrait templates given as files that cannot be used (``run`` would leave them out;
    with none left, AI portraits are unavailable)."""
    if not settings.providers.wanxing.usable:
        return []
    from bot.main.wiring import template_limits
    from bot.ops.templates import template_file

    found = []
    for template in settings.providers.wanxing.templates:
        if not template.image.startswith(("http://", "https://")):
            problem, _image = template_file(template, template_limits())
            if problem:
                found.append(f"providers.wanxing.templates: {problem}")
    return found


def _warnings(settings: Settings) -> list[str]:
    """What the operator should know before the bot runs: ``check`` prints it, ``run`` logs it."""
    found = [_plain_http(key) for key in settings.plain_http_urls()]
    if settings.payments.enabled and not settings.telegram.admin_ids:
        found.append(NO_ADMINS_FOR_PAYMENTS)
    return found + _cutout_warnings(settings)


def _cutout_warnings(settings: Settings) -> list[str]:
    """What the operator should know about the local engine's hand and cut-out models."""
    if not settings.providers.local.usable:
        return []
    hands = [] if hand_models_present() else [NO_HAND_MODELS]
    if u2net_path() is None:
        return [*hands, NO_FULL_CUTOUT_MODEL]
    from providers.localengine.install import stored_for_another_processor

    return [*hands, FULL_CUTOUT_FOR_ANOTHER_PROCESSOR] if stored_for_another_processor() else hands


def _plain_http(key: str) -> str:
    return f"{key}: plain http:// (photos, keys and signed links travel unencrypted); use https://"


async def _reach_postgres(url: str) -> str:
    """Connect (creating or migrating the schema, as ``run`` would); what went wrong, or ""."""
    from bot.storage.opening import cannot_connect
    from bot.storage.postgres import PostgresStore
    from bot.storage.schema import SchemaTooNew

    try:
        store = await asyncio.wait_for(PostgresStore.open(url, max_size=1), timeout=15)
    except SchemaTooNew as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 (whatever the driver raises, the operator reads it)
        return cannot_connect(err)
    await store.close()
    return ""


def _refused(settings: Settings, message: str) -> str:
    """A request at start that Telegram answered and refused: setting the webhook (an address it
    will not send to, or cannot reach), or another call (a local Bot API server's own refusal)."""
    if settings.telegram.mode == "webhook" and "webhook" in message.lower():
        return f"server.public_url: Telegram refused to send updates to {settings.server.public_url}: {message}"
    return f"telegram.base_url: Telegram refused a request as the bot started: {message}"


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux and macOS): the bot spends most of its time on
    sockets, and uvloop's event loop makes each request several times cheaper."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(settings: Settings, role: Role = "all") -> int:
    from bot.main.app import run_until_stopped
    from bot.ops.logs import configure_logging

    configure_logging(settings.log_level, settings.secrets())
    for warning in _warnings(settings):  # in the log too, not only from `check`
        log.warning("%s", warning)
    _return_freed_memory()
    if not settings.telegram.token:
        report(["telegram.token: not set"], ())
        return 1
    if role != "all" and not settings.database.url:
        report([f"--role {role}: needs database.url (PostgreSQL); SQLite serves one process only"], ())
        return 1

    async def main() -> bool:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_until_stopped(settings, stop, role)

    from telegram.error import BadRequest, InvalidToken, NetworkError

    from bot.storage.opening import DatabaseUnavailable

    try:
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            stopped = runner.run(main())
    except DatabaseUnavailable as err:  # before OSError: a refused connection is one
        report([f"{err.setting}: {err}"], settings.secrets())
        return 1
    except InvalidToken:
        report(["telegram.token: Telegram refused this bot token"], settings.secrets())
        return 1
    except BadRequest as err:  # a NetworkError to python-telegram-bot, but Telegram did answer
        report([_refused(settings, err.message)], settings.secrets())
        return 1
    except NetworkError as err:
        report([f"telegram.base_url: cannot reach Telegram: {err}"], settings.secrets())
        return 1
    except OSError as err:
        where = f"{settings.server.host}:{settings.server.port}"
        report([f"server.port: cannot start the web server on {where}: {err}"], settings.secrets())
        return 1
    return 0 if stopped else 1
