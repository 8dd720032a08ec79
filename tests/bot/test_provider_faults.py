"""The provider-fault matrix: every provider, every route the bot calls, every kind of fault.

Faults are injected into the fake providers' HTTP routes (tests.fakes.faults): an HTTP 500 or
503, a 200 whose body is not JSON, a dropped connection, an answer slower than usual but in
time, and one slower than the bot's request timeout. Each order either arrives exactly once
and is charged once, or fails with a message that says what happened and costs nothing.
The rule behind the expectations: a request the provider cannot have acted on, and every
status query or result download, is asked again; a paid submission that may have been
accepted is never sent twice, so when it fails the order is refunded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.main.app import running
from tests.bot import flows
from tests.bot.flows import order_enhance
from tests.fakes.faults import Fault
from tests.fakes.registry import FAKES, ProviderFake
from tests.fakes.telegram_api import FakeUser, SentMessage

REQUEST_TIMEOUT = 1.0
#: Slow but in time, and past the request timeout.
SLOW = Fault.slow(0.3)
TOO_SLOW = Fault.slow(REQUEST_TIMEOUT * 2.5)

DELIVERED = "Done!"
HAVING_TROUBLE = "The photo service is having trouble"
NOT_UNDERSTOOD = "sent an answer I could not understand"
UNREACHABLE = "cannot be reached right now"
NO_ANSWER_IN_TIME = "did not answer in time"
NOT_DOWNLOADED = "could not be downloaded"
STILL_TRYING = "not answering properly. Still trying"
STILL_TRYING_TEXT = (
    "⏳ The photo service is not answering properly. Still trying; nothing is charged unless your photo arrives."
)


#: Every provider with a fake, by its fixture name (tests/fakes/registry.py: how to order through
#: it, its price and its fake's routes).
PROVIDERS = {provider.fixture: provider for provider in FAKES}
#: Providers that charge for a submission they accepted: one is never sent twice.
PAID = tuple(name for name, provider in PROVIDERS.items() if provider.paid)
#: Providers that keep nothing and charge nothing: even their submission is sent again.
FREE = tuple(name for name, provider in PROVIDERS.items() if not provider.paid)


def order_through(provider: ProviderFake, user: FakeUser) -> Awaitable[SentMessage]:
    """The provider's flow (tests/bot/flows.py): from a fresh photo to its summary."""
    flow: Callable[[FakeUser], Awaitable[SentMessage]] = getattr(flows, provider.flow)
    return flow(user)


def _matrix() -> list[Any]:
    cases = []

    def case(provider: str, route: str, fault: Fault, outcome: str) -> None:
        name = f"{provider}-{route}-{fault.kind}{fault.status if fault.kind == 'error' else ''}"
        if fault == TOO_SLOW:
            name = f"{provider}-{route}-timeout"
        cases.append(pytest.param(PROVIDERS[provider], route, fault, outcome, id=name))

    for provider in PAID:
        submit = PROVIDERS[provider].submit
        case(provider, submit, Fault.error(500), HAVING_TROUBLE)
        case(provider, submit, Fault.error(503), DELIVERED)  # 503: not accepted, so sent again
        case(provider, submit, Fault.malformed(), NOT_UNDERSTOOD)
        case(provider, submit, Fault.dropped(), UNREACHABLE)
        case(provider, submit, SLOW, DELIVERED)
        case(provider, submit, TOO_SLOW, NO_ANSWER_IN_TIME)
        for route in PROVIDERS[provider].polls:
            for fault in (Fault.error(500), Fault.error(503), Fault.malformed(), Fault.dropped(), SLOW, TOO_SLOW):
                case(provider, route, fault, DELIVERED)
    # A free provider (QQ) keeps nothing, so even its submission (the conversion) is simply sent again.
    for provider in FREE:
        submit = PROVIDERS[provider].submit
        for fault in (Fault.error(500), Fault.error(503), Fault.dropped(), SLOW, TOO_SLOW):
            case(provider, submit, fault, DELIVERED)
        case(provider, submit, Fault.malformed(), NOT_UNDERSTOOD)
    for provider in PROVIDERS:
        for fault in (Fault.error(500), Fault.malformed(), Fault.dropped(), SLOW, TOO_SLOW):
            case(provider, "result", fault, DELIVERED)
    return cases


@pytest.fixture
def fake(request, provider):
    """The fake of the provider a test is parametrized with, started outside the event loop."""
    return request.getfixturevalue(provider.fixture)


@pytest.fixture
def fault_settings(make_settings):
    def make(fake: str, **overrides: Any):
        """Settings with the one provider under test, its requests timing out after REQUEST_TIMEOUT."""
        timeouts = {f"providers__{PROVIDERS[fake].name}__request_timeout": REQUEST_TIMEOUT}
        return make_settings(fake, network__download_timeout=REQUEST_TIMEOUT, **timeouts, **overrides)

    return make


async def _settled(services, user: FakeUser, summary: SentMessage, outcome: str, timeout: float = 30) -> None:
    await user.edited(summary, outcome, timeout=timeout)
    await services.runner.idle()


@pytest.mark.parametrize(("provider", "route", "fault", "outcome"), _matrix())
async def test_one_fault(fake, fault_settings, telegram, provider, route, fault, outcome):
    fake.server.faults.add(route, fault)
    async with running(fault_settings(provider.fixture)) as services:
        user = telegram.user()
        summary = await order_through(provider, user)
        before = len(user.messages())
        await user.press(summary, "Confirm")
        await _settled(services, user, summary, outcome)
        results = [m for m in user.messages()[before:] if m.kind != "text"]
        assert fake.server.faults.count(route) == 1
        if outcome == DELIVERED:
            assert [m.kind for m in results].count("document") == provider.documents  # each file once
            assert await services.ledger.balance(user.id) == 30 - provider.price
            if provider.accepted is not None:
                assert provider.accepted(fake) == 1  # nothing was submitted twice
        else:
            assert f"Your {provider.price} credits were returned." in summary.text
            assert results == []
            assert await services.ledger.balance(user.id) == 30
            if provider.accepted is not None and fault != TOO_SLOW:
                assert provider.accepted(fake) == 0
        assert await services.ledger.problems() == []


@pytest.mark.parametrize("provider", [PROVIDERS[name] for name in PAID], ids=str)
async def test_a_provider_that_stops_answering_is_given_up_at_the_deadline(fake, fault_settings, telegram, provider):
    fake.server.faults.always(provider.polls[0], Fault.error(502))
    deadline = 3
    shortest: dict[str, Any] = {f"providers__{provider.name}__deadline": deadline}
    if provider.name == "wanxing":  # a deadline is at least 玩星's timeout, at least 30 s
        deadline = 30
        shortest = {"providers__wanxing__timeout": deadline, "providers__wanxing__deadline": deadline}
    async with running(fault_settings(provider.fixture, **shortest)) as services:
        user = telegram.user()
        summary = await order_through(provider, user)
        await user.press(summary, "Confirm")
        await _settled(services, user, summary, HAVING_TROUBLE, timeout=deadline + 30)
        assert any(STILL_TRYING in text for text in summary.shown)
        assert f"Your {provider.price} credits were returned." in summary.text
        assert await services.ledger.balance(user.id) == 30
        assert await services.ledger.problems() == []


@pytest.mark.parametrize("provider", [PROVIDERS[name] for name in PAID], ids=str)
async def test_garbled_status_answers_in_a_row_end_the_job(fake, fault_settings, telegram, provider):
    fake.server.faults.always(provider.polls[0], Fault.malformed())
    async with running(fault_settings(provider.fixture)) as services:
        user = telegram.user()
        summary = await order_through(provider, user)
        await user.press(summary, "Confirm")
        await _settled(services, user, summary, NOT_UNDERSTOOD)
        assert fake.server.faults.count(provider.polls[0]) == 3
        assert await services.ledger.balance(user.id) == 30
        assert await services.ledger.problems() == []


@pytest.mark.parametrize("provider", list(PROVIDERS.values()), ids=str)
async def test_a_result_that_cannot_be_downloaded_is_refunded(fake, fault_settings, telegram, provider):
    fake.server.faults.always("result", Fault.error(404))
    async with running(fault_settings(provider.fixture)) as services:
        user = telegram.user()
        summary = await order_through(provider, user)
        await user.press(summary, "Confirm")
        await _settled(services, user, summary, NOT_DOWNLOADED)
        assert fake.server.faults.count("result") == 3
        assert await services.ledger.balance(user.id) == 30
        assert await services.ledger.problems() == []


async def test_the_trouble_note_goes_away_when_the_provider_recovers(fault_settings, telegram, tiger):
    tiger.hold = True
    tiger.server.faults.add("gettask", Fault.error(500), times=8)
    async with running(fault_settings("tiger")) as services:
        user = telegram.user()
        summary = await order_enhance(user)
        await user.press(summary, "Confirm")
        await user.edited(summary, STILL_TRYING)  # createtask's place in the queue, then the failing queries
        await user.edited(summary, "Waiting in the queue: place 2")  # the next good answer replaces the note
        assert [text for text in summary.shown if STILL_TRYING in text] == [STILL_TRYING_TEXT]
        tiger.hold = False
        await _settled(services, user, summary, DELIVERED)
        assert await services.ledger.balance(user.id) == 21
