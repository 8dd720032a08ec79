"""A fake Telegram Bot API: a real HTTP server that python-telegram-bot talks to.

It long-polls ``getUpdates`` with offsets (or posts to a webhook), sends only the update types the
bot asked for (``allowed_updates``), accepts form and multipart bodies, keeps the
messages the bot sends (and their edits), serves files for ``getFile`` downloads and can
be scripted to fail a method. Payments in Telegram Stars go as the Bot API documents them: an
invoice (``sendInvoice``: XTR, one price, no provider token), a ``pre_checkout_query`` that must be
answered (``answerPreCheckoutQuery``) within ``pre_checkout_window`` seconds (Telegram's 10, on
the fake's ``clock``, which a test may move by hand) before the user is charged, then a
``successful_payment`` message; ``refundStarPayment`` refunds a charge once, and every refund,
the bot's own too, arrives as a ``refunded_payment`` message. Every charge and refund is also a
Star transaction of the bot, listed by ``getStarTransactions`` in chronological order with
``offset``/``limit`` paging (a payment can be made without its update reaching the bot: one lost
in a crash). Tests act as users through :class:`FakeUser` helpers and
wait for what the bot sends with :meth:`FakeTelegram.wait_for`.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp import web
from PIL import Image, UnidentifiedImageError

from tests.fakes.server import LoopbackServer

BOT_ID = 7000001
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "PhotoBot",
    "username": "photobot_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


#: When the request being handled reached the fake (each request is handled in its own task).
_arrival: contextvars.ContextVar[float] = contextvars.ContextVar("arrival")
#: The HTTP request being answered (a long poll must know whether its client is still there).
_request: contextvars.ContextVar[web.Request] = contextvars.ContextVar("request")
#: Telegram's answer to a long poll cut short by a newer one: two bot instances poll at once.
POLL_CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


@dataclass
class SentMessage:
    """A message the bot sent, with its current text/caption and keyboard."""

    message_id: int
    chat_id: int
    kind: str  # text | photo | document
    text: str = ""
    reply_markup: dict[str, Any] | None = None
    data: bytes = b""
    filename: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    edits: int = 0
    #: Every text or caption it has shown, the current one last.
    shown: list[str] = field(default_factory=list)
    #: time.monotonic() when the request that sent it reached the fake, before its body was read.
    arrived_at: float = field(default_factory=lambda: _arrival.get(time.monotonic()))

    def __post_init__(self) -> None:
        self.shown.append(self.text)

    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def button(self, label: str) -> dict[str, Any]:
        for button in self.buttons():
            if label in button["text"]:
                return button
        raise AssertionError(f"no button {label!r} in {[b['text'] for b in self.buttons()]} of {self.text!r}")


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


#: Telegram's refusal of an edit to what the message already shows (text, caption and buttons).
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same"
    " as a current content and reply markup of the message"
)

#: Telegram's limit for answering a pre-checkout query: "the Bot API must receive an answer
#: within 10 seconds after the pre-checkout query was sent".
PRE_CHECKOUT_WINDOW = 10.0
#: How long a button press can be answered (answerCallbackQuery): the client's spinner gives up
#: after some seconds, and a later answer is refused ("query is too old"), as for a press made
#: while the bot was down and delivered when it came back.
CALLBACK_ANSWER_WINDOW = 15.0


class FakeTelegram:
    def __init__(
        self,
        token: str = "123456:TEST-token-for-the-fake-bot-api",
        *,
        clock: Callable[[], float] = time.monotonic,
        pre_checkout_window: float = PRE_CHECKOUT_WINDOW,
        callback_answer_window: float = CALLBACK_ANSWER_WINDOW,
    ) -> None:
        self.token = token
        self.clock = clock
        self.pre_checkout_window = pre_checkout_window
        self.callback_answer_window = callback_answer_window
        self.server = LoopbackServer(self._app())
        self.updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self._media_groups = itertools.count(13000000000000001)
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.log: list[SentMessage] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: dict[str, str | None] = {}
        #: Texts and captions refused as over Telegram's limits: (method, description).
        self.too_long: list[tuple[str, str]] = []
        #: Other requests refused by Telegram's rules (a photo's size, a keyboard, a command list):
        #: (method, description).
        self.refused: list[tuple[str, str]] = []
        self._closing = False
        #: Every button press sent to the bot (query ids), answered or not, with ``clock()`` when
        #: pressed; those answered after ``callback_answer_window`` were refused, and are kept in
        #: ``late_callback_answers``.
        self.callback_queries: list[str] = []
        self._pressed_at: dict[str, float] = {}
        self.late_callback_answers: list[str] = []
        self.files: dict[str, bytes] = {}
        #: File downloads under way, the most at once, and (while set to an unset event) held.
        self.files_serving = 0
        self.most_files_at_once = 0
        self.hold_files: asyncio.Event | None = None
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, list[Failure]] = {}
        #: Chats whose user blocked the bot (see :meth:`block`).
        self.blocked_chats: set[int] = set()
        #: Methods whose answer is held until released (to stop a bot mid-request).
        self.hold: dict[str, asyncio.Event] = {}
        self.held: dict[str, asyncio.Event] = {}
        self.held_requests: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Condition()
        #: While set, every bot request but polling is held here (see :meth:`pause`).
        self._paused: asyncio.Event | None = None
        self.paused_requests: list[tuple[str, dict[str, Any]]] = []
        #: (method, n): n more calls of method are served, then everything is paused (see :meth:`pause_after`).
        self._pause_after: tuple[str, int] | None = None
        #: Every update sent to the bot, by update_id (to send one again, as Telegram may).
        self.pushed: dict[int, dict[str, Any]] = {}
        #: Set by setWebhook: updates are then POSTed there instead of served by getUpdates.
        self.webhook: dict[str, Any] | None = None
        #: The update types the bot asked for (``allowed_updates`` of getUpdates or setWebhook; kept
        #: until changed, as Telegram keeps it). Telegram never sends another type: those updates
        #: are dropped here, and kept in ``unwanted``.
        self.allowed_updates: list[str] | None = None
        self.unwanted: list[dict[str, Any]] = []
        #: setWebhook as Telegram's own servers take it: https only, on ports 443, 80, 88 or 8443.
        #: Off, as a local Bot API server (which the fake stands for, on 127.0.0.1) takes any http(s) URL.
        self.official_webhook_rules = False
        self.webhook_results: list[int] = []
        #: Called with each message the bot sends or edits, as it happens (for bench/load.py).
        self.observers: list[Callable[[SentMessage], None]] = []
        #: Pre-checkout queries sent to the bot (query id -> ``clock()`` when sent), and the bot's
        #: answers by query id. Telegram waits ``pre_checkout_window`` seconds (10) for the answer,
        #: then cancels the checkout and refuses a later answer: those query ids are in ``late_pre_checkouts``.
        self.pre_checkout_answers: dict[str, dict[str, Any]] = {}
        self._pre_checkouts: dict[str, float] = {}
        self.late_pre_checkouts: list[str] = []
        #: Updates Telegram sends of its own accord after a method call (refunded_payment).
        self._later: set[asyncio.Task[None]] = set()
        #: Star payments made: charge id -> {"user_id", "user", "stars", "refunded", "payload"}.
        self.charges: dict[str, dict[str, Any]] = {}
        #: The bot's Star transactions (StarTransaction objects), oldest first: each charge (from
        #: a user, ``source``) and each refund (to the user, ``receiver``; its id is the charge's).
        self.star_transactions: list[dict[str, Any]] = []
        #: The long poll waiting now, and how it is cut short when another starts (as Telegram
        #: does); ``poll_conflicts`` counts those cut while their client was still there.
        self._poll: tuple[web.Request, asyncio.Event] | None = None
        self.poll_conflicts = 0

    # --- lifecycle ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.server.url}/file/bot"

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        for event in self.hold.values():
            event.set()
        await asyncio.gather(*self._later, return_exceptions=True)
        # A long poll the bot gave up on (it stopped) still waits here, and the server's cleanup
        # would wait for it: end it now.
        self._closing = True
        await self._notify()
        await self.server.stop()

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._dispatch)
        app.router.add_get("/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        return app

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- users ---------------------------------------------------------------------

    def user(self, user_id: int = 5001, first_name: str = "Ann", language_code: str = "en") -> FakeUser:
        return FakeUser(self, user_id, first_name, language_code)

    async def push_update(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self.pushed[update["update_id"]] = update
        await self._deliver(update)

    async def resend_update(self, update_id: int) -> None:
        """Send an update again, as Telegram does when it did not see the webhook's answer."""
        await self._deliver(self.pushed[update_id])

    async def _deliver(self, update: dict[str, Any]) -> None:
        if not self._wanted(next(key for key in update if key != "update_id")):
            self.unwanted.append(update)
            return
        if self.webhook is not None:
            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
            async with httpx.AsyncClient() as client:
                response = await client.post(self.webhook["url"], json=update, headers=headers)
            self.webhook_results.append(response.status_code)
            return
        self.updates.append(update)
        await self._notify()

    def _wanted(self, kind: str) -> bool:
        """Whether Telegram sends the bot an update of type ``kind``: one the bot asked for, or
        (it asked for none, or for an empty list) any but those sent only when asked for."""
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in ONLY_WHEN_ASKED

    def add_file(self, data: bytes) -> str:
        file_id = f"file-{next(self._file_ids)}"
        self.files[file_id] = data
        return file_id

    # --- waiting -------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` returns something truthy after a bot request; return it."""

        async def loop() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()

        return await asyncio.wait_for(loop(), timeout)

    def sent_to(self, chat_id: int, kind: str | None = None) -> list[SentMessage]:
        return [m for m in self.log if m.chat_id == chat_id and (kind is None or m.kind == kind)]

    def pause(self) -> None:
        """Hold every request from now on (polling aside): nothing more is accepted until resume()."""
        self._paused = asyncio.Event()
        self.paused_requests = []

    def pause_after(self, method: str, calls: int) -> None:
        """Serve the next ``calls`` calls of ``method``, then pause (as :meth:`pause`) at the one after:
        a bot killed then has had exactly that many answers."""
        self._pause_after = (method, calls)

    def resume(self, abandoned: bool) -> None:
        """Let held requests go on; ``abandoned`` ones (their client was killed) are dropped."""
        gate, self._paused = self._paused, None
        if gate is not None:
            gate.abandoned = abandoned  # type: ignore[attr-defined]
            gate.set()

    def block(self, chat_id: int) -> None:
        """The user of ``chat_id`` blocked the bot: every message to that chat is refused with 403,
        as Telegram refuses it."""
        self.blocked_chats.add(chat_id)

    def fail(self, method: str, status: int, description: str, retry_after: int | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` fail: with ``status``, or (status 0) by a dropped connection."""
        self.failures.setdefault(method, []).extend([Failure(status, description, retry_after)] * times)

    # --- HTTP ----------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            raise web.HTTPNotFound()
        file_id = request.match_info["path"].split("/")[-1].rsplit(".", 1)[0]
        if file_id not in self.files:
            raise web.HTTPNotFound()
        self.files_serving += 1
        self.most_files_at_once = max(self.most_files_at_once, self.files_serving)
        await self._notify()
        try:
            if self.hold_files is not None:
                await self.hold_files.wait()
            return web.Response(body=self.files[file_id], content_type="application/octet-stream")
        finally:
            self.files_serving -= 1

    async def _dispatch(self, request: web.Request) -> web.Response:
        _arrival.set(time.monotonic())
        _request.set(request)
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params, files = await self._params(request)
        self.calls.append((method, params))
        await self._notify()
        if self._pause_after is not None and self._pause_after[0] == method:
            left = self._pause_after[1]
            if left:
                self._pause_after = (method, left - 1)
            else:
                self._pause_after = None
                self.pause()
        if self._paused is not None and method not in ("getUpdates", "getMe", "deleteWebhook", "setMyCommands"):
            gate = self._paused
            self.paused_requests.append((method, params))
            await self._notify()
            await gate.wait()
            if getattr(gate, "abandoned", False):
                return web.Response(status=499)
        if method in self.hold:
            gate = self.hold[method]
            self.held_requests.append((method, params))
            self.held.setdefault(method, asyncio.Event()).set()
            await gate.wait()
            if getattr(gate, "abandoned", False) or request.transport is None or request.transport.is_closing():
                # The client went away while the request was held: it never reached "Telegram".
                return web.Response(status=499)
        queued = self.failures.get(method)
        if queued:
            failure = queued.pop(0)
            await self._notify()
            if failure.status == 0:  # a network fault: the connection drops with no answer
                if request.transport is not None:
                    request.transport.abort()
                raise ConnectionResetError("dropped by the fake")
            body: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        if method.startswith("send") and str(params.get("chat_id")) in {str(chat) for chat in self.blocked_chats}:
            return web.json_response(
                {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}, status=403
            )
        too_long = _too_long(params)
        if too_long is not None:
            self.too_long.append((method, too_long))
            return web.json_response({"ok": False, "error_code": 400, "description": too_long}, status=400)
        bad_markup = _markup_refusal(params.get("reply_markup"))
        if bad_markup is not None:
            self.refused.append((method, bad_markup))
            return web.json_response({"ok": False, "error_code": 400, "description": bad_markup}, status=400)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404
            )
        try:
            result = await handler(params, files)
        except _ApiError as err:
            return web.json_response(
                {"ok": False, "error_code": err.status, "description": err.description}, status=err.status
            )
        finally:
            await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.method == "POST":
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    params[key] = value
        params.update(request.query)
        for key in ("reply_markup", "allowed_updates", "commands", "media", "prices"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params, files

    # --- methods -------------------------------------------------------------------

    async def _m_getMe(self, params: dict, files: dict) -> dict:
        return BOT_USER

    async def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict, files: dict) -> bool:
        url = urlsplit(str(params.get("url", "")))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise _ApiError(400, "Bad Request: bad webhook: invalid URL")
        if self.official_webhook_rules:  # Telegram's own answers
            if url.scheme != "https":
                raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
            if (url.port or 443) not in (443, 80, 88, 8443):
                ports = "80, 88, 443 or 8443"
                raise _ApiError(400, f"Bad Request: bad webhook: Webhook can be set up only on ports {ports}")
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token", "")}
        self._ask_for(params)
        return True

    def _ask_for(self, params: dict) -> None:
        """The update types getUpdates or setWebhook asks for, if it names them (else they stay)."""
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"])

    async def _m_getUpdates(self, params: dict, files: dict) -> list:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        self._ask_for(params)
        return await self._long_poll(params)

    async def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        """The Bot API's BotCommand rules: at most 100 commands, each 1-32 characters of lowercase
        English letters, digits and underscores, with a description of 1-256 characters."""
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
            raise self._refuse("setMyCommands", "Bad Request: too many commands specified")
        for command in commands:
            if not COMMAND.fullmatch(str(command.get("command", ""))):
                raise self._refuse("setMyCommands", "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", "")).strip()
            if not description:
                raise self._refuse("setMyCommands", "Bad Request: command description must be non-empty")
            if _utf16_length(description) > COMMAND_DESCRIPTION_LIMIT:
                raise self._refuse("setMyCommands", "Bad Request: command description is too long")
        self.commands[params.get("language_code", "")] = params["commands"]
        return True

    async def _long_poll(self, params: dict) -> list:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        if self._poll is not None:  # a newer poll ends the one waiting, with 409
            waiting, cut = self._poll
            if waiting.transport is not None and not waiting.transport.is_closing():
                self.poll_conflicts += 1
            cut.set()
            async with self._changed:
                self._changed.notify_all()
        cut = asyncio.Event()
        self._poll = (_request.get(), cut)
        try:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout > 0:
                async with self._changed:
                    try:
                        await asyncio.wait_for(
                            self._changed.wait_for(lambda: bool(self.updates) or self._closing or cut.is_set()),
                            timeout,
                        )
                    except TimeoutError:
                        pass
            if cut.is_set():
                raise _ApiError(409, POLL_CONFLICT)
            return self.updates[: int(params.get("limit", 100) or 100)]
        finally:
            if self._poll is not None and self._poll[1] is cut:
                self._poll = None

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        query_id = params["callback_query_id"]
        if _utf16_length(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise self._refuse("answerCallbackQuery", "Bad Request: MESSAGE_TOO_LONG")
        if query_id in self.callback_answers:  # Telegram takes one answer per button press
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if query_id not in self.callback_queries:
            raise _ApiError(400, "Bad Request: query ID is invalid")
        if self.clock() - self._pressed_at.get(query_id, self.clock()) > self.callback_answer_window:
            self.late_callback_answers.append(query_id)
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.callback_answers[query_id] = params.get("text")
        return True

    async def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        return True

    def _new(self, params: dict, kind: str, text: str = "", data: bytes = b"", filename: str = "") -> SentMessage:
        chat_id = int(params["chat_id"])
        message = SentMessage(
            next(self._message_ids), chat_id, kind, text, params.get("reply_markup"), data, filename, params
        )
        self.messages[(chat_id, message.message_id)] = message
        self.log.append(message)
        self._observe(message)
        return message

    def _edited(self, message: SentMessage, text: str, markup: dict[str, Any] | None) -> None:
        message.text, message.reply_markup = text, markup
        message.shown.append(text)
        message.edits += 1
        self._observe(message)

    def _observe(self, message: SentMessage) -> None:
        for observer in self.observers:
            observer(message)

    def _message_json(self, message: SentMessage) -> dict:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "from": BOT_USER,
        }
        if message.kind == "text":
            body["text"] = message.text
        elif message.kind != "invoice":
            body["caption"] = message.text
        if message.kind == "photo":
            file_id = self.add_file(message.data)
            body["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}]
        if message.kind == "document":
            file_id = self.add_file(message.data)
            body["document"] = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": message.filename,
                "file_size": len(message.data),
            }
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        return body

    def _refuse(self, method: str, description: str, status: int = 400) -> _ApiError:
        """Telegram's refusal of a request that breaks one of its rules (kept in ``refused``)."""
        self.refused.append((method, description))
        return _ApiError(status, description)

    def _photo(self, method: str, data: bytes) -> bytes:
        """An uploaded photo's bytes, refused as Telegram refuses a photo it cannot take."""
        refusal = photo_refusal(data)
        if refusal is not None:
            raise self._refuse(method, refusal)
        return data

    async def _m_sendMessage(self, params: dict, files: dict) -> dict:
        # Telegram trims a text's leading and trailing white space: nothing may be left.
        if not str(params.get("text") or "").strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        return self._message_json(self._new(params, "text", params["text"]))

    async def _photo_at(self, method: str, url: str) -> bytes:
        """A photo given as an HTTP URL, which Telegram fetches itself: at most 5 MB (the Bot API's
        limit for photos by URL), refused as an upload would be."""
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url)
            response.raise_for_status()
        except httpx.HTTPError:
            raise _ApiError(400, "Bad Request: failed to get HTTP URL content") from None
        if len(response.content) > 5 * 1024 * 1024:
            raise _ApiError(400, "Bad Request: failed to get HTTP URL content")
        return self._photo(method, response.content)

    async def _m_sendPhoto(self, params: dict, files: dict) -> dict:
        if "photo" in files:
            data = self._photo("sendPhoto", files["photo"][1])
        elif params.get("photo") in self.files:
            data = self.files[params["photo"]]
        elif str(params.get("photo", "")).startswith(("http://", "https://")):
            data = await self._photo_at("sendPhoto", str(params["photo"]))
        else:
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        return self._message_json(self._new(params, "photo", params.get("caption", ""), data))

    async def _m_sendVideo(self, params: dict, files: dict) -> dict:
        """An upload, or an HTTP URL Telegram fetches itself (as the Bot API does, up to 20 MB)."""
        if "video" in files:
            name, data = files["video"]
        elif str(params.get("video", "")).startswith(("http://", "https://")):
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    response = await client.get(str(params["video"]))
                response.raise_for_status()
            except httpx.HTTPError:
                raise _ApiError(400, "Bad Request: failed to get HTTP URL content") from None
            name, data = str(params["video"]).rsplit("/", 1)[-1], response.content
            if len(data) > 20 * 1024 * 1024:
                raise _ApiError(400, "Bad Request: file is too big")
        else:
            raise _ApiError(400, "Bad Request: there is no video in the request")
        return self._message_json(self._new(params, "video", params.get("caption", ""), data, name))

    async def _m_sendDocument(self, params: dict, files: dict) -> dict:
        if "document" not in files:
            raise _ApiError(400, "Bad Request: there is no document in the request")
        name, data = files["document"]
        if len(data) > DOCUMENT_MAX_BYTES:  # what Telegram's front server answers to a larger upload
            raise self._refuse("sendDocument", "Request Entity Too Large", 413)
        return self._message_json(self._new(params, "document", params.get("caption", ""), data, name))

    async def _m_sendMediaGroup(self, params: dict, files: dict) -> list:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: media must contain 2-10 items")
        group = f"album-{next(self._file_ids)}"
        sent = []
        for item in media:
            attach = str(item.get("media", ""))
            if item.get("type") != "photo" or not attach.startswith("attach://") or attach[9:] not in files:
                raise _ApiError(400, "Bad Request: wrong media item")
            self._photo("sendMediaGroup", files[attach[9:]][1])
            message = self._new(
                {**params, "media_group_id": group}, "photo", item.get("caption", ""), files[attach[9:]][1]
            )
            sent.append(self._message_json(message))
        return sent

    async def _m_editMessageText(self, params: dict, files: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if message.kind != "text":  # a photo's caption is edited with editMessageCaption
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        if not str(params.get("text") or "").strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        if message.text == params["text"] and message.reply_markup == markup:
            raise _ApiError(400, NOT_MODIFIED)
        self._edited(message, params["text"], markup)
        return self._message_json(message)

    async def _m_editMessageReplyMarkup(self, params: dict, files: dict) -> dict:
        """The buttons of any message (a photo's too); its text or caption stays."""
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup") or None
        if (message.reply_markup or None) == markup:
            raise _ApiError(400, NOT_MODIFIED)
        message.reply_markup = markup
        message.edits += 1
        self._observe(message)
        return self._message_json(message)

    async def _m_editMessageMedia(self, params: dict, files: dict) -> dict:
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        media = params.get("media")
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise _ApiError(400, "Bad Request: wrong media")
        source = str(media.get("media", ""))
        if source.startswith("attach://") and source[9:] in files:
            message.data = self._photo("editMessageMedia", files[source[9:]][1])
        elif source in self.files:
            message.data = self.files[source]
        elif source.startswith(("http://", "https://")):
            message.data = await self._photo_at("editMessageMedia", source)
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        self._edited(message, media.get("caption", ""), params.get("reply_markup"))
        return self._message_json(message)

    async def _m_sendInvoice(self, params: dict, files: dict) -> dict:
        """The Bot API's rules for an invoice, with those of Telegram Stars (currency XTR)."""
        if not 1 <= len(str(params.get("title", ""))) <= 32:
            raise _ApiError(400, "Bad Request: invoice title must be 1-32 characters")
        if not 1 <= len(str(params.get("description", ""))) <= 255:
            raise _ApiError(400, "Bad Request: invoice description must be 1-255 characters")
        if not 1 <= len(str(params.get("payload", "")).encode()) <= 128:
            raise _ApiError(400, "Bad Request: invoice payload must be 1-128 bytes")
        if params.get("currency") != "XTR":
            raise _ApiError(400, "Bad Request: CURRENCY_INVALID")
        if params.get("provider_token"):
            raise _ApiError(400, "Bad Request: provider_token must be empty for payments in Telegram Stars")
        prices = params.get("prices")
        if not isinstance(prices, list) or len(prices) != 1:
            raise _ApiError(400, "Bad Request: prices must contain exactly one item for payments in Telegram Stars")
        amount = prices[0].get("amount")
        if not isinstance(amount, int) or not 1 <= amount <= 10000 or not prices[0].get("label"):
            raise _ApiError(400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
        message = self._new(params, "invoice", str(params["title"]))
        body = self._message_json(message)
        body["invoice"] = {
            "title": params["title"],
            "description": params["description"],
            "start_parameter": "",
            "currency": "XTR",
            "total_amount": amount,
        }
        return body

    async def _m_answerPreCheckoutQuery(self, params: dict, files: dict) -> bool:
        query_id = str(params.get("pre_checkout_query_id", ""))
        if query_id not in self._pre_checkouts:
            raise _ApiError(400, "Bad Request: QUERY_ID_INVALID")
        too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
        if query_id in self.pre_checkout_answers or query_id in self.late_pre_checkouts:
            raise _ApiError(400, too_old)
        if self.clock() - self._pre_checkouts[query_id] > self.pre_checkout_window:
            # Too late: Telegram told the user the payment failed, and charges nothing.
            self.late_pre_checkouts.append(query_id)
            raise _ApiError(400, too_old)
        ok = params.get("ok") in (True, "true", "True")
        if not ok and not params.get("error_message"):
            raise _ApiError(400, "Bad Request: error_message is required when ok is false")
        self.pre_checkout_answers[query_id] = {"ok": ok, "error_message": params.get("error_message")}
        return True

    async def _m_refundStarPayment(self, params: dict, files: dict) -> bool:
        charge_id = str(params.get("telegram_payment_charge_id", ""))
        charge = self.charges.get(charge_id)
        # Only a payment in Stars is refunded by it: one in another currency is the payment
        # provider's to give back, and no Star charge of the bot's.
        if charge is None or charge["user_id"] != int(params.get("user_id", 0)) or charge["currency"] != "XTR":
            raise _ApiError(400, "Bad Request: CHARGE_NOT_FOUND")
        if charge["refunded"]:
            raise _ApiError(400, "Bad Request: CHARGE_ALREADY_REFUNDED")
        self._refund(charge_id)
        # As for any refund, the buyer's chat gets the refunded_payment message (sent beside this
        # answer: the bot may get either first).
        user = charge["user"]
        buyer = FakeUser(self, charge["user_id"], user["first_name"], user.get("language_code", "en"))
        task = asyncio.create_task(self.report_refund(buyer, charge_id))
        self._later.add(task)
        task.add_done_callback(self._later.discard)
        return True

    def charge(self, user: FakeUser, stars: int, payload: str, currency: str = "XTR") -> str:
        """A payment by ``user`` for an invoice's ``payload``: in Stars, recorded as the bot's Star
        transaction (its update is the caller's business); the charge id."""
        charge_id = f"stxCharge{next(self._update_ids)}x{user.id}"
        self.charges[charge_id] = {
            "user_id": user.id,
            "user": user.json,
            "stars": stars,
            "currency": currency,
            "refunded": False,
            "payload": payload,
        }
        if currency == "XTR":
            self.record_transaction(charge_id, stars, source=self._partner(user.json, payload))
        return charge_id

    def _refund(self, charge_id: str) -> None:
        charge = self.charges[charge_id]
        charge["refunded"] = True
        self.record_transaction(charge_id, charge["stars"], receiver=self._partner(charge["user"], charge["payload"]))

    @staticmethod
    def _partner(user: dict[str, Any], payload: str) -> dict[str, Any]:
        """TransactionPartnerUser of an invoice payment."""
        return {"type": "user", "transaction_type": "invoice_payment", "user": user, "invoice_payload": payload}

    def record_transaction(
        self,
        transaction_id: str,
        amount: int,
        *,
        source: dict[str, Any] | None = None,
        receiver: dict[str, Any] | None = None,
    ) -> None:
        """Add a StarTransaction to the bot's history (an incoming one has a ``source``, an
        outgoing one a ``receiver``; a withdrawal to Fragment, say, is neither a payment nor a refund)."""
        transaction: dict[str, Any] = {"id": transaction_id, "amount": amount, "date": int(time.time())}
        if source is not None:
            transaction["source"] = source
        if receiver is not None:
            transaction["receiver"] = receiver
        self.star_transactions.append(transaction)

    async def _m_getStarTransactions(self, params: dict, files: dict) -> dict:
        """The Bot API's StarTransactions: ``offset`` transactions skipped, at most ``limit`` (1-100,
        100 by default) returned, oldest first."""
        try:
            offset = int(params.get("offset", 0) or 0)
            limit = int(params.get("limit", 100) or 100)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: invalid offset or limit") from None
        if offset < 0:
            raise _ApiError(400, "Bad Request: offset must be non-negative")
        if not 1 <= limit <= 100:
            raise _ApiError(400, "Bad Request: limit must be between 1 and 100")
        return {"transactions": self.star_transactions[offset : offset + limit]}

    async def refund_by_telegram(self, user: FakeUser, charge_id: str, *, deliver: bool = True) -> None:
        """A refund Telegram itself made (its support, a dispute): the bot gets ``refunded_payment``
        (unless not ``deliver``: the update was lost)."""
        charge = self.charges[charge_id]
        if not charge["refunded"]:  # a second report of the same refund is the same transaction
            self._refund(charge_id)
        if deliver:
            await self.report_refund(user, charge_id)

    async def report_refund(self, user: FakeUser, charge_id: str) -> None:
        """The ``refunded_payment`` message of a refund, in the buyer's chat (a test may send it
        itself to have the report overtake refundStarPayment's answer)."""
        charge = self.charges[charge_id]
        refund = {
            "currency": "XTR",
            "total_amount": charge["stars"],
            "invoice_payload": charge["payload"],
            "telegram_payment_charge_id": charge_id,
        }
        await self.push_update({"message": user._message(refunded_payment=refund)})

    async def _m_getFile(self, params: dict, files: dict) -> dict:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        data = self.files[file_id]
        if len(data) > 20 * 1024 * 1024:
            raise _ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(data),
            "file_path": f"documents/{file_id}.bin",
        }


#: Update types Telegram sends only to a bot that names them in ``allowed_updates``.
ONLY_WHEN_ASKED = ("chat_member", "message_reaction", "message_reaction_count")

#: Telegram's limits on a message's text and a media's caption, in UTF-16 code units (after entities
#: are parsed; this bot sends plain text): longer ones are refused with these descriptions.
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _too_long(params: dict[str, Any]) -> str | None:
    """Telegram's refusal of a text or caption over its limit (also inside a media group), or None."""
    text, caption = params.get("text"), params.get("caption")
    if isinstance(text, str) and _utf16_length(text) > TEXT_LIMIT:
        return "Bad Request: message is too long"
    media = params.get("media")
    items = [media] if isinstance(media, dict) else media if isinstance(media, list) else []
    captions = [caption] + [item.get("caption") for item in items if isinstance(item, dict)]
    if any(isinstance(c, str) and _utf16_length(c) > CAPTION_LIMIT for c in captions):
        return "Bad Request: message caption is too long"
    return None


#: The most text a button press's answer (answerCallbackQuery) shows, in UTF-16 code units.
CALLBACK_ANSWER_LIMIT = 200

#: setMyCommands: at most 100 commands, each 1-32 lowercase letters, digits and underscores with
#: a description of at most 256 characters.
MAX_COMMANDS = 100
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
COMMAND_DESCRIPTION_LIMIT = 256

#: A photo a bot uploads (sendPhoto, an album's, editMessageMedia): at most 10 MB, width and height
#: at most 10000 together, neither side over 20 times the other. A document: at most 50 MB.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10000
PHOTO_MAX_RATIO = 20
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024


def photo_refusal(data: bytes) -> str | None:
    """Telegram's refusal of an uploaded photo (too large, not a picture, or of sides it does not
    take), or None."""
    if len(data) > PHOTO_MAX_BYTES:
        return "Bad Request: PHOTO_SAVE_FILE_INVALID"
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return "Bad Request: IMAGE_PROCESS_FAILED"
    if width + height > PHOTO_MAX_SIDES or max(width, height) > PHOTO_MAX_RATIO * min(width, height):
        return "Bad Request: PHOTO_INVALID_DIMENSIONS"
    return None


#: Fields of an InlineKeyboardButton that make it do something: exactly one must be there.
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


TEXT_BUTTON = "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"


def _markup_refusal(markup: Any) -> str | None:
    """Telegram's refusal of an inline keyboard: a button that does nothing, callback data that
    is empty or over 64 bytes, a link that is not http(s) or tg; None when it takes it."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            if not any(key in button for key in BUTTON_ACTIONS):
                return (
                    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
            if "url" in button and urlsplit(str(button["url"])).scheme not in ("http", "https", "tg"):
                return "Bad Request: BUTTON_URL_INVALID"
    return None


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description


@dataclass(frozen=True)
class AlbumItem:
    """One item of an album a user sends (:meth:`FakeUser.send_album`)."""

    kind: str  # photo | document | video
    data: bytes = b""
    filename: str = "photo.jpg"
    mime_type: str = "image/jpeg"
    #: The size Telegram reports, when a test wants it to differ from the bytes served.
    file_size: int | None = None


#: Telegram's limits of an album: from 2 to 10 items, files grouped only with files.
ALBUM_MIN, ALBUM_MAX = 2, 10


class FakeUser:
    """A Telegram user in a private chat with the bot."""

    def __init__(self, api: FakeTelegram, user_id: int, first_name: str, language_code: str) -> None:
        self.api = api
        self.id = user_id
        self.json = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        self._seen = 0

    def _message(self, **content: Any) -> dict:
        return {
            "message_id": next(self.api._message_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.json["first_name"]},
            "from": self.json,
            **content,
        }

    async def send_text(self, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self.api.push_update({"message": self._message(**content)})

    async def send_content(self, **content: Any) -> None:
        """A message of any other kind: ``video={...}``, ``sticker={...}``, ``voice={...}``."""
        await self.api.push_update({"message": self._message(**content)})

    async def send_photo(self, data: bytes, width: int = 800, height: int = 1000) -> None:
        file_id = self.api.add_file(data)
        size = {"file_id": file_id, "file_unique_id": file_id, "width": width, "height": height, "file_size": len(data)}
        await self.api.push_update({"message": self._message(photo=[size])})

    async def send_document(self, data: bytes, filename: str, mime_type: str) -> None:
        file_id = self.api.add_file(data)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        await self.api.push_update({"message": self._message(document=document)})

    async def send_album(self, items: list[AlbumItem | bytes]) -> list[int]:
        """An album (a media group), as Telegram delivers one: a message per item, one update
        each, sharing a ``media_group_id``, none marked the last. Bytes are a photo. Strict as
        Telegram's clients: 2 to 10 items, and documents grouped only with documents (photos with
        videos). The messages' ids."""
        messages = self.album_messages(items)
        for message in messages:
            await self.api.push_update({"message": message})
        return [message["message_id"] for message in messages]

    def album_messages(self, items: list[AlbumItem | bytes]) -> list[dict[str, Any]]:
        """The messages of an album (:meth:`send_album`), for a test to send one by one."""
        album = [item if isinstance(item, AlbumItem) else AlbumItem("photo", item) for item in items]
        if not ALBUM_MIN <= len(album) <= ALBUM_MAX:
            raise ValueError(f"an album holds {ALBUM_MIN} to {ALBUM_MAX} items, not {len(album)}")
        if len({item.kind == "document" for item in album}) > 1:
            raise ValueError("Telegram groups documents only with documents")
        group = str(next(self.api._media_groups))
        messages = []
        for item in album:
            file_id = self.api.add_file(item.data)
            size = len(item.data) if item.file_size is None else item.file_size
            attached: dict[str, Any] = {"file_id": file_id, "file_unique_id": file_id, "file_size": size}
            if item.kind == "photo":
                content: dict[str, Any] = {"photo": [{**attached, "width": 800, "height": 1000}]}
            elif item.kind == "video":
                content = {"video": {**attached, "width": 640, "height": 480, "duration": 3}}
            else:
                content = {"document": {**attached, "file_name": item.filename, "mime_type": item.mime_type}}
            messages.append(self._message(media_group_id=group, **content))
        return messages

    async def press(self, message: SentMessage, label: str) -> str:
        """Press the button whose text contains ``label``; returns the callback query id."""
        return await self.press_data(message, message.button(label)["callback_data"])

    async def press_data(self, message: SentMessage, data: str) -> str:
        """A callback query with any ``data`` on ``message``, as a modified client can send."""
        query_id = f"cq-{next(self.api._update_ids)}"
        self.api.callback_queries.append(query_id)
        self.api._pressed_at[query_id] = self.api.clock()
        await self.api.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.json,
                    "chat_instance": f"ci-{self.id}",
                    "message": {**self.api._message_json(message), "chat": {"id": self.id, "type": "private"}},
                    "data": data,
                }
            }
        )
        return query_id

    async def pay(
        self,
        invoice: SentMessage,
        *,
        payload: str | None = None,
        total: int | None = None,
        currency: str = "XTR",
        timeout: float = 10.0,
        deliver: bool = True,
    ) -> tuple[dict[str, Any], str | None]:
        """Tap Pay on ``invoice``: Telegram asks the bot first (``pre_checkout_query``, with the
        invoice's payload and total unless a modified client changes them) and charges only after
        ``ok``, given within the API's ``pre_checkout_window``. Returns the bot's answer
        (``{"ok": False, "late": True}`` for an answer after the window, ``"unwanted": True`` when
        the bot's ``allowed_updates`` left pre-checkout queries out) and the charge id (None
        when refused). Without ``deliver`` the ``successful_payment`` update never reaches the bot
        (lost in a crash after the update offset moved on): only the Star transaction tells of the
        payment."""
        query_id = f"pcq-{next(self.api._update_ids)}"
        self.api._pre_checkouts[query_id] = self.api.clock()
        payload = str(invoice.params["payload"]) if payload is None else payload
        total = int(invoice.params["prices"][0]["amount"]) if total is None else total
        query = {
            "id": query_id,
            "from": self.json,
            "currency": currency,
            "total_amount": total,
            "invoice_payload": payload,
        }
        await self.api.push_update({"pre_checkout_query": query})

        def answered() -> dict[str, Any] | None:
            if query_id in self.api.late_pre_checkouts:
                return {"ok": False, "error_message": None, "late": True}
            if any(update.get("pre_checkout_query", {}).get("id") == query_id for update in self.api.unwanted):
                return {"ok": False, "error_message": None, "unwanted": True}  # the bot never asked for it
            return self.api.pre_checkout_answers.get(query_id)

        answer = await self.api.wait_for(answered, timeout)
        if not answer["ok"]:
            return answer, None
        charge_id = self.api.charge(self, total, payload)
        if deliver:
            await self.send_payment(charge_id)
        return answer, charge_id

    async def send_payment(self, charge_id: str) -> None:
        """The ``successful_payment`` message of a charge (sent again, it is a replayed update)."""
        charge = self.api.charges[charge_id]
        payment = {
            "currency": charge["currency"],
            "total_amount": charge["stars"],
            "invoice_payload": charge["payload"],
            "telegram_payment_charge_id": charge_id,
            # A payment in Stars has no payment provider; one in another currency has its charge.
            "provider_payment_charge_id": "" if charge["currency"] == "XTR" else f"provider-{charge_id}",
        }
        await self.api.push_update({"message": self._message(successful_payment=payment)})

    async def answer_to(self, query_id: str, timeout: float = 10.0) -> str | None:
        await self.api.wait_for(lambda: query_id in self.api.callback_answers, timeout)
        return self.api.callback_answers[query_id]

    def messages(self, kind: str | None = None) -> list[SentMessage]:
        return self.api.sent_to(self.id, kind)

    async def next_message(self, contains: str = "", kind: str | None = None, timeout: float = 10.0) -> SentMessage:
        """The next message sent to this user after the previous call (optionally matching)."""

        def find() -> SentMessage | None:
            mine = self.messages()
            for index in range(self._seen, len(mine)):
                message = mine[index]
                if (kind is None or message.kind == kind) and contains in message.text:
                    self._seen = index + 1
                    return message
            return None

        return await self.api.wait_for(find, timeout)

    async def edited(self, message: SentMessage, contains: str, timeout: float = 10.0) -> SentMessage:
        """Wait until ``message`` has been edited to contain ``contains``."""
        await self.api.wait_for(lambda: contains in message.text, timeout)
        return message
