"""Long polling into the update inbox (bot/telegram/inbox.py): each batch ``getUpdates`` returns
is kept in the database before the next ``getUpdates``, whose offset tells Telegram it may drop
them; the inbox hands them to the handlers, as it does the webhook's.

Each batch is kept as Telegram sent it: ``getUpdates`` is asked through the Bot API transport
(``BaseRequest.post``, which raises what ``Bot.get_updates`` raises) instead of ``Bot.get_updates``,
which made every update an object only for it to be turned back into a dict to be kept (about
0.3 ms of the bot's CPU an update, some 2 ms an order: docs/benchmarks.md); the inbox makes the
objects once, when it hands them over.

python-telegram-bot's own poller put a batch in its in-memory queue and asked for the next at
once, while the handlers of the first still ran: a bot that died then (killed, out of memory, its
machine lost) had told Telegram it had updates it never handled. A Confirm pressed, a photo sent
or a payment (until the reconciliation found it) went unanswered. Kept first, an update is taken
again by the next process; one Telegram sends again (the offset did not reach it) is kept once.

A pre-checkout query is the exception, as with the webhook (bot/telegram/web.py): Telegram
cancels the checkout unless it is answered within 10 s, and in the inbox it waits behind every
update before it, for a handler to be free. The poller answers it as it takes it; one it could not
answer (Telegram out of reach) goes to the inbox, whose handler answers it in turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram.error import BadRequest, RetryAfter, TelegramError, TimedOut
from telegram.request import BaseRequest

from bot.storage.store import DATABASE_ERRORS
from bot.telegram.inbox import UpdateInbox
from bot.telegram.transport import call_with_query

log = logging.getLogger(__name__)

#: Seconds before asking again after a failed ``getUpdates`` or a batch that could not be kept,
#: growing by half each time it fails again, up to RETRY_LONGEST (as python-telegram-bot's poller).
RETRY_FIRST = 1.0
RETRY_LONGEST = 30.0
#: What a failed ``getUpdates`` (Telegram out of reach or refusing) or a batch not kept raises.
_FAILURES: tuple[type[BaseException], ...] = (TelegramError, *DATABASE_ERRORS)

#: Answers a pre-checkout query (an update as Telegram sent it) at once, and keeps its update_id
#: as handled (bot/telegram/conversations/payments.checkout_arrived).
Checkout = Callable[[dict[str, Any]], Awaitable[None]]


async def get_updates(
    request: BaseRequest, base_url: str, *, offset: int, timeout: int, allowed_updates: Sequence[str]
) -> list[dict[str, Any]]:
    """One long poll: the updates as Telegram sent them. ``base_url``: the Bot API's, with the
    token (``Bot.base_url``). The answer may take ``timeout`` seconds more than any other call."""
    parameters: dict[str, str | int] = {
        "offset": offset,
        "timeout": timeout,
        "allowed_updates": json.dumps(list(allowed_updates)),
    }
    updates = await call_with_query(
        request, base_url, "getUpdates", parameters, read_timeout=(request.read_timeout or 0) + timeout
    )
    if not isinstance(updates, list) or not all(isinstance(update, dict) for update in updates):
        raise TelegramError("getUpdates did not answer a list of updates")
    return updates


async def poll_into(
    inbox: UpdateInbox,
    request: BaseRequest,
    base_url: str,
    *,
    timeout: int,
    allowed_updates: Sequence[str],
    checkout: Checkout,
) -> None:
    """Long-poll Telegram for updates through ``request`` (initialized; a connection of its own,
    as a long poll holds it) and keep each batch in ``inbox`` before asking for the next, until
    cancelled; its pre-checkout queries are answered first, by ``checkout``. A batch that cannot
    be kept (the database out of reach) is asked for again. A webhook left set (the bot ran in
    webhook mode) must be deleted first: Telegram refuses ``getUpdates`` while one is."""
    offset = 0
    wait = RETRY_FIRST
    while True:
        try:
            updates = await get_updates(
                request, base_url, offset=offset, timeout=timeout, allowed_updates=allowed_updates
            )
            await inbox.put(*await _answer_checkouts(updates, checkout))
        except TimedOut:  # the long poll's answer was late: ask again at once
            continue
        except RetryAfter as err:
            await asyncio.sleep(
                err.retry_after if isinstance(err.retry_after, (int, float)) else err.retry_after.total_seconds()
            )
            continue
        except _FAILURES as err:
            log.warning("could not take Telegram's updates (asking again in %.0f s): %s", wait, err)
            await asyncio.sleep(wait)
            wait = min(wait * 1.5, RETRY_LONGEST)
            continue
        wait = RETRY_FIRST
        if updates:
            offset = int(updates[-1]["update_id"]) + 1


async def _answer_checkouts(updates: list[dict[str, Any]], checkout: Checkout) -> list[dict[str, Any]]:
    """Answer the batch's pre-checkout queries, together; the updates left for the inbox: the
    others, and the queries Telegram could not be told about."""
    queries = [update for update in updates if "pre_checkout_query" in update]
    answered = await asyncio.gather(*(_answered(update, checkout) for update in queries))
    done = {update["update_id"] for update, ok in zip(queries, answered, strict=True) if ok}
    return [update for update in updates if update["update_id"] not in done]


async def _answered(update: dict[str, Any], checkout: Checkout) -> bool:
    """Whether the query was answered here, or never can be (a database error is raised: the
    batch is asked for again)."""
    try:
        await checkout(update)
    except BadRequest as err:  # too late, or answered already: the inbox could do no better
        log.warning("could not answer pre-checkout query %s: %s", update["update_id"], err)
    except TelegramError as err:
        log.warning("could not answer pre-checkout query %s (left to the inbox): %s", update["update_id"], err)
        return False
    return True
