"""End-to-end: what the operator sees of the business, in the chat (/stats) and on /metrics."""

from __future__ import annotations

import httpx

from bot.main.app import running
from providers.localengine import available
from tests.bot.flows import forget, local_preview, order_until_summary, preview_with_size

ADMIN = 9001  # telegram.admin_ids in the test settings
PACKS = [{"id": "small", "credits": 30, "stars": 50}]
TOKEN = "metrics-token-" + "x" * 32


async def _known_orders(bot, telegram, picwish) -> None:
    """Two ID photos delivered (user 1001), one failed by PicWish (1002), a pack bought and
    refunded (1003)."""
    first = telegram.user(user_id=1001)
    for _ in range(2):
        summary = await order_until_summary(first, "Visa", "USA Visa", "White")
        await first.press(summary, "Confirm")
        await first.next_message(kind="document", timeout=15)
    picwish.next_states = [[(0, 0), (4, 30), (-7, 0)]]
    second = telegram.user(user_id=1002)
    summary = await order_until_summary(second, "Visa", "USA Visa", "White")
    await second.press(summary, "Confirm")
    await second.edited(summary, "were returned", timeout=15)
    buyer = telegram.user(user_id=1003)
    await buyer.send_text("/buy")
    menu = await buyer.next_message("Buy credits")
    await buyer.press(menu, "30 credits")
    _, charge_id = await buyer.pay(await buyer.next_message(kind="invoice"))
    await buyer.next_message("Thank you!")
    admin = telegram.user(user_id=ADMIN)
    await admin.send_text(f"/refund {charge_id}")
    await admin.next_message("Refunded 50 ⭐")
    await bot.runner.idle()


async def test_stats_show_users_orders_credits_stars_and_providers(make_settings, telegram, picwish):
    async with running(make_settings(payments__packs=PACKS)) as bot:
        await _known_orders(bot, telegram, picwish)
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text("/stats")
        shown = (await admin.next_message("📊")).text
        day, week = shown.split("\n\n")[1:3]
        assert shown.startswith("📊 Users: 4\n\n")  # three users and the admin
        line = "• 🪪 ID photo: 3 orders (3 photos): 67% made, 0 cancelled"
        assert day.startswith(f"Last 24 hours (active users: 3):\n{line}; median ")
        assert day.endswith(
            "Credits spent: 12 free, 0 bought\nStars: 50 ⭐ earned, 50 ⭐ refunded\n"
            "Invitations: 0 people came invited, 0 earned the bonus; 0 bonus credits given"
        )
        assert week.startswith(f"Last 7 days (active users: 3):\n{line}")
        providers = shown.split("\n\n")[3].splitlines()
        assert providers[0] == "Providers (since the bot started):"
        (picwish_line,) = [line for line in providers if line.startswith("• picwish: ")]
        assert ", 0% errors, last success 20" in picwish_line  # PicWish answered every call
        stranger = telegram.user(user_id=1004)
        await stranger.send_text("/stats")
        await stranger.next_message("This command is for the bot's administrators.")


async def test_an_order_is_one_confirm_and_a_free_preview_is_not_an_order(make_settings, telegram):
    """With the local engine: a preview bought with another size (one order of two photos) and a
    preview left (no order, its user not active). /stats and /metrics count orders by Confirm,
    photos by how they ended, and the previews apart. Before, each job was an "order": the preview,
    its purchase and the extra size three, the preview left a succeeded order of an active user."""
    if not available():
        return
    settings = make_settings(providers__picwish__enabled=False, server__metrics_token=TOKEN)
    async with running(settings) as bot:
        buyer = telegram.user(user_id=1001)
        preview = await local_preview(buyer, "Visa", "USA Visa", "White")
        summary = await preview_with_size(buyer, preview, "1104", "Small 2 Inch", "Blue")
        await buyer.press(summary, "Confirm")
        await telegram.wait_for(lambda: len(buyer.messages("document")) == 2, 30)
        looker = telegram.user(user_id=1002)
        await local_preview(looker, "Visa", "USA Visa", "White")
        await bot.runner.idle()
        admin = telegram.user(user_id=ADMIN)
        await admin.send_text("/stats")
        day = (await admin.next_message("📊")).text.split("\n\n")[1]
        assert day.startswith(
            "Last 24 hours (active users: 1):\n• 🪪 ID photo: 1 order (2 photos): 100% made, 0 cancelled; median "
        )
        assert "\n  👁 2 free previews, 1 bought\n" in day
        async with httpx.AsyncClient(base_url=bot.settings.server.public_url) as client:
            page = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        lines = page.text.splitlines()
        for outcome, value in (("placed", 1), ("photos", 2), ("succeeded", 2), ("failed", 0), ("cancelled", 0)):
            assert f'photobot_orders{{outcome="{outcome}",service="idphoto",window="24h"}} {value}.0' in lines
        assert 'photobot_previews{outcome="made",service="idphoto",window="24h"} 2.0' in lines
        assert 'photobot_previews{outcome="bought",service="idphoto",window="24h"} 1.0' in lines
        assert 'photobot_active_users{window="24h"} 1.0' in lines
        # The person who left their preview uses /forget: it is still a preview, not an order.
        await forget(looker)
        await admin.send_text("/stats")
        day = (await admin.next_message("📊")).text.split("\n\n")[1]
        assert "• 🪪 ID photo: 1 order (2 photos)" in day and "\n  👁 2 free previews, 1 bought\n" in day


async def test_metrics_are_off_by_default_and_need_the_bearer_token(make_settings, telegram, picwish):
    async with running(make_settings(payments__packs=PACKS)) as bot:
        async with httpx.AsyncClient(base_url=bot.settings.server.public_url) as client:
            assert (await client.get("/metrics")).status_code == 404
    async with running(make_settings(payments__packs=PACKS, server__metrics_token=TOKEN)) as bot:
        await _known_orders(bot, telegram, picwish)
        async with httpx.AsyncClient(base_url=bot.settings.server.public_url) as client:
            assert (await client.get("/metrics")).status_code == 401
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "y" * 46})
            assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
            page = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain")
        lines = page.text.splitlines()
        assert "photobot_users 4.0" in lines  # three users and the admin who refunded
        assert 'photobot_orders{outcome="succeeded",service="idphoto",window="24h"} 2.0' in lines
        assert 'photobot_orders{outcome="failed",service="idphoto",window="24h"} 1.0' in lines
        assert 'photobot_stars{direction="earned",window="7d"} 50.0' in lines
        assert 'photobot_credits_spent{kind="free",window="24h"} 12.0' in lines
        assert 'photobot_job_duration_seconds_count{provider="picwish",service="idphoto"} 2.0' in lines
        assert any(line.startswith('photobot_provider_calls_total{provider="picwish"} ') for line in lines)
        assert 'photobot_provider_down{provider="picwish"} 0.0' in lines
        if available():  # the local engine checked each photo and measured each of PicWish's results
            assert "photobot_engine_pending 0.0" in lines
            assert 'photobot_engine_processes_ended{reason="crashed"} 0.0' in lines
            assert 'photobot_engine_processes_ended{reason="time_limit"} 0.0' in lines
            for kind in ("check", "result"):
                name = f'photobot_engine_wait_seconds_count{{kind="{kind}"}}'
                (count,) = [line for line in lines if line.startswith(name)]
                assert float(count.split()[1]) >= 2
        else:
            assert not any(line.startswith("photobot_engine_") for line in lines)


async def test_a_service_without_orders_in_a_window_leaves_that_window_on_metrics(make_settings, telegram, picwish):
    """The order gauges were set only for the services with orders in each window, and never
    cleared: a service whose last order left the day kept its old figures on /metrics until restart."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with running(make_settings(server__metrics_token=TOKEN)) as bot:
        user = telegram.user(user_id=1011)
        summary = await order_until_summary(user, "Visa", "USA Visa", "White")
        await user.press(summary, "Confirm")
        await user.next_message(kind="document", timeout=15)
        await bot.runner.idle()
        async with httpx.AsyncClient(base_url=bot.settings.server.public_url, headers=headers) as client:
            before = (await client.get("/metrics")).text.splitlines()
            assert 'photobot_orders{outcome="placed",service="idphoto",window="24h"} 1.0' in before
            # The order is two days old now: out of the day, still in the week.
            await bot.db.write(
                "UPDATE jobs SET created_at = created_at - 2 * 86400, updated_at = updated_at - 2 * 86400"
            )
            after = (await client.get("/metrics")).text.splitlines()
        assert not any(line.startswith("photobot_orders{") and 'window="24h"' in line for line in after)
        assert 'photobot_orders{outcome="placed",service="idphoto",window="7d"} 1.0' in after
        assert 'photobot_orders{outcome="succeeded",service="idphoto",window="7d"} 1.0' in after
