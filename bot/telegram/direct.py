"""Bot API calls made past python-telegram-bot's rate limiter, on connections of their own.

The answer to a pre-checkout query: Telegram cancels the checkout unless it has the answer within
10 s. Through the bot, the answer waited in AIORateLimiter with every other call, and a 429 that
Telegram sent any of them (``retry_after``: seconds, under load tens of them) holds every call for
that long: the user's payment failed. It is one call a purchase, so no limit of ours matters.
"""

from __future__ import annotations

import ssl

from bot.telegram.transport import AiohttpRequest, call_with_query

#: Connections for these calls: a few checkouts at once.
CONNECTIONS = 4


class DirectCalls:
    def __init__(self, base_url: str, tls: ssl.SSLContext | None = None) -> None:
        """``base_url``: the Bot API's, with the token (``Bot.base_url``)."""
        self._base_url = base_url
        self._request = AiohttpRequest(connection_pool_size=CONNECTIONS, tls=tls)

    async def start(self) -> None:
        await self._request.initialize()

    async def stop(self) -> None:
        await self._request.shutdown()

    async def answer_pre_checkout_query(self, query_id: str, ok: bool, error_message: str | None = None) -> None:
        """``answerPreCheckoutQuery``; raises what python-telegram-bot's call raises (a late answer:
        BadRequest)."""
        parameters = {"pre_checkout_query_id": query_id, "ok": "true" if ok else "false"}
        if error_message is not None:
            parameters["error_message"] = error_message
        await call_with_query(self._request, self._base_url, "answerPreCheckoutQuery", parameters)
