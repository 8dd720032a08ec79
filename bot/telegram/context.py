"""Typed python-telegram-bot context: the per-user session and the bot's wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.domain.session import Session

if TYPE_CHECKING:
    from bot.main.wiring import Wiring


class BotData:
    """python-telegram-bot creates this empty; :func:`bot.main.wiring.open_wiring` fills it."""

    wiring: Wiring


class Context(CallbackContext[ExtBot, Session, dict, BotData]):
    @property
    def wiring(self) -> Wiring:
        return self.bot_data.wiring

    @property
    def session(self) -> Session:
        assert self.user_data is not None
        return self.user_data

    @property
    def lang(self) -> str:
        """The user's language, set for every update by ``conversations.common.register_user``."""
        return self.session.lang or "en"


CONTEXT_TYPES = ContextTypes(context=Context, user_data=Session, chat_data=dict, bot_data=BotData)
PhotoBotApp = Application[ExtBot, Context, Session, dict, BotData, Any]
