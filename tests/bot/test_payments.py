"""End-to-end: credits bought with Telegram Stars, through the fake Bot API and real long polling."""

from __future__ import annotations

import asyncio
import signal

import pytest
import yaml

from bot.main.app import running
from bot.storage.ledger import Credits
from bot.storage.opening import open_store
from tests.bot.flows import forget, order_until_summary, send_photo_and_pick_idphoto
from tests.bot.process import BotProcess
from tests.conftest import postgres_schema
from tests.fakes.server import free_port

ADMIN = 9001  # telegram.admin_ids in the test settings
#: Updates python-telegram-bot handles at once (``concurrent_updates(True)``, bot/main/app.py).
HANDLERS = 256
PACKS = [{"id": "small", "credits": 30, "stars": 50}, {"id": "large", "credits": 100, "stars": 150}]


@pytest.fixture
async def shop(make_settings, picwish):  # ID photos by PicWish: 6 credits each
    async with running(make_settings(payments__packs=PACKS)) as services:
        yield services


async def _invoice(user, pack: str = "30 credits"):
    await user.send_text("/buy")
    menu = await user.next_message("Buy credits with Telegram Stars")
    assert [b["text"] for b in menu.buttons()] == ["30 credits · 50 ⭐", "100 credits · 150 ⭐"]
    await user.press(menu, pack)
    return await user.next_message(kind="invoice")


async def _owes_then_buys(shop, user) -> None:
    """Owing 6 credits: an order is refused for them; a pack bought, the same summary's Confirm
    delivers, and 30 - 6 - 6 bought credits are left."""
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.edited(summary, "you owe 6 credits")
    await user.pay(await _invoice(user))
    await user.next_message("Thank you!")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    assert (await shop.ledger.credits(user.id)).bought == 30 - 6 - 6


async def _buy_and_order(user) -> str:
    """A pack bought, then a PicWish ID photo (6 credits) delivered; the pack's charge id."""
    _, charge_id = await user.pay(await _invoice(user))
    await user.next_message("Thank you!")
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    return charge_id


async def test_buying_a_pack_adds_its_credits_once(shop, telegram):
    user = telegram.user(user_id=801)
    invoice = await _invoice(user)
    assert invoice.params["currency"] == "XTR" and invoice.params["prices"][0]["amount"] == 50
    assert not invoice.params.get("provider_token")
    assert len(invoice.params["payload"]) >= 32  # a random token, not a guessable "801:small"
    answer, charge_id = await user.pay(invoice)
    assert answer == {"ok": True, "error_message": None} and charge_id
    # Telegram sends checkouts only to a bot that asks for them (allowed_updates), as it does.
    assert "pre_checkout_query" in (telegram.allowed_updates or []) and telegram.unwanted == []
    thanks = await user.next_message("Thank you!")
    assert thanks.text == "⭐ Thank you! 30 credits added; you now have 60."
    credits = await shop.ledger.credits(801)
    assert (credits.total, credits.bought, credits.free) == (60, 30, 30)
    # Telegram delivers the same update again: nothing more is added, nothing is said.
    await user.send_payment(charge_id)
    await user.send_text("/balance")
    balance = await user.next_message("You have")
    assert balance.text.startswith("You have 60 credits.")
    assert "Of these, 30 are free and 30 bought" in balance.text
    assert f": 30 credits for 50 ⭐ (payment {charge_id})" in balance.text
    assert sum("Thank you" in m.text for m in user.messages()) == 1
    assert await shop.ledger.credits(801) == credits
    assert await shop.ledger.problems() == []


async def test_bought_credits_survive_the_daily_top_up_and_are_spent_after_free_ones(shop, telegram):
    user = telegram.user(user_id=802)
    await user.pay(await _invoice(user))
    await user.next_message("Thank you!")
    summary = await order_until_summary(user, "Visa", "USA Visa", "White")
    await user.press(summary, "Confirm")
    await user.next_message(kind="document", timeout=15)
    credits = await shop.ledger.credits(802)
    assert (credits.free, credits.bought) == (24, 30)  # the 6 came from the free credits
    # Tomorrow the free credits are topped up to 30 again; the bought ones stay as they are.
    shop.ledger.today = lambda: "2099-01-01"  # type: ignore[method-assign]
    credits = await shop.ledger.credits(802)
    assert (credits.free, credits.bought) == (30, 30)
    assert await shop.ledger.problems() == []


async def test_a_forged_or_changed_checkout_is_refused_and_charges_nothing(shop, telegram):
    buyer = telegram.user(user_id=803)
    invoice = await _invoice(buyer)
    answer, charge = await buyer.pay(invoice, payload="803:small")  # a guessed payload
    assert answer["ok"] is False and "not valid any more" in answer["error_message"] and charge is None
    answer, charge = await buyer.pay(invoice, total=1)  # a modified client pays 1 star
    assert answer["ok"] is False and "price of this invoice changed" in answer["error_message"]
    answer, charge = await buyer.pay(invoice, currency="USD")
    assert answer["ok"] is False and charge is None
    other = telegram.user(user_id=804)  # someone else pays the buyer's invoice
    answer, charge = await other.pay(invoice)
    assert answer["ok"] is False and "made for someone else" in answer["error_message"] and charge is None
    assert telegram.charges == {}
    assert await shop.db.fetchall("SELECT * FROM ledger WHERE kind = 'purchase'") == []


async def test_buying_from_the_not_enough_credits_refusal_then_confirming_the_same_order(
    make_settings, telegram, picwish
):
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=5)) as shop:
        user = telegram.user(user_id=805)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.edited(summary, "This costs 6 credits but you have 5")
        assert "Buy credits below, then press Confirm: this order waits here." in summary.text
        await user.press(summary, "Buy credits")
        menu = await user.next_message("Buy credits with Telegram Stars")
        await user.press(menu, "30 credits")
        invoice = await user.next_message(kind="invoice")
        await user.pay(invoice)
        await user.next_message("Thank you!")
        await user.press(summary, "Confirm")  # the order waited on screen
        await user.next_message(kind="document", timeout=15)
        credits = await shop.ledger.credits(805)
        assert (credits.free, credits.bought) == (0, 29)  # 5 free, then 1 bought
        assert await shop.ledger.problems() == []


async def test_an_admin_refund_gives_the_stars_back_and_takes_the_credits(shop, telegram):
    user = telegram.user(user_id=806)
    _, charge_id = await user.pay(await _invoice(user))
    await user.next_message("Thank you!")
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {charge_id}")
    done = await admin.next_message("Refunded")
    assert done.text == "Refunded 50 ⭐ to user 806; 30 credits taken back."
    assert telegram.charges[charge_id]["refunded"] is True
    told = await user.next_message("was refunded")
    assert "You have 30 now" in told.text
    # Telegram reports the refund as well (refunded_payment): it takes nothing back a second time.
    await telegram.wait_for(lambda: any("refunded_payment" in u.get("message", {}) for u in telegram.pushed.values()))
    assert await shop.ledger.credits(806) == type(await shop.ledger.credits(806))(30, 0)
    await admin.send_text(f"/refund {charge_id}")
    await admin.next_message(f"Payment {charge_id} was refunded already.")
    await admin.send_text("/refund nope")
    await admin.next_message("No payment nope was made to this bot.")
    stranger = telegram.user(user_id=807)
    await stranger.send_text(f"/refund {charge_id}")
    await stranger.next_message("This command is for the bot's administrators.")
    await user.send_text("/balance")
    assert "30 credits for 50 ⭐, refunded" in (await user.next_message("You have")).text
    assert await shop.ledger.problems() == []


async def test_refunding_spent_credits_asks_the_admin_then_blocks_orders_until_bought_again(
    make_settings, telegram, picwish
):
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=808)
        charge_id = await _buy_and_order(user)
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text(f"/refund {charge_id}")
        question = await admin.next_message("has already spent 6 of the 30 credits")
        await user.send_text("/balance")
        assert (await user.next_message("You have")).text.startswith("You have 24 credits.")
        await admin.press(question, "Keep the payment")
        await admin.edited(question, "Not refunded.")
        assert telegram.charges[charge_id]["refunded"] is False
        await admin.send_text(f"/refund {charge_id}")
        question = await admin.next_message("Refund anyway?")
        await admin.press(question, "Refund anyway")
        await admin.edited(question, "Refunded 50 ⭐ to user 808")
        credits = await shop.ledger.credits(808)
        assert (credits.total, credits.bought) == (-6, -6)
        await _owes_then_buys(shop, user)
        assert await shop.ledger.problems() == []


async def test_an_order_placed_while_telegram_refunds_cannot_spend_the_refunded_credits(
    make_settings, telegram, picwish
):
    """An admin refunds an unspent pack; while Telegram is asked, the buyer confirms an order.
    The order is refused (the pack's credits are set aside) and the refund goes through: the
    buyer ends at 0, not below. Before, the order spent the credits in between and the refund
    left bought credits at -6, with no question asked and no alert."""
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=817)
        _, charge_id = await user.pay(await _invoice(user))
        await user.next_message("Thank you!")
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        telegram.hold["refundStarPayment"] = asyncio.Event()
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text(f"/refund {charge_id}")
        await telegram.held.setdefault("refundStarPayment", asyncio.Event()).wait()
        await user.press(summary, "Confirm")
        await user.edited(summary, "This costs 6 credits but you have 0")
        telegram.hold.pop("refundStarPayment").set()
        await admin.next_message("Refunded 50 ⭐ to user 817; 30 credits taken back.")
        assert await shop.ledger.credits(817) == Credits(0, 0)
        assert await shop.db.fetchall("SELECT * FROM jobs") == []
        assert await shop.ledger.problems() == []


async def test_a_refund_made_by_telegram_is_taken_back_once_and_the_admins_told_when_spent(
    make_settings, telegram, picwish
):
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=809)
        charge_id = await _buy_and_order(user)
        await telegram.refund_by_telegram(user, charge_id)
        told = await user.next_message("was refunded")
        # Before: "You have -6 now.", and nothing said of the orders it refuses.
        assert told.text.endswith(
            "Some had been used already: you owe 6 credits, and can order again once you buy credits (/buy)."
        )
        alert = await telegram.wait_for(lambda: telegram.sent_to(ADMIN))
        assert alert[0].text.startswith(f"⚠️ Telegram refunded user 809's payment {charge_id} (50 ⭐)")
        await telegram.refund_by_telegram(user, charge_id)  # reported twice: taken back once
        await user.send_text("/balance")
        balance = await user.next_message("You have")
        assert "you owe 6 credits" in balance.text
        assert (await shop.ledger.credits(809)).bought == -6
        assert await shop.ledger.problems() == []


async def test_paysupport_terms_and_no_shop_without_packs(bot, make_settings, telegram):
    user = telegram.user(user_id=810)
    await user.send_text("/buy")
    await user.next_message("Credits cannot be bought here.")
    await user.send_text("/terms")
    assert (await user.next_message("Terms of sale")).text.startswith("Terms of sale\n\n1. Credits are bought")
    await user.send_text("/paysupport")
    await user.next_message("Send /paysupport followed by your question")
    await user.send_text("/paysupport I paid twice")
    await user.next_message("your question was sent to the operator")
    alert = await telegram.wait_for(lambda: telegram.sent_to(ADMIN))
    assert "Payment question from user 810" in alert[0].text and "I paid twice" in alert[0].text


async def test_the_operator_replaces_the_terms_per_language(make_settings, telegram):
    terms = {"en": "Our own terms.", "zh-Hans": "我们自己的条款。"}
    async with running(make_settings(payments__packs=PACKS, payments__terms=terms)):
        chinese = telegram.user(user_id=811, language_code="zh-hans")
        await chinese.send_text("/terms")
        await chinese.next_message("我们自己的条款。")
        assert [c["command"] for c in telegram.commands[""]][-3:] == ["buy", "paysupport", "terms"]


async def test_a_purchase_is_refundable_after_forget_and_the_ledger_still_balances(shop, telegram):
    """/forget moves the buyer's ledger rows to a pseudonym; the payment keeps the Telegram id a
    refund is made to, and the credits are taken back from the pseudonym."""
    user = telegram.user(user_id=812)
    _, charge_id = await user.pay(await _invoice(user))
    await user.next_message("Thank you!")
    await forget(user)
    assert await shop.db.fetchone("SELECT 1 FROM users WHERE user_id = 812") is None
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {charge_id}")
    await admin.next_message("Refunded 50 ⭐ to user 812; 30 credits taken back.")
    assert telegram.charges[charge_id]["refunded"] is True
    (refund,) = await shop.db.fetchall("SELECT user_id, amount FROM ledger WHERE kind = 'refund'")
    assert refund["user_id"] < 0 and refund["amount"] == 30
    assert await shop.ledger.problems() == []


async def test_a_payment_on_its_way_as_the_buyer_forgets_is_credited_and_one_for_no_invoice_refundable(shop, telegram):
    """Telegram charged (the checkout was answered yes) and its payment message is on its way when
    the buyer uses /forget: the invoice it names is kept for it, and the pack's credits are added
    when it comes (before, /forget deleted the invoice: Stars taken, no credits, and /refund knew
    no such payment). A payment naming no invoice of ours is recorded without credits: the buyer
    is told it will be sorted out, and /refund gives its Stars back."""
    user = telegram.user(user_id=825)
    answer, charge_id = await user.pay(await _invoice(user), deliver=False)
    assert answer["ok"] and charge_id
    await forget(user)
    await user.send_payment(charge_id)
    thanks = await user.next_message("Thank you!")
    assert thanks.text.startswith("⭐ Thank you! 30 credits added")
    assert (await shop.ledger.credits(825)).bought == 30
    forged = telegram.charge(user, 50, "a-payload-this-bot-never-issued")
    await user.send_payment(forged)
    await user.next_message("cannot match it to a pack")
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {forged}")
    await admin.next_message("Refunded 50 ⭐ to user 825; 0 credits taken back.")
    told = await user.next_message("was refunded")
    assert told.text == "↩️ Your payment of 50 ⭐, which I could not match to a pack, was refunded."
    assert telegram.charges[forged]["refunded"] is True
    assert (await shop.ledger.credits(825)).bought == 30
    assert await shop.ledger.problems() == []


async def test_a_payment_not_by_its_invoices_buyer_or_not_at_its_price_adds_no_credits(shop, telegram):
    """The pre-checkout refuses another user's invoice and another price; a payment that comes all
    the same (the second line of defence) was credited the invoice's pack: a stranger got the
    buyer's 30 credits, 1 ⭐ bought 30 credits. It adds nothing now: it is kept for /refund, the
    payer is told it will be sorted out, and the admins are told what was paid against what."""
    buyer, stranger = telegram.user(user_id=834), telegram.user(user_id=835)
    invoice = await _invoice(buyer)
    payload = str(invoice.params["payload"])
    by_stranger = telegram.charge(stranger, 50, payload)
    await stranger.send_payment(by_stranger)
    await stranger.next_message("cannot match it to a pack")
    await buyer.send_payment(telegram.charge(buyer, 1, payload))
    await buyer.next_message("cannot match it to a pack")
    alerts = await telegram.wait_for(lambda: (found := telegram.sent_to(ADMIN)) and len(found) == 2 and found)
    assert [alert.text for alert in alerts] == [
        f"⚠️ User {payer} paid {amount} (payment {charge}) with an invoice the bot made for user 834 at 50 ⭐:"
        " not its buyer, or not its price, so no credits were added. Check it and refund with /refund if needed."
        for payer, amount, charge in [(835, "50 XTR", by_stranger), *((834, a, c) for a, c in _charges(telegram, 834))]
    ]
    assert await shop.db.fetchall("SELECT * FROM ledger WHERE kind = 'purchase'") == []
    kept = await shop.db.fetchall("SELECT user_id, credits, stars FROM payments ORDER BY paid_at")
    assert [tuple(row) for row in kept] == [(835, 0, 50), (834, 0, 1)]
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {by_stranger}")
    await admin.next_message("Refunded 50 ⭐ to user 835; 0 credits taken back.")
    await stranger.next_message("which I could not match to a pack, was refunded")
    # The invoice as issued still sells its pack to its buyer.
    await buyer.pay(invoice)
    await buyer.next_message("Thank you! 30 credits added")
    assert (await shop.ledger.credits(834)).bought == 30 and (await shop.ledger.credits(835)).bought == 0
    assert await shop.ledger.problems() == []


async def test_a_payment_not_in_stars_is_kept_with_its_currency_and_not_refunded_in_stars(shop, telegram):
    """The bot invoices in Stars only; a payment in another currency all the same (50 USD) adds
    nothing and is kept, with its currency. Before, it was kept as 50 ⭐: the admins were told to
    /refund it, and /refund asked refundStarPayment, which refunds Stars only and refused (a dead
    end); the buyer's /balance listed it as paid in ⭐, and /stats counted it as Stars earned."""
    buyer = telegram.user(user_id=836)
    payload = str((await _invoice(buyer)).params["payload"])
    charge_id = telegram.charge(buyer, 50, payload, "USD")
    await buyer.send_payment(charge_id)
    await buyer.next_message("cannot match it to a pack")
    (alert,) = await telegram.wait_for(lambda: telegram.sent_to(ADMIN))
    assert alert.text == (
        f"⚠️ User 836 paid 50 USD (payment {charge_id}; the provider's charge provider-{charge_id}), but this bot"
        " sells in Telegram Stars only: no credits were added. /refund cannot give it back: refund it through the"
        " payment provider it was made with."
    )
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {charge_id}")
    told = await admin.next_message(f"Payment {charge_id}")
    assert told.text.startswith(f"Payment {charge_id} was made in USD, not in Telegram Stars")
    assert not any(method == "refundStarPayment" for method, _ in telegram.calls)
    await buyer.send_text("/balance")
    balance = await buyer.next_message("You have")
    assert f"50 USD, not matched to a pack (payment {charge_id})" in balance.text and "⭐" not in balance.text
    await admin.send_text("/stats")
    assert "Stars: 0 ⭐ earned" in (await admin.next_message("Stars:")).text
    assert (await shop.ledger.credits(836)).bought == 0
    assert await shop.ledger.problems() == []


def _charges(telegram, user_id: int) -> list[tuple[str, str]]:
    """The user's charges, oldest first, as (amount with its currency, charge id)."""
    return [
        (f"{charge['stars']} {charge['currency']}", charge_id)
        for charge_id, charge in telegram.charges.items()
        if charge["user_id"] == user_id
    ]


def _reconciling(make_settings, **overrides):
    """A shop that compares Telegram's Star transactions with its payments every 0.1 s."""
    return make_settings(
        payments__packs=PACKS, payments__reconcile_interval=0.1, payments__reconcile_grace=0, **overrides
    )


async def test_a_payment_whose_update_was_lost_is_credited_once_from_telegrams_record(make_settings, telegram, picwish):
    """Polling: the successful_payment update is lost (a crash after the update offset moved on).
    Telegram's record of Star transactions still lists the payment, behind more than a page of
    other transactions: the reconciliation credits it once, tells the buyer and the admins once,
    and the update arriving after all adds nothing."""
    for n in range(150):  # withdrawals to Fragment: neither payments nor refunds
        telegram.record_transaction(f"withdrawal-{n}", 10, receiver={"type": "fragment"})
    async with running(_reconciling(make_settings)) as shop:
        user = telegram.user(user_id=813)
        answer, charge_id = await user.pay(await _invoice(user), deliver=False)
        assert answer["ok"] and charge_id
        told = await user.next_message("has been credited")
        assert told.text.startswith("⭐ Your payment of 50 ⭐ has been credited: 30 credits added; you now have 60.")
        (alert,) = await telegram.wait_for(lambda: telegram.sent_to(ADMIN))
        assert alert.text.startswith(f"⚠️ User 813 paid 50 ⭐ (payment {charge_id}), but the payment never reached")
        assert "30 credits added now" in alert.text

        def passes() -> int:
            return sum(1 for method, params in telegram.calls if method == "getStarTransactions")

        seen = passes()
        await telegram.wait_for(lambda: passes() >= seen + 3)  # more passes: nothing more happens
        await user.send_payment(charge_id)  # the update, sent again by Telegram after all
        await user.send_text("/balance")
        assert (await user.next_message("You have")).text.startswith("You have 60 credits.")
        assert len(telegram.sent_to(ADMIN)) == 1
        assert not any("Thank you" in m.text for m in user.messages())
        credits = await shop.ledger.credits(813)
        assert (credits.total, credits.bought) == (60, 30)
        purchases = await shop.db.fetchall("SELECT amount FROM ledger WHERE kind = 'purchase' AND user_id = 813")
        assert [row["amount"] for row in purchases] == [30]
        assert await shop.ledger.problems() == []
        # Paged through: 150 others and the payment, at most 100 a page; then only from the last
        # one settled (read again as a check), until the list is not as it was: all again.
        offsets = [int(params.get("offset", 0)) for method, params in telegram.calls if method == "getStarTransactions"]
        assert offsets[:2] == [0, 100] and set(offsets[2:]) == {150}
        telegram.star_transactions.insert(0, telegram.star_transactions.pop())
        seen = passes()
        await telegram.wait_for(lambda: passes() >= seen + 4)
        offsets = [int(params.get("offset", 0)) for method, params in telegram.calls if method == "getStarTransactions"]
        assert offsets[len(offsets) - (passes() - seen) :][:3] == [150, 0, 100]
        assert len(telegram.sent_to(ADMIN)) == 1 and (await shop.ledger.credits(813)).bought == 30


async def test_a_lost_refund_report_is_taken_back_and_a_stranger_payment_only_reported(
    make_settings, telegram, picwish
):
    """Telegram refunded a payment but its refunded_payment update was lost: the credits are
    taken back once. A payment for no invoice of ours adds nothing; the admins are told once, and
    it is recorded without credits, so that /refund gives its Stars back."""
    async with running(_reconciling(make_settings)) as shop:
        user = telegram.user(user_id=814)
        # The payment's own update first: with no grace, a pass of the reconciliation could find
        # the payment before its update was handled and credit it from the record (the test
        # failed so once, on a busy machine).
        telegram.hold["getStarTransactions"] = gate = asyncio.Event()
        _, charge_id = await user.pay(await _invoice(user))
        await user.next_message("Thank you!")
        gate.set()
        await telegram.refund_by_telegram(user, charge_id, deliver=False)
        await user.next_message("was refunded")
        stranger = telegram.user(user_id=815)
        forged = telegram.charge(stranger, 50, "a-payload-this-bot-never-issued")
        alerts = await telegram.wait_for(lambda: len(telegram.sent_to(ADMIN)) == 2 and telegram.sent_to(ADMIN))
        texts = sorted(alert.text for alert in alerts)
        assert texts[0].startswith(f"⚠️ Telegram refunded user 814's payment {charge_id} (50 ⭐) but the refund")
        assert "30 credits taken back now; their bought credits are 0" in texts[0]
        assert texts[1].startswith(f"⚠️ Telegram's record of Star payments lists payment {forged}: 50 ⭐ from user 815")
        seen = sum(1 for method, _ in telegram.calls if method == "getStarTransactions")
        await telegram.wait_for(
            lambda: sum(1 for method, _ in telegram.calls if method == "getStarTransactions") >= seen + 3
        )
        assert len(telegram.sent_to(ADMIN)) == 2
        assert (await shop.ledger.credits(814)).bought == 0
        recorded = await shop.payments.payment(forged)
        assert recorded is not None and (recorded.user_id, recorded.credits, recorded.stars) == (815, 0, 50)
        assert await shop.ledger.problems() == []
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text(f"/refund {forged}")
        await admin.next_message("Refunded 50 ⭐ to user 815; 0 credits taken back.")
        assert telegram.charges[forged]["refunded"] is True
        # The stranger is a user once an update of theirs is handled (the refund's report races
        # the admin's answer): their own /balance, answered.
        await stranger.send_text("/balance")
        await stranger.next_message("You have 30 credits.")
        assert (await shop.ledger.credits(815)).bought == 0
        assert await shop.ledger.problems() == []


async def test_every_refund_is_reported_and_reconciled_and_taken_back_once(make_settings, telegram, picwish):
    """Every refund is a Star transaction and is reported with refunded_payment, the bot's own
    too: for an admin's /refund, its answer, its report and the reconciliation's passes each find
    it, and for Telegram's own refund the report and the passes; the credits leave once, the
    buyers are told once and nobody is alerted (the admin confirmed; the other pack was unspent)."""
    settings = make_settings(
        payments__packs=PACKS,
        credits__daily_free=0,
        payments__reconcile_interval=0.1,
        payments__reconcile_grace=2,  # the refunds are reported first, then reconciled
    )
    async with running(settings) as shop:
        spender, other = telegram.user(user_id=823), telegram.user(user_id=824)
        spent = await _buy_and_order(spender)
        _, unspent = await other.pay(await _invoice(other))
        await other.next_message("Thank you!")
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text(f"/refund {spent}")
        question = await admin.next_message("Refund anyway?")
        await admin.press(question, "Refund anyway")
        await admin.edited(question, "Refunded 50 ⭐ to user 823; 30 credits taken back.")
        await spender.next_message("was refunded")
        await telegram.refund_by_telegram(other, unspent)
        await other.next_message("was refunded")
        refunds = [tx for tx in telegram.star_transactions if "receiver" in tx]
        assert sorted(tx["id"] for tx in refunds) == sorted([spent, unspent])

        def reported() -> list[str]:
            updates = telegram.pushed.values()
            return [
                u["message"]["refunded_payment"]["telegram_payment_charge_id"]
                for u in updates
                if "refunded_payment" in u.get("message", {})
            ]

        await telegram.wait_for(lambda: sorted(reported()) == sorted([spent, unspent]))
        async with asyncio.timeout(15):  # every transaction compared, the refunds too
            while shop.reconciler._settled < len(telegram.star_transactions):
                shop.reconciler.passed.clear()
                await shop.reconciler.passed.wait()
        await spender.send_text("/balance")
        assert "you owe 6 credits" in (await spender.next_message("You have")).text
        assert len([m for m in spender.messages() if m.text.startswith("↩️")]) == 1
        assert len([m for m in other.messages() if m.text.startswith("↩️")]) == 1
        assert not [m.text for m in telegram.sent_to(ADMIN) if m.text.startswith("⚠️")]
        rows = await shop.db.fetchall("SELECT payment, amount FROM ledger WHERE kind = 'refund' ORDER BY payment")
        assert sorted((row["payment"], row["amount"]) for row in rows) == sorted([(spent, 30), (unspent, 30)])
        assert (await shop.ledger.credits(823)).bought == -6 and (await shop.ledger.credits(824)).bought == 0
        assert await shop.ledger.problems() == []


async def test_in_webhook_mode_a_checkout_is_answered_in_time_by_the_process_that_received_it(
    make_settings, telegram, tmp_path
):
    """Telegram waits 10 s for a pre-checkout answer (here 3 s). Two bot processes on one
    PostgreSQL in webhook mode: one (a real ``photobot run``) handles the updates, the other
    receives them from Telegram. The handling one stops dead (SIGSTOP: busy, or far behind);
    the receiving one answers the checkout at once from the invoice in the database. Through the
    inbox the answer waited for the handling process, and the checkout failed."""
    telegram.pre_checkout_window = 3.0
    port = free_port()
    common = {
        "database__url": await postgres_schema(),
        "payments__packs": PACKS,
        "telegram__mode": "webhook",
        "telegram__webhook_secret": "hook-secret-of-at-least-32-characters",
        "server__public_url": f"http://127.0.0.1:{port}",  # Telegram posts to the receiving process
    }
    config = tmp_path / "handler.yaml"
    config.write_text(yaml.safe_dump(make_settings(**common).model_dump(mode="json", exclude_unset=True)))
    handler = BotProcess(config, tmp_path / "handler.log", role="bot")
    await handler.start(telegram)
    try:
        async with running(make_settings(server__port=port, **common), role="bot") as receiver:
            buyer = telegram.user(user_id=816)
            invoice = await _invoice(buyer)
            assert handler.proc is not None
            handler.proc.send_signal(signal.SIGSTOP)
            try:
                answer, charge_id = await buyer.pay(invoice)
                assert answer == {"ok": True, "error_message": None} and charge_id
                refused, _ = await buyer.pay(invoice, total=1)  # a refusal is answered in time too
                assert refused["ok"] is False and "price of this invoice changed" in refused["error_message"]
                assert telegram.late_pre_checkouts == []
                # Telegram sends the query again (it missed our 200): it is not answered twice.
                await telegram.resend_update(max(telegram.pushed))
                assert telegram.webhook_results[-1] == 200
            finally:
                handler.proc.send_signal(signal.SIGCONT)
            await buyer.next_message("Thank you!")  # the payment itself, from the inbox
            assert sum(1 for method, _ in telegram.calls if method == "answerPreCheckoutQuery") == 2
            # The queries were never left for the handling process: kept as handled where they arrived.
            queries = [n for n, update in telegram.pushed.items() if "pre_checkout_query" in update]
            rows = await receiver.db.fetchall("SELECT update_id, body, handled_at FROM updates")
            kept = {row["update_id"]: row for row in rows if row["update_id"] in queries}
            assert len(queries) == 2 and all(kept[n]["body"] == "" and kept[n]["handled_at"] for n in queries)
            assert (await receiver.ledger.credits(816)).bought == 30
            assert await receiver.ledger.problems() == []
    finally:
        await handler.stop()


async def test_in_polling_mode_a_checkout_is_answered_in_time_while_every_handler_is_busy(make_settings, telegram):
    """Telegram waits 10 s for a pre-checkout answer (here 3 s). Long polling kept the query in the
    update inbox behind every other update: a burst of commands (answered at the bot's pace,
    ``telegram.max_messages_per_second``) had every handler waiting for its turn to send and more
    updates behind them, and the query was answered only once its turn came, seconds too late:
    the checkout failed. The poller answers it as it takes it, as the webhook's receiver does."""
    telegram.pre_checkout_window = 3.0
    pace = 50  # messages a second: the updates ahead of the query take the handlers 5 s and more
    ahead = HANDLERS + 6 * pace
    async with running(make_settings(payments__packs=PACKS, telegram__max_messages_per_second=pace)) as shop:
        buyer = telegram.user(user_id=838)
        invoice = await _invoice(buyer)
        busy = telegram.user(user_id=839)
        for _ in range(ahead):
            await busy.send_text("/terms")
        answer, charge_id = await buyer.pay(invoice)
        assert answer == {"ok": True, "error_message": None} and charge_id
        refused, _ = await buyer.pay(invoice, total=1)  # a refusal is answered in time too
        assert refused["ok"] is False and "price of this invoice changed" in refused["error_message"]
        assert telegram.late_pre_checkouts == []
        # The queries were answered while the updates before them still waited for handlers.
        assert len(busy.messages()) < ahead
        await buyer.next_message("Thank you!", timeout=60)  # the payment itself, from the inbox
        await telegram.wait_for(lambda: len(busy.messages()) == ahead, timeout=60)
        assert sum(1 for method, _ in telegram.calls if method == "answerPreCheckoutQuery") == 2
        queries = [n for n, update in telegram.pushed.items() if "pre_checkout_query" in update]
        rows = await shop.db.fetchall("SELECT update_id, body, handled_at FROM updates")
        kept = {row["update_id"]: row for row in rows if row["update_id"] in queries}
        assert len(queries) == 2 and all(kept[n]["body"] == "" and kept[n]["handled_at"] for n in queries)
        assert (await shop.ledger.credits(838)).bought == 30
        assert await shop.ledger.problems() == []


async def test_forget_keeps_a_refund_debt(make_settings, telegram, picwish):
    """A buyer spent part of a pack Telegram then refunded: they owe 6 credits. /forget deletes
    their data but not the debt: back again, they still cannot order until a pack covers it.
    Before, the debt went with their rows to the pseudonym and they could order again at once."""
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=818)
        charge_id = await _buy_and_order(user)
        await telegram.refund_by_telegram(user, charge_id)
        await user.next_message("was refunded")
        await user.send_text("/forget")
        question = await user.next_message("credits you owe for a refunded purchase stay owed")
        await user.press(question, "Delete everything")
        await user.edited(question, "Done.")
        assert await shop.ledger.problems() == []
        await user.send_text("/balance")
        assert "you owe 6 credits" in (await user.next_message("You have")).text
        await _owes_then_buys(shop, user)
        assert await shop.ledger.credits(818) == Credits(30 - 6 - 6, 30 - 6 - 6)
        assert await shop.ledger.problems() == []


async def test_a_payment_lost_on_its_way_as_the_buyer_forgets_is_credited_by_the_reconciliation(
    make_settings, telegram, picwish
):
    """The checkout was answered yes, the payment's update was lost, and the buyer used /forget
    before the reconciliation found the payment: it credits the kept invoice's pack to the
    buyer's Telegram id (before, its purchase named a user /forget had deleted, and failed at
    every pass: Stars taken, no credits, nothing for /refund to find)."""
    async with running(_reconciling(make_settings)) as shop:
        user = telegram.user(user_id=827)
        invoice = await _invoice(user)
        telegram.hold["getStarTransactions"] = gate = asyncio.Event()
        answer, charge_id = await user.pay(invoice, deliver=False)
        assert answer["ok"] and charge_id
        await forget(user)
        gate.set()
        (alert,) = await telegram.wait_for(lambda: telegram.sent_to(ADMIN))
        assert alert.text.startswith(f"⚠️ User 827 paid 50 ⭐ (payment {charge_id}), but the payment never reached")
        assert (await shop.ledger.credits(827)).bought == 30
        assert await shop.ledger.problems() == []


async def test_a_refund_after_forget_of_credits_spent_leaves_the_debt_with_the_person(make_settings, telegram, picwish):
    """A buyer spent 6 of a 30-credit pack and used /forget, owing nothing then; the admin refunds
    the pack afterwards: the 6 credits spent are owed by the person (their Telegram id), not by the
    pseudonym their rows moved to, so back again they cannot order until a pack covers it (before,
    the pseudonym owed it, and the person ordered again at once)."""
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=826)
        charge_id = await _buy_and_order(user)
        await forget(user)
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text(f"/refund {charge_id}")
        question = await admin.next_message("has already spent 6 of the 30 credits")
        await admin.press(question, "Refund anyway")
        await admin.edited(question, "Refunded 50 ⭐ to user 826")
        assert (await shop.ledger.credits(826)).bought == -6
        assert await shop.ledger.problems() == []
        await _owes_then_buys(shop, user)
        assert await shop.ledger.problems() == []


async def test_forget_deletes_the_invoices_and_the_kept_conversation_steps(make_settings, telegram, picwish):
    """/forget deletes the user's invoices (paid ones too: the payment keeps what a refund needs)
    and their kept conversation steps: the rows at once, and the steps in memory, so none is
    written back when the bot stops."""
    settings = make_settings(payments__packs=PACKS)
    user = telegram.user(user_id=819)
    async with running(settings):
        _, charge_id = await user.pay(await _invoice(user))
        await user.next_message("Thank you!")
        await _invoice(user)  # pressed again, not paid
        await send_photo_and_pick_idphoto(user)  # in the middle of a menu when the bot stops
    steps = "SELECT * FROM conversations WHERE chat_key = '[819, 819]'"
    async with running(settings) as bot:
        assert len(await bot.db.fetchall("SELECT * FROM invoices WHERE user_id = 819")) == 2
        assert len(await bot.db.fetchall(steps)) == 1
        menu = await send_photo_and_pick_idphoto(user)  # a step taken since: not written yet
        await forget(user)
        assert await bot.db.fetchall("SELECT * FROM invoices WHERE user_id = 819") == []
        assert await bot.db.fetchall(steps) == []
        assert await bot.payments.payment(charge_id) is not None
        pressed = await user.press(menu, "Visa")  # the menu from before /forget is closed
        assert await user.answer_to(pressed) == "This menu has expired. Send a photo to start again."
    store = await open_store(settings.database.path, "")
    try:
        assert await store.fetchall(steps) == []  # nothing was written back as the bot stopped
    finally:
        await store.close()
    admin = telegram.user(user_id=ADMIN)
    async with running(settings) as bot:
        await admin.send_text(f"/refund {charge_id}")  # the payment can still be refunded
        await admin.next_message("Refunded 50 ⭐ to user 819; 30 credits taken back.")
        assert await bot.ledger.problems() == []


async def test_unpaid_invoices_are_purged_after_their_lifetime(make_settings, telegram, picwish):
    """Every pack button press makes an invoice; unpaid ones are deleted after
    ``payments.invoice_lifetime`` (a day; here 0.2 s), and their Pay button is refused then."""
    settings = make_settings(payments__packs=PACKS, payments__reconcile_interval=0.05, payments__invoice_lifetime=0.2)
    async with running(settings) as shop:
        user = telegram.user(user_id=820)
        paid = await _invoice(user)
        await user.pay(paid)
        await user.next_message("Thank you!")
        unpaid = await _invoice(user)

        async def kept() -> list[str]:
            return [row["payload"] for row in await shop.db.fetchall("SELECT payload FROM invoices")]

        async with asyncio.timeout(10):
            while unpaid.params["payload"] in await kept():
                shop.reconciler.passed.clear()
                await shop.reconciler.passed.wait()
        assert await kept() == [paid.params["payload"]]
        answer, charge = await user.pay(unpaid)
        assert answer["ok"] is False and "not valid any more" in answer["error_message"] and charge is None
        assert await shop.ledger.problems() == []


async def test_paysupport_questions_are_limited_per_user(make_settings, telegram):
    """The admins get at most ``payments.support_questions_per_hour`` (3) questions a user an hour."""
    async with running(make_settings(payments__packs=PACKS)):
        user, other = telegram.user(user_id=821), telegram.user(user_id=822)
        for n in range(3):
            await user.send_text(f"/paysupport question {n}")
            await user.next_message("your question was sent to the operator")
        await user.send_text("/paysupport question 3")
        await user.next_message("several questions within the hour")
        await other.send_text("/paysupport another user's question")
        await other.next_message("your question was sent to the operator")
        await telegram.wait_for(lambda: len(telegram.sent_to(ADMIN)) == 4)
        assert not any("question 3" in alert.text for alert in telegram.sent_to(ADMIN))


async def test_without_admins_paysupport_and_an_unmatched_payment_promise_no_operator(make_settings, telegram):
    """With telegram.admin_ids empty, /paysupport said "your question was sent to the operator"
    and an unmatched payment "The operator has been told": questions and alerts go to the admins
    alone, so nobody was."""
    async with running(make_settings(payments__packs=PACKS, telegram__admin_ids=[])):
        user = telegram.user(user_id=831)
        await user.send_text("/paysupport")
        shown = await user.next_message("Questions about a purchase")
        assert shown.text == (
            "Questions about a purchase cannot be sent from here: this bot has no operator set up to receive them."
        )
        await user.send_text("/paysupport I paid twice")
        answer = await user.next_message("operator")
        assert answer.text == "Sorry: this bot has no operator set up to receive questions, so yours was not sent."
        forged = telegram.charge(user, 50, "a-payload-this-bot-never-issued")
        await user.send_payment(forged)
        told = await user.next_message("cannot match it to a pack")
        assert told.text == (
            f"Your payment arrived, but I cannot match it to a pack. It is recorded with its payment id: {forged}."
        )


async def test_telegrams_report_of_an_admins_refund_may_come_first_and_is_that_refund(make_settings, telegram, picwish):
    """Telegram reports every refund with refunded_payment, which may overtake its answer to the
    bot's refundStarPayment: the admin who confirmed the refund of spent credits is told it is
    done (not "refunded already"), and is not alerted about it as though Telegram had made it."""
    async with running(make_settings(payments__packs=PACKS, credits__daily_free=0)) as shop:
        user = telegram.user(user_id=811)
        charge_id = await _buy_and_order(user)
        admin = telegram.user(user_id=ADMIN)
        telegram.hold["refundStarPayment"] = gate = asyncio.Event()
        await admin.send_text(f"/refund {charge_id}")
        question = await admin.next_message("Refund anyway?")
        await admin.press(question, "Refund anyway")
        await asyncio.wait_for(telegram.held.setdefault("refundStarPayment", asyncio.Event()).wait(), 10)
        await telegram.report_refund(user, charge_id)  # the report overtakes the answer
        await user.next_message("was refunded")
        gate.set()
        await admin.edited(question, "Refunded 50 ⭐ to user 811")
        await admin.send_text("/balance")
        await admin.next_message("You have")
        assert not [m.text for m in telegram.sent_to(ADMIN) if m.text.startswith("⚠️")]
        assert (await shop.ledger.credits(811)).bought == -6
        assert await shop.ledger.problems() == []


async def test_a_pre_checkout_answered_after_telegrams_ten_seconds_charges_nothing(shop, telegram):
    """The fake Bot API holds the bot to Telegram's window, on a clock the test moves."""
    from tests.fakes.clock import ManualClock

    telegram.clock = clock = ManualClock()
    user = telegram.user(user_id=812)
    invoice = await _invoice(user)
    telegram.hold["answerPreCheckoutQuery"] = gate = asyncio.Event()
    paying = asyncio.create_task(user.pay(invoice))
    await asyncio.wait_for(telegram.held.setdefault("answerPreCheckoutQuery", asyncio.Event()).wait(), 10)
    clock.advance(10.5)
    gate.set()
    answer, charge_id = await paying
    assert answer["late"] and charge_id is None and telegram.charges == {}
    assert (await shop.ledger.credits(812)).bought == 0


#: The database refuses to write invoices and updates (as a full disk, or a lost connection).
_WRITES_FAIL = (
    "CREATE TRIGGER invoices_fail BEFORE UPDATE ON invoices BEGIN SELECT RAISE(FAIL, 'disk I/O error'); END",
    "CREATE TRIGGER updates_fail BEFORE INSERT ON updates BEGIN SELECT RAISE(FAIL, 'disk I/O error'); END",
)


async def test_a_checkout_while_the_database_fails_is_refused_in_time_in_the_users_language(shop, telegram):
    """Telegram waits 10 s (here 3) for a pre-checkout answer. With the database failing, the
    answer waited for it: the poller asked for the batch again and again, Telegram's time ran
    out, and the user saw only that the payment failed. Now the checkout is refused at once,
    nothing charged, with why in the user's language; once the database is back, Pay works."""
    telegram.pre_checkout_window = 3.0
    buyer = telegram.user(user_id=840, language_code="zh-hans")
    await buyer.send_text("/buy")
    menu = await buyer.next_message("Telegram 星星")
    await buyer.press(menu, "30 积分 · 50 ⭐")
    invoice = await buyer.next_message(kind="invoice")
    for statement in _WRITES_FAIL:
        await shop.db.write(statement)
    answer, charge_id = await buyer.pay(invoice, timeout=6)
    assert answer == {"ok": False, "error_message": "付款暂时无法处理，没有扣费。请一分钟后再点一次支付。"}
    assert charge_id is None and telegram.charges == {} and telegram.late_pre_checkouts == []
    for name in ("invoices_fail", "updates_fail"):
        await shop.db.write(f"DROP TRIGGER {name}")
    answer, charge_id = await buyer.pay(invoice)
    assert answer["ok"] is True and charge_id
    await buyer.next_message("谢谢")
    assert (await shop.ledger.credits(840)).bought == 30
    assert await shop.ledger.problems() == []


async def test_an_invoice_of_a_pack_changed_or_no_longer_sold_is_refused_at_checkout(make_settings, telegram, picwish):
    """The operator corrects a pack (30 credits for 50 ⭐ become 20) and stops selling another
    after invoices for them were sent: their Pay buttons are refused, in the buyer's language, and
    charge nothing (before, a day-old invoice still sold the old pack). A new invoice sells the
    pack as it is now."""
    buyer = telegram.user(user_id=830, language_code="zh-hans")

    async def invoice(pack: str):
        await buyer.send_text("/buy")
        await buyer.press(await buyer.next_message("用 Telegram 星星购买积分"), pack)
        return await buyer.next_message(kind="invoice")

    async with running(make_settings(payments__packs=PACKS)):
        old_small, old_large = await invoice("30 积分 · 50 ⭐"), await invoice("100 积分 · 150 ⭐")
    corrected = [{"id": "small", "credits": 20, "stars": 50}]
    async with running(make_settings(payments__packs=corrected)) as shop:
        for old in (old_small, old_large):
            answer, charge_id = await buyer.pay(old)
            assert answer["ok"] is False and charge_id is None
            assert answer["error_message"] == "此积分包已不再按此账单出售。请用 /buy 重新选择积分包。"
        assert telegram.charges == {}
        answer, charge_id = await buyer.pay(await invoice("20 积分 · 50 ⭐"))
        assert answer["ok"] is True and charge_id
        await buyer.next_message("已增加 20 积分")
        assert (await shop.ledger.credits(830)).bought == 20
        assert await shop.ledger.problems() == []


async def test_a_checkout_is_answered_in_time_while_telegram_holds_back_the_bots_messages(make_settings, telegram):
    """Telegram answered one of the bot's messages with 429, retry after 8 s: python-telegram-bot's
    rate limiter then holds every call of the bot for that long. The pre-checkout answer went
    through it too and reached Telegram after its 10 s (here 3 s): the payment failed. It is now
    made past the limiter (bot/telegram/direct.py); the held message is sent after the wait."""
    telegram.pre_checkout_window = 3.0
    async with running(make_settings(payments__packs=PACKS)) as shop:
        buyer = telegram.user(user_id=840)
        invoice = await _invoice(buyer)
        telegram.fail("sendMessage", 429, "Too Many Requests: retry after 8", retry_after=8)
        other = telegram.user(user_id=841)
        await other.send_text("/balance")
        await telegram.wait_for(lambda: not telegram.failures.get("sendMessage"))  # told to wait: the limiter holds
        answer, charge_id = await buyer.pay(invoice)
        assert answer == {"ok": True, "error_message": None} and charge_id
        refused, _ = await buyer.pay(invoice, total=1)
        assert refused["ok"] is False and "price of this invoice changed" in refused["error_message"]
        assert telegram.late_pre_checkouts == []
        await other.next_message("You have", timeout=30)  # the message Telegram held back, after the wait
        await buyer.next_message("Thank you!", timeout=30)
        assert (await shop.ledger.credits(840)).bought == 30
        assert await shop.ledger.problems() == []
