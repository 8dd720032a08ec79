"""Helpers every handler uses: the user's language and answering a button press."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.i18n import pick_language


async def user_language(update: Update, context: Context) -> str:
    """The user's language; registers the user (and today's free credits) on first sight."""
    session = context.session
    if session.lang is None:
        user = update.effective_user
        chat = update.effective_chat
        assert user is not None and chat is not None
        record = await context.services.repo.ensure_user(user.id, chat.id, pick_language(user.language_code))
        session.lang = record.language
    return session.lang


async def answer(update: Update, text: str | None = None) -> None:
    """Acknowledge a button press (stops the client's spinner), optionally with a toast."""
    if update.callback_query is not None:
        await update.callback_query.answer(text)
