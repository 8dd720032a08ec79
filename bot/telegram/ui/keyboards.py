"""Inline keyboards. Button texts come from the locale catalogs, callback data from the typed
actions in ``bot/telegram/ui/callback_data.py``."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from bot.config import CreditPack
from bot.telegram.ui.callback_data import (
    BuyMenu,
    BuyPack,
    CancelJob,
    ConfirmOrder,
    DropOrder,
    ForgetAnswer,
    NewPhoto,
    OrdersPage,
    RefundAnswer,
    RetryJob,
    SendAgain,
    ServiceFor,
    SetLanguage,
)
from bot.telegram.ui.i18n import LANGUAGES, t


def in_rows(buttons: Sequence[Button], width: int) -> list[list[Button]]:
    return [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]


def services_menu(lang: str, services: Sequence[str], photo: str) -> Markup:
    """A button per service, for the photo (or album) of menu key ``photo``."""
    return Markup(
        [[Button(t(lang, f"service.{name}"), callback_data=ServiceFor(name, photo).data())] for name in services]
    )


def on_off(lang: str, value: bool) -> str:
    return t(lang, "option.on") if value else t(lang, "option.off")


def summary(lang: str, nonce: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.confirm"), callback_data=ConfirmOrder(nonce).data()),
                Button(t(lang, "button.cancel"), callback_data=DropOrder(nonce).data()),
            ]
        ]
    )


def job_running(lang: str, job_id: str) -> Markup:
    return Markup([[Button(t(lang, "button.cancel"), callback_data=CancelJob(job_id).data())]])


def job_failed(lang: str, job_id: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "button.retry"), callback_data=RetryJob(job_id).data()),
                Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data()),
            ]
        ]
    )


def past_orders(
    lang: str,
    again: Sequence[tuple[int | str, str]],
    retry: Sequence[tuple[int | str, str]],
    offset: int,
    older: bool,
    page: int,
) -> Markup:
    """Under a page of /orders: the files again of each numbered order in ``again`` (number, its
    first job's id), Try again of each failed order or part of one in ``retry`` (number, or "2.3"
    for an order's third part, and job id), then newer and older pages (``page`` orders each)."""
    rows = in_rows(
        [Button(t(lang, "orders.again", number=n), callback_data=SendAgain(job).data()) for n, job in again], 5
    ) + in_rows([Button(t(lang, "orders.retry", number=n), callback_data=RetryJob(job).data()) for n, job in retry], 5)
    paging = []
    if offset > 0:
        paging.append(Button(t(lang, "orders.newer"), callback_data=OrdersPage(max(0, offset - page)).data()))
    if older:
        paging.append(Button(t(lang, "orders.older"), callback_data=OrdersPage(offset + page).data()))
    return Markup([*rows, paging] if paging else rows)


def buy(lang: str) -> Markup:
    """ "Buy credits", under /balance."""
    return Markup([[Button(t(lang, "buy.button"), callback_data=BuyMenu().data())]])


def packs(lang: str, offered: Sequence[CreditPack]) -> Markup:
    """One button per credit pack, with its price in Stars."""
    return Markup(
        [
            [Button(t(lang, "buy.pack_button", credits=p.credits, stars=p.stars), callback_data=BuyPack(p.id).data())]
            for p in offered
        ]
    )


def refund_question(lang: str, nonce: str) -> Markup:
    """Under an admin's refund of credits already spent: go ahead, or not."""
    return Markup(
        [
            [
                Button(t(lang, "admin.refund_yes"), callback_data=RefundAnswer(nonce, "yes").data()),
                Button(t(lang, "admin.refund_no"), callback_data=RefundAnswer(nonce, "no").data()),
            ]
        ]
    )


def short_of_credits(lang: str, nonce: str) -> Markup:
    """Under "not enough credits": buy some, then confirm the same order."""
    return Markup(
        [
            [Button(t(lang, "buy.button"), callback_data=BuyMenu().data())],
            [
                Button(t(lang, "button.confirm"), callback_data=ConfirmOrder(nonce).data()),
                Button(t(lang, "button.cancel"), callback_data=DropOrder(nonce).data()),
            ],
        ]
    )


def new_photo(lang: str) -> Markup:
    return Markup([[Button(t(lang, "button.new_photo"), callback_data=NewPhoto().data())]])


def forget_confirm(lang: str) -> Markup:
    return Markup(
        [
            [
                Button(t(lang, "forget.confirm"), callback_data=ForgetAnswer("yes").data()),
                Button(t(lang, "forget.keep"), callback_data=ForgetAnswer("no").data()),
            ]
        ]
    )


def languages() -> Markup:
    return Markup([[Button(t(code, "language.name"), callback_data=SetLanguage(code).data())] for code in LANGUAGES])
