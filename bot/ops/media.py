"""Files the bot keeps (normalised inputs, results) and short-lived signed links to them.

Providers that take image URLs get ``{public_url}/media/<token>``; a Telegram file URL
is never handed out because it contains the bot token. A token names one stored file
and an expiry, signed with HMAC-SHA256; it cannot be forged, extended or enumerated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
import uuid
from pathlib import Path

_REF = re.compile(r"^(inputs|results|templates)/[A-Za-z0-9_.-]+$")


class MediaStore:
    def __init__(self, root: Path) -> None:
        # Absolute: its paths are handed to the engine's worker process (providers/localengine/worker.py).
        self.root = root.absolute()
        for folder in ("inputs", "results", "templates"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    def save_input(self, data: bytes) -> str:
        return self._write(f"inputs/{uuid.uuid4().hex}.jpg", data)

    def save_result(self, job_id: str, index: int, data: bytes, suffix: str = ".jpg") -> str:
        """A result file of a name of its own: two workers collecting one job (one of them past its
        lease) never write the same file; the one whose settlement counts names its files."""
        return self._write(f"results/{job_id}_{index}_{uuid.uuid4().hex[:12]}{suffix}", data)

    def save_template(self, template_id: str, data: bytes) -> str:
        return self._write(f"templates/{template_id}.jpg", data)

    def _write(self, ref: str, data: bytes) -> str:
        path = self.root / ref
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")  # never another writer's
        tmp.write_bytes(data)
        tmp.replace(path)
        return ref

    def path(self, ref: str) -> Path:
        if not _REF.match(ref):
            raise ValueError(f"not a media reference: {ref!r}")
        return self.root / ref

    def read(self, ref: str) -> bytes:
        return self.path(ref).read_bytes()

    def delete(self, ref: str) -> bool:
        """Delete a stored file; False when there was none (or ``ref`` is not a media reference)."""
        if not self.exists(ref):
            return False
        self.path(ref).unlink(missing_ok=True)
        return True

    def exists(self, ref: str) -> bool:
        return _REF.match(ref) is not None and (self.root / ref).is_file()

    def claim(self, ref: str) -> bool:
        """Whether the stored file is there, refreshing its time when it is: a job is about to be
        placed from it, and the retention sweep (bot/ops/retention.py) deletes no file changed
        since it found it expired, so a photo that had just expired is not deleted under the job."""
        if not self.exists(ref):
            return False
        try:
            os.utime(self.root / ref)
        except FileNotFoundError:
            return False
        return True


#: What a stored file really is, by its first bytes (a result's name comes from its provider).
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF8", "image/gif"))


def content_type(path: Path) -> str:
    """The file's real content type; octet-stream for anything that is not a known image."""
    with path.open("rb") as file:
        head = file.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), "application/octet-stream")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: How long a link with no job deadline works, when ``server.media_link_ttl`` sets no cap.
DEFAULT_LINK_SECONDS = 900


class MediaSigner:
    """Signs and checks ``/media/`` tokens: ``<ref b64>.<expiry>.<hmac b64>``."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        self._secret = secret
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def token(self, ref: str, now: float | None = None, *, until: float | None = None) -> str:
        """A link to ``ref`` until ``until`` (its job's deadline), or for ``ttl`` seconds if that is
        sooner (a ttl of 0 sets no cap; a link without a deadline then lasts DEFAULT_LINK_SECONDS)."""
        start = now if now is not None else time.time()
        limits = [start + self.ttl] if self.ttl else []
        limits.append(until if until is not None else start + DEFAULT_LINK_SECONDS)
        expires = int(min(limits))
        payload = f"{_b64(ref.encode())}.{expires}"
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The file reference of a valid, unexpired token; None otherwise."""
        parts = token.split(".")
        # Every token made is ASCII; anything else (a path's bytes that are not UTF-8 come as lone
        # surrogates, which encoding refuses) is no token.
        if not token.isascii() or len(parts) != 3 or not parts[1].isdigit():
            return None
        payload = f"{parts[0]}.{parts[1]}"
        # Bytes: compare_digest raises TypeError for str with non-ASCII characters (a stranger's 500).
        if not hmac.compare_digest(self._mac(payload).encode(), parts[2].encode()):
            return None
        if int(parts[1]) < (now if now is not None else time.time()):
            return None
        try:
            ref = _unb64(parts[0]).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        return ref if _REF.match(ref) else None


def derive_secret(configured: str, bot_token: str) -> bytes:
    """The configured media secret, or one derived from the bot token (never the token itself)."""
    if configured:
        return configured.encode()
    return hashlib.sha256(b"photobot-media:" + bot_token.encode()).digest()
