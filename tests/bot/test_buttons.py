"""Every button press is answered (answerCallbackQuery) exactly once, on every path: the fake Bot
API refuses a second answer as Telegram does, and this presses every registered button pattern
with stale or forged data, where the early-return paths are."""

from __future__ import annotations

import re

import pytest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.main.app import build_application
from tests.bot.flows import order_portrait


def _button_patterns(make_settings) -> list[str]:
    """The callback data patterns of every registered CallbackQueryHandler, conversations included."""
    app = build_application(make_settings())
    found: list[str] = []

    def visit(handler: object) -> None:
        if isinstance(handler, ConversationHandler):
            in_states = [h for handlers in handler.states.values() for h in handlers]
            for inner in [*handler.entry_points, *handler.fallbacks, *in_states]:
                visit(inner)
        elif isinstance(handler, CallbackQueryHandler):
            found.append(handler.pattern.pattern if isinstance(handler.pattern, re.Pattern) else "")

    for group in app.handlers.values():
        for handler in group:
            visit(handler)
    return sorted(set(found))


def _data_for(pattern: str) -> str:
    """Callback data that matches ``pattern``, with a stale or forged argument."""
    if not pattern:
        return "zz:unknown"
    actions = re.fullmatch(r"\^(\w+):\((.+)\)\(:\|\$\)", pattern)
    if actions:
        return f"{actions.group(1)}:{actions.group(2).split('|')[0]}:0"
    one_argument = re.fullmatch(r"\^(.+)\[\^:\]\+\$", pattern)  # a fixed start, then any one argument
    if one_argument:
        return re.sub(r"\\(.)", r"\1", one_argument.group(1)) + "0"
    exact = re.fullmatch(r"\^(.+)\$", pattern)
    if exact:
        return re.sub(r"\\(.)", r"\1", exact.group(1))
    return pattern.lstrip("^") + "0"


def test_every_pattern_gets_data(make_settings):
    patterns = _button_patterns(make_settings)
    assert len(patterns) > 25
    for pattern in patterns:
        data = _data_for(pattern)
        assert re.match(pattern, data) if pattern else True, (pattern, data)


@pytest.fixture
def every_button(make_settings) -> list[str]:
    return [_data_for(pattern) for pattern in _button_patterns(make_settings)]


async def test_every_button_is_answered_once_even_when_stale_or_forged(bot, telegram, every_button):
    user = telegram.user()
    await user.send_text("/start")
    greeting = await user.next_message("Send me a photo")
    for data in every_button:
        query = await user.press_data(greeting, data)
        await user.answer_to(query, timeout=10)
    await user.send_text("/balance")  # handled after every press above: nothing failed meanwhile
    await user.next_message("You have")
    assert [m.text for m in user.messages() if "went wrong" in m.text] == []
    assert len(telegram.callback_answers) == len(every_button)


async def test_choosing_a_portrait_template_answers_the_button(bot, telegram, wanxing):
    user = telegram.user()
    summary = await order_portrait(user)
    pressed = [q for q in telegram.callback_queries if q not in telegram.callback_answers]
    assert pressed == [] and "Please check your order" in summary.text
