"""Sessions and conversation steps kept in the database (python-telegram-bot's persistence), so
that a restarted bot, or another bot process on the same PostgreSQL, carries on where each user
was: the photo they sent, the order on the summary, each service's dialog state (a draft, a choice)
through the registry, the step of each menu.

Only what can be written down is kept: a session's lock and the monotonic time of its last
update are made anew when it is read back. python-telegram-bot writes what changed every
``UPDATE_INTERVAL`` seconds and at shutdown; dropping a session (/forget, a quiet user) deletes it.

A process that lost the updates right writes nothing more (:meth:`DatabasePersistence.abandon`),
as if it had died there: the process taking over read the sessions as it took the right, and
goes on from them. Before, the lost one wrote its sessions once more as it stopped, with the
half-changes of the handlers it had just dropped, over what the new holder wrote meanwhile. Until
it knows (up to a heartbeat), its writes are refused all the same: each is fenced by the takeover
count it read the sessions under (:meth:`DatabasePersistence.fence`; the process taking over
counts its takeover before it reads them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import ValidationError
from telegram.ext import BasePersistence, PersistenceInput

from bot.domain.session import Album, AlbumPhoto, ExtraOrder, InputPhoto, PendingOrder, ServiceState, Session
from bot.storage.store import Store
from bot.telegram.context import BotData
from providers.localengine.findings import FaceFindings
from providers.orders import Order

#: python-telegram-bot's shapes of a conversation step's key, a conversation's steps and the
#: callback-data cache, spelled out here: its own aliases live in a private module.
ConversationKey = tuple[int | str, ...]
ConversationDict = MutableMapping[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

log = logging.getLogger(__name__)

#: Seconds between writes of what changed: a crash loses at most this much of a dialogue (never
#: an order: Confirm stores the job at once). Each write deep-copies and stores every session that
#: changed; once a second those bursts doubled the load benchmark's added latency, every five
#: seconds nothing measurable (docs/benchmarks.md).
UPDATE_INTERVAL = 5.0
#: Session writes at once: python-telegram-bot writes every changed session together, and on
#: PostgreSQL that burst took every pooled connection, so orders and deliveries waited behind it.
CONCURRENT_WRITES = 2


def _photo(photo: InputPhoto | None) -> dict[str, Any] | None:
    if photo is None:
        return None
    face = dataclasses.asdict(photo.face) if photo.face is not None else None
    return {"ref": photo.ref, "width": photo.width, "height": photo.height, "face": face}


def _read_photo(photo: dict[str, Any] | None) -> InputPhoto | None:
    if not photo:
        return None
    face = FaceFindings(**photo["face"]) if photo.get("face") else None
    return InputPhoto(photo["ref"], photo["width"], photo["height"], face)


def encode(session: Session) -> str:
    order = session.order
    album = session.album
    data: dict[str, Any] = {
        "lang": session.lang,
        "photo": _photo(session.photo),
        "album": None
        if album is None
        else {
            "key": album.key,
            "photos": [{"number": p.number, "photo": _photo(p.photo), "refusal": p.refusal} for p in album.photos],
        },
        "order": None
        if order is None
        else {
            "service": order.service,
            "order": order.order.model_dump(mode="json"),
            "input_ref": order.input_ref,
            "nonce": order.nonce,
            "provider": order.provider,
            "pinned": order.pinned,
            "extras": [{"order": e.order.model_dump(mode="json"), "input_ref": e.input_ref} for e in order.extras],
            "as_extra": order.as_extra,
            "album": order.album,
            "notes": order.notes,
            "quoted": order.quoted,
        },
        "services": {name: state.model_dump(mode="json") for name, state in session.services.items()},
        "pending_refund": list(session.pending_refund) if session.pending_refund else None,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode(
    text: str, order_models: Mapping[str, type[Order]], state_models: Mapping[str, type[ServiceState]]
) -> Session:
    """A session as written by :func:`encode`, or before each service kept its own state (its
    fields at the top level). An order or a state of a service no longer offered (not in
    ``order_models`` or ``state_models``, each service's models by name) is dropped."""
    data = json.loads(text)
    session = Session(
        lang=data.get("lang"),
        pending_refund=(data["pending_refund"][0], data["pending_refund"][1]) if data.get("pending_refund") else None,
    )
    session.photo = _read_photo(data.get("photo"))
    if album := data.get("album"):
        photos = [AlbumPhoto(p["number"], _read_photo(p["photo"]), p["refusal"]) for p in album["photos"]]
        session.album = Album(album["key"], photos)
    if (order := data.get("order")) and order["service"] in order_models:
        model = order_models[order["service"]]
        session.order = PendingOrder(
            order["service"],
            model.model_validate(order["order"]),
            order["input_ref"],
            order["nonce"],
            order["provider"],
            order.get("pinned", False),
            [ExtraOrder(model.model_validate(e["order"]), e["input_ref"]) for e in order.get("extras", [])],
            order.get("as_extra", False),
            order.get("album", False),
            order.get("notes", ""),
            order.get("quoted"),
        )
    states = data.get("services")
    if states is None:  # kept before services had states of their own
        states = {name: kept for name, model in state_models.items() if (kept := model.from_old_session(data))}
    for name, state in states.items():
        if name in state_models:
            session.services[name] = state_models[name].model_validate(state)
    return session


def _why(err: Exception) -> str:
    """What did not fit, without the values (a session holds file names and what the user typed)."""
    if isinstance(err, ValidationError):
        return "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['type']}" for e in err.errors())
    return type(err).__name__


class DatabasePersistence(BasePersistence[Session, dict[Any, Any], BotData]):
    """User sessions and conversation steps in the bot's database (either backend)."""

    def __init__(
        self,
        store: Store,
        order_models: Mapping[str, type[Order]],
        state_models: Mapping[str, type[ServiceState]],
        conversation_timeout: float | None = None,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True, callback_data=False),
            update_interval=UPDATE_INTERVAL,
        )
        self.store = store
        #: Each service's order model by name: a kept order is read back into it.
        self.order_models = order_models
        #: Each service's session state model by name: a kept state is read back into it.
        self.state_models = state_models
        #: A kept step whose user wrote nothing for this long had closed (see get_conversations).
        self.conversation_timeout = conversation_timeout
        self._writes = asyncio.Semaphore(CONCURRENT_WRITES)
        self._abandoned = False
        self._takeover: int | None = None

    def fence(self, takeover: int | None) -> None:
        """Write only while the updates right's takeover count is ``takeover`` (this process's,
        counted before it read the sessions): a process that lost the right and does not know it
        yet (up to a heartbeat) writes nothing once another took over and read them; its first
        write refused so, it writes no more (:meth:`abandon`)."""
        self._takeover = takeover

    def _fenced(self, sql: str, params: tuple[object, ...]) -> tuple[str, tuple[object, ...]]:
        """``sql`` and its ``params``, with its three values (``{values}``) or its condition
        (``{and_fence}``) taken only while the takeover count is still this process's, where it is
        fenced."""
        if self._takeover is None:
            return sql.format(values="VALUES (?, ?, ?)", and_fence=""), params
        still = f"(SELECT generation FROM update_takeovers{self.store.share_lock}) = ?"
        return sql.format(values=f"SELECT ?, ?, ? WHERE {still}", and_fence=f"AND {still}"), (*params, self._takeover)

    def _superseded(self) -> None:
        if not self._abandoned:
            log.error("another bot process took Telegram's updates over: this one writes no more sessions")
        self.abandon()

    def abandon(self) -> None:
        """This process lost the updates right: no session or conversation step is written from now
        on (another process owns every dialogue), not at the next periodic write, nor as the
        Application stops; what python-telegram-bot hands over is dropped, as by a process that died."""
        self._abandoned = True

    async def get_user_data(self) -> dict[int, Session]:
        """Every kept session. One that no longer reads (written by a version whose order or state
        model has since changed) is logged and deleted: it must not stop the bot (no process could
        take the updates), and its user starts afresh."""
        rows = await self.store.fetchall("SELECT user_id, data FROM sessions")
        sessions: dict[int, Session] = {}
        for row in rows:
            user_id = int(row["user_id"])
            try:
                sessions[user_id] = decode(row["data"], self.order_models, self.state_models)
            except Exception as err:  # noqa: BLE001 (whatever a stale row raises, the others are read)
                log.warning("dropped the kept session of user %d: it no longer reads (%s)", user_id, _why(err))
                # Unless another process has written it anew in the meantime.
                await self.store.write(
                    "DELETE FROM sessions WHERE user_id = ? AND data = ?", (row["user_id"], row["data"])
                )
        return sessions

    async def update_user_data(self, user_id: int, data: Session) -> None:
        async with self._writes:
            await self._write_session(user_id, data)

    async def _write_session(self, user_id: int, data: Session) -> None:
        if self._abandoned:  # looked at once its turn came: a write waiting for it is dropped too
            return
        upsert = " ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at"
        sql, params = self._fenced(
            "INSERT INTO sessions (user_id, data, updated_at) {values}", (user_id, encode(data), time.time())
        )
        if not await self.store.write(sql + upsert, params):
            self._superseded()

    async def drop_user_data(self, user_id: int) -> None:
        if self._abandoned:
            return
        await self.store.write(*self._fenced("DELETE FROM sessions WHERE user_id = ? {and_fence}", (user_id,)))

    async def refresh_user_data(self, user_id: int, user_data: Session) -> None:
        """Nothing to do: this process's session is the one written."""

    async def get_conversations(self, name: str) -> ConversationDict:
        """The kept steps of the conversation ``name``, but those that had closed: python-telegram-bot
        restores a step without its time limit, so a step whose user wrote nothing for
        ``conversation_timeout`` seconds (or whose session is gone, swept as quiet) is deleted, not
        restored. Before, it stayed open for good, and what its user typed weeks later went to a
        step whose photo and choices were gone: no answer at all."""
        rows = await self.store.fetchall("SELECT chat_key, state FROM conversations WHERE name = ?", (name,))
        if self.conversation_timeout is None:
            return {tuple(json.loads(row["chat_key"])): json.loads(row["state"]) for row in rows}
        since = time.time() - self.conversation_timeout
        seen = {
            int(row["user_id"]): float(row["updated_at"])
            for row in await self.store.fetchall("SELECT user_id, updated_at FROM sessions")
        }
        kept: ConversationDict = {}
        for row in rows:
            key = tuple(json.loads(row["chat_key"]))  # (chat id, user id)
            if seen.get(int(key[-1]), 0.0) >= since:
                kept[key] = json.loads(row["state"])
            else:
                await self._write_conversation(name, key, None)
        return kept

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        async with self._writes:
            await self._write_conversation(name, key, new_state)

    async def _write_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        if self._abandoned:
            return
        chat_key = json.dumps(list(key))  # as bot/storage/users.conversation_key (/forget deletes it)
        if new_state is None:
            sql = "DELETE FROM conversations WHERE name = ? AND chat_key = ? {and_fence}"
            await self.store.write(*self._fenced(sql, (name, chat_key)))
            return
        upsert = " ON CONFLICT (name, chat_key) DO UPDATE SET state = excluded.state"
        sql, params = self._fenced(
            "INSERT INTO conversations (name, chat_key, state) {values}", (name, chat_key, json.dumps(new_state))
        )
        if not await self.store.write(sql + upsert, params):
            self._superseded()

    # Chat data, bot data and callback data are not kept (store_data above says so).

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not kept."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not kept."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not kept."""

    async def get_bot_data(self) -> BotData:
        return BotData()

    async def update_bot_data(self, data: BotData) -> None:
        """Not kept."""

    async def refresh_bot_data(self, bot_data: BotData) -> None:
        """Not kept."""

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        """Not kept."""

    async def flush(self) -> None:
        """Every write went to the database as it was made."""
