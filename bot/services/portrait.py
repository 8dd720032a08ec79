"""AI portrait (玩星's face swap): browse the templates (one photo message with ◀ ▶ and Choose)
-> summary."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup
from telegram import InputMediaPhoto, Message, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot.config import Settings
from bot.domain.session import PendingOrder
from bot.ops.images import fit
from bot.ops.templates import Template, TemplateGallery
from bot.storage.links import linked
from bot.telegram.context import Context, Handlers, Service, ServiceDeps
from bot.telegram.conversations.common import answer, message_of, pressed, query_of, ready_photo
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui import keyboards
from bot.telegram.ui.callback_data import Action
from bot.telegram.ui.i18n import localized, t
from providers.models import InputLimits
from providers.orders import PortraitOrder

#: This service's callback data: "p:<action>[:arg...]" (bot/telegram/ui/callback_data.py).
PREFIX = "p"


@dataclass(frozen=True)
class TemplatePage(Action, prefix=PREFIX, action="nav"):
    index: int


@dataclass(frozen=True)
class TemplateChoice(Action, prefix=PREFIX, action="pick"):
    template: str


def portrait_browser(lang: str, index: int, count: int, template_id: str) -> Markup:
    rows = []
    if count > 1:
        rows.append(
            [
                Button("◀", callback_data=TemplatePage((index - 1) % count).data()),
                Button(f"{index + 1}/{count}", callback_data=TemplatePage(index).data()),
                Button("▶", callback_data=TemplatePage((index + 1) % count).data()),
            ]
        )
    rows.append([Button(t(lang, "portrait.choose"), callback_data=TemplateChoice(template_id).data())])
    return Markup(rows)


class State(StrEnum):
    BROWSE = "portrait.browse"


def _caption(lang: str, template: Template, index: int, count: int) -> str:
    category = localized(template.config.category, lang) if template.config.category else ""
    return t(
        lang,
        "portrait.caption",
        title=localized(template.config.title, lang),
        category=category,
        index=index + 1,
        count=count,
    )


def _limits(context: Context) -> InputLimits:
    """The photo sizes the provider takes (its document's rule)."""
    provider = context.deps.provider_for(SERVICE.name)
    return provider.input_limits if provider is not None else InputLimits()


def _remember_file_id(template: Template, message: Message | bool) -> None:
    if isinstance(message, Message) and message.photo:
        template.file_id = message.photo[-1].file_id


async def _shown(
    gallery: TemplateGallery, at: int, show: Callable[[Template, int, int], Awaitable[Message | bool]]
) -> bool:
    """Show the template at ``at`` (counted round the gallery) with ``show(template, index,
    count)``. One given as a URL that Telegram cannot show (it fetches the picture itself) is left
    out of the gallery and the next shown; False when none is left."""
    while gallery.items:
        index = at % len(gallery.items)
        template = gallery.items[index]
        try:
            message = await show(template, index, len(gallery.items))
        except BadRequest as err:
            if template.url is None or template.file_id:
                raise
            gallery.drop(template, err.message)
            continue
        _remember_file_id(template, message)
        return True
    return False


async def start(update: Update, context: Context) -> str | int:
    """Button m:svc:portrait: checks the photo's size; shows the first template."""
    lang = context.lang
    await answer(update)
    if not await ready_photo(update, context, needs_face=True):
        return ConversationHandler.END
    photo = context.session.photo
    assert photo is not None  # ready_photo checked it
    min_side = _limits(context).min_side
    if min_side and min(photo.width, photo.height) < min_side:
        await message_of(update).reply_text(
            t(lang, "portrait.too_small", min=min_side), reply_markup=keyboards.new_photo(lang)
        )
        return ConversationHandler.END
    gallery = context.deps.templates

    async def show(template: Template, index: int, count: int) -> Message | bool:
        return await message_of(update).reply_photo(
            gallery.photo(template),
            caption=_caption(lang, template, index, count),
            reply_markup=portrait_browser(lang, index, count, template.config.id),
        )

    if await _shown(gallery, 0, show):
        return State.BROWSE
    await message_of(update).reply_text(t(lang, "portrait.no_templates"), reply_markup=keyboards.new_photo(lang))
    return ConversationHandler.END


async def browse(update: Update, context: Context) -> str | int:
    """Button p:nav:<index>: shows another template in the same message."""
    lang = context.lang
    page = pressed(update, TemplatePage)
    gallery = context.deps.templates
    await answer(update)

    async def show(template: Template, index: int, count: int) -> Message | bool:
        return await query_of(update).edit_message_media(
            InputMediaPhoto(gallery.photo(template), caption=_caption(lang, template, index, count)),
            reply_markup=portrait_browser(lang, index, count, template.config.id),
        )

    if await _shown(gallery, page.index if page else 0, show):
        return State.BROWSE
    await query_of(update).edit_message_caption(
        t(lang, "portrait.no_templates"), reply_markup=keyboards.new_photo(lang)
    )
    return ConversationHandler.END


async def choose(update: Update, context: Context) -> int:
    """Button p:pick:<template>: publishes a suitably sized copy of the photo; the order summary."""
    choice = pressed(update, TemplateChoice)
    template = context.deps.templates.get(choice.template) if choice else None
    photo = context.session.photo
    if template is None or photo is None:
        await answer(update)
        return ConversationHandler.END
    source = photo.ref
    max_side = _limits(context).max_side
    if max_side and max(photo.width, photo.height) > max_side:
        media = context.deps.media
        data = await asyncio.to_thread(fit, media.read(photo.ref), max_side)
        source = await asyncio.to_thread(media.save_input, data)
    target = linked(template.ref) if template.ref else template.config.image
    order = PortraitOrder(template=template.config.id, target_url=target)
    await show_order(update, context, PendingOrder(SERVICE.name, order, source), new_message=True)
    return ConversationHandler.END


def price(order: PortraitOrder, settings: Settings, provider: str = "") -> int:
    return settings.providers.wanxing.price


def describe(order: PortraitOrder, lang: str, deps: ServiceDeps) -> str:
    template = deps.templates.get(order.template)
    title = localized(template.config.title, lang) if template else order.template
    return t(lang, "portrait.details", title=title)


def steps() -> dict[object, Handlers]:
    return {
        State.BROWSE: [
            CallbackQueryHandler(browse, pattern=TemplatePage.pattern()),
            CallbackQueryHandler(choose, pattern=TemplateChoice.pattern()),
        ],
    }


SERVICE = Service(
    name="portrait",
    providers=("wanxing",),
    order_model=PortraitOrder,
    start=start,
    steps=steps,
    price=price,
    describe=describe,
)
