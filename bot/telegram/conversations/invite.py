"""/invite: the person's invitation link, ``t.me/<bot>?start=<code>``. Who came through it, and the
bonus both earn, is the storage's (bot/storage/invites.py); a newcomer's code is read from their
first update (``common.invite_code``), before any handler runs."""

from __future__ import annotations

from telegram import Update

from bot.storage.invites import Invites
from bot.telegram.context import Context
from bot.telegram.conversations.common import message_of, user_id_of
from bot.telegram.ui.i18n import t


async def invite(update: Update, context: Context) -> None:
    """/invite: the link to share, and what it earns."""
    lang = context.lang
    bonus = context.wiring.settings.credits.invite_bonus
    if not bonus:
        await message_of(update).reply_text(t(lang, "invite.disabled"))
        return
    code = await Invites(context.wiring.db).code_of(user_id_of(update))
    link = f"https://t.me/{context.bot.username}?start={code}"
    await message_of(update).reply_text(t(lang, "invite.link", link=link, bonus=bonus))
