"""Logging set-up that keeps secrets out of every log line, and every message on one line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
#: Line breaks and other control characters: text a stranger or a provider chose (a URL path, an
#: error body) must not start a forged log line of its own.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")
#: The password in a URL (scheme://user:password@host), such as database.url's: hidden whatever its
#: length, and whether or not it is configured (a driver's error may quote a URL).
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")


def _escaped(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]


class RedactSecrets(logging.Filter):
    """Replaces any configured secret (bot token, API keys, tokens, passwords) and the password of
    any URL in a record's final message and escapes control characters in it; tracebacks keep
    their lines but lose the secrets."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(_CONTROL.sub(_escaped, message))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if redacted != message:
            record.msg, record.args = redacted, None
        return True

    def _redact(self, text: str) -> str:
        text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def redact(self, text: str) -> str:
        """``text`` as a log line shows it: secrets hidden, control characters escaped. For what
        is written to stderr without logging (``photobot check`` and ``run``'s reports)."""
        return self._redact(_CONTROL.sub(_escaped, text))


def configure_logging(level: str, secrets: Iterable[str]) -> RedactSecrets:
    """Root logging with the redacting filter on every handler; httpx request lines are kept quiet
    because their URLs carry the bot token, and APScheduler's because there is one per menu step."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # APScheduler (python-telegram-bot's job queue) logs every menu timeout it sets and clears.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return redactor
