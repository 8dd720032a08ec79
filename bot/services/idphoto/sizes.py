"""Several sizes from one photo, in one order (issue 27, point 1).

Under an ID photo's summary, "➕ Another size" picks one more spec the way the first was picked (a
category or a search), checks the photo's face against it before anything is charged (a refusal
names the spec: ``fit.judge``), asks for its background colour and comes back to the summary,
which lists every size with its colour and price and the total once. An extra size keeps the
first's retouching (beauty, outfit), not its print sheet or watermarked preview, and costs
``prices.extra_spec`` of its own price (``bot/domain/ordering.extra_price``); an order holds at
most ``limits.extra_specs`` of them, and each can be taken out again. One Confirm places one job
per size in one transaction (``bot/domain/ordering.place_order``): each holds its own price and is
settled on its own, so a size that fails is given back and the others are charged.

With the local engine the first size is its free preview, bought as it is: "➕ Another size" under
the preview starts the same order (the order that Confirm under the preview places, pinned to the
local engine) and takes the preview's buttons off, since its Confirm is now the summary's. The
extra sizes are made by the engine from the original photo at Confirm, however doubtful the
cut-out (``IdPhotoOrder.cutout_accepted``): it is the one the person saw on the preview and took.

Every step is in the session (the order on the summary with its extras; the draft of the size
being chosen, ``IdPhotoDraft.extra_for``, in the ID photo's state), which is kept in the database:
a restart between any two taps changes nothing.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, Update
from telegram.ext import ConversationHandler

from bot.domain.session import PendingOrder
from bot.services.idphoto import buttons, preview
from bot.services.idphoto.buttons import LessSizes, MorePreviewSizes, MoreSizes
from bot.services.idphoto.captions import part_text
from bot.services.idphoto.dialog import NAME, State, category_menu, state_of
from bot.services.idphoto.state import IdPhotoDraft
from bot.storage.jobs import purchase_key
from bot.telegram.context import Context, ServiceDeps
from bot.telegram.conversations.common import answer, pressed, user_id_of
from bot.telegram.conversations.summary import show_order
from bot.telegram.ui.i18n import t
from providers.orders import IdPhotoOrder


def takes_extras(order: PendingOrder) -> bool:
    """Whether more sizes can join ``order``: an ID photo made from a photo, not a watermarked
    preview or a re-render through PicWish's image id (which has no photo of ours to make others),
    nor an extra size tried again at its extra's share (sizes joining it would all be extras, with
    no size at full price: a review found two sizes bought at 3 credits each)."""
    main = order.order
    if order.album or order.as_extra:  # an album is one size for every photo
        return False
    return order.service == NAME and isinstance(main, IdPhotoOrder) and not main.preview and not main.last_id


def part(order: IdPhotoOrder, lang: str, deps: ServiceDeps) -> str:
    """One size of an order of several, on its summary: the spec, its millimetres, its colour; one
    photo of an album, its number too."""
    what = part_text(order, lang, deps.catalog.palette)
    return t(lang, "album.photo_part", number=order.album_photo, what=what) if order.album_photo else what


def summary_buttons(order: PendingOrder, lang: str, deps: ServiceDeps) -> list[list[InlineKeyboardButton]]:
    """Under an ID photo's summary: another size while the order has room, and each extra size to
    take out again."""
    most = deps.settings.limits.extra_specs
    if not takes_extras(order) or most == 0:
        return []
    names = [part(extra.order, lang, deps) for extra in order.extras if isinstance(extra.order, IdPhotoOrder)]
    return buttons.order_sizes(lang, order.nonce, names, more=len(order.extras) < most)


async def _source(context: Context, order: PendingOrder, user_id: int) -> str | None:
    """The stored photo more sizes of ``order`` are made from: its own, or for a bought local
    preview (whose input is the finished photo) the photo the preview was made from."""
    if order.extras:
        return order.extras[0].input_ref
    bought = order.order.from_preview if isinstance(order.order, IdPhotoOrder) else None
    if not bought:
        return order.input_ref
    made = await context.deps.jobs.get(bought)
    return made.input_ref if made is not None and made.user_id == user_id else None


async def _choose(update: Update, context: Context, order: PendingOrder, *, new_message: bool) -> str | int | None:
    """The categories, for another size of ``order`` (the session's); a draft waits for the spec
    with the first size's retouching, the order's photo and the order it joins."""
    lang = context.lang
    most = context.deps.settings.limits.extra_specs
    if not takes_extras(order) or len(order.extras) >= most:
        await answer(update, t(lang, "idphoto.sizes_full", most=most))
        return None
    source = await _source(context, order, user_id_of(update))
    if source is None or not context.deps.media.exists(source):
        await answer(update, t(lang, "idphoto.job_gone"))
        return None
    main = order.order
    assert isinstance(main, IdPhotoOrder)
    # The first size's retouching; not its print sheet, nor what made it a bought preview.
    base = main.model_copy(
        update={
            "layout_size": None,
            "layout_vertical": False,
            "layout_bg_color": None,
            "from_preview": None,
            "cutout_accepted": main.cutout_accepted or main.from_preview is not None,
        }
    )
    state_of(context).draft = IdPhotoDraft(order=base, input_ref=source, extra_for=order.nonce)
    if new_message:
        await answer(update)
    await category_menu(update, context, new_message=new_message)
    return State.PICK_CATEGORY


async def more(update: Update, context: Context) -> str | int | None:
    """Button i:more:<nonce> under the summary: asks for another size's category."""
    press = pressed(update, MoreSizes)
    order = context.session.order
    if order is None or press is None or order.nonce != press.nonce:
        await answer(update, t(context.lang, "order.expired"))
        return None
    return await _choose(update, context, order, new_message=False)


async def more_of_preview(update: Update, context: Context) -> str | int | None:
    """Button i:morepv:<job> under a free local preview: the order that buys it, on the summary
    with other sizes; asks for another size's category (a new message: the preview is a photo)."""
    press = pressed(update, MorePreviewSizes)
    found = await preview.own_preview(update, context, press.job_id if press else None)
    if found is None:
        await answer(update, t(context.lang, "idphoto.job_gone"))
        return None
    job, exact = found
    if await context.deps.jobs.bought(user_id_of(update), job.id):  # from another copy of it (/orders)
        await answer(update, t(context.lang, "idphoto.bought_alone"))
        return None
    order = context.session.order
    if order is None or order.nonce != purchase_key(job.id):  # pressed again: the order as it stands
        order = preview.bought_order(job, exact)
        context.session.order = order
    await preview.drop_buttons(update)  # its Confirm is the summary's now
    return await _choose(update, context, order, new_message=True)


async def back_to_order(update: Update, context: Context) -> int:
    """Button i:back:order: no other size after all; the order's summary as it was."""
    state_of(context).draft = None
    order = context.session.order
    if order is None:
        await answer(update, t(context.lang, "order.expired"))
        return ConversationHandler.END
    await show_order(update, context, order)
    return ConversationHandler.END


async def less(update: Update, context: Context) -> None:
    """Button i:less:<nonce>:<index>:<shown> under the summary: that extra size goes (unless the
    extras changed since the button was shown: a second tap); the summary again."""
    press = pressed(update, LessSizes)
    order = context.session.order
    if order is None or press is None or order.nonce != press.nonce:
        await answer(update, t(context.lang, "order.expired"))
        return
    if press.shown != len(order.extras) or not 0 <= press.index < len(order.extras):
        await answer(update, t(context.lang, "idphoto.size_already_out"))  # a second tap
        return
    del order.extras[press.index]
    await show_order(update, context, order)
