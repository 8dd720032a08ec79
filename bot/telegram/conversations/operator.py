"""/stats: the business as an admin sees it in the chat (users, orders, credits, Stars, providers,
and the processes where several share the database)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Update

from bot.ops import presence, stats
from bot.ops.presence import Deployment, Presence, Presences
from bot.ops.stats import WindowFigures
from bot.roles import ROLES
from bot.telegram.context import Context
from bot.telegram.conversations.common import is_admin, message_of
from bot.telegram.ui.i18n import t

#: Processes listed by /stats at most (about 190 characters each); /metrics shows them all.
PROCESSES_SHOWN = 12


def _window(lang: str, name: str, figures: WindowFigures) -> str:
    lines = [t(lang, f"stats.window_{name}", active=figures.active_users)]
    for service, counted in figures.services.items():
        rate = counted.success_rate
        median = counted.median_seconds
        lines.append(
            t(
                lang,
                "stats.service",
                service=t(lang, f"service.{service}"),
                orders=counted.orders,
                photos=counted.photos,
                rate="-" if rate is None else f"{rate:.0%}",
                cancelled=counted.cancelled,
                median="-" if median is None else f"{median:.0f}",
            )
        )
        if counted.previews:
            lines.append(t(lang, "stats.previews", previews=counted.previews, bought=counted.previews_bought))
    if not figures.services:
        lines.append(t(lang, "stats.no_orders"))
    lines.append(t(lang, "stats.credits", free=figures.free_spent, bought=figures.bought_spent))
    lines.append(t(lang, "stats.stars", earned=figures.stars_earned, refunded=figures.stars_refunded))
    invites = figures.invites
    lines.append(t(lang, "stats.invites", invited=invites.invited, rewarded=invites.rewarded, credits=invites.credits))
    return "\n".join(lines)


def _providers(context: Context, lang: str, deployment: Deployment | None) -> str:
    """Each provider's calls, errors and last success: this process's since it started, or where
    several processes share the database (``deployment``), every process's added up (the workers
    make the calls: the bot process alone showed none). Its state and uses left are the shared ones."""
    wiring = context.wiring
    health, down = wiring.health, wiring.health.down()
    if deployment is None:
        counted, heading = presence.provider_counts(health), "stats.providers"
    else:
        counted = presence.added_up(seen.providers for seen in deployment.processes)
        heading = "stats.providers_all"
    lines = [t(lang, heading)]
    for name in sorted(set(wiring.providers) | set(health.records) | set(counted)):
        record = counted.get(name, presence.ProviderCounts())
        errors = f"{record.errors / record.calls:.0%}" if record.calls else "-"
        last = (
            datetime.fromtimestamp(record.last_success, UTC).strftime("%Y-%m-%d %H:%M UTC")
            if record.last_success is not None
            else t(lang, "stats.never")
        )
        line = t(lang, "stats.provider", provider=name, calls=record.calls, errors=errors, last=last)
        if name in wiring.accounts.uses:
            line += t(lang, "stats.uses", uses=wiring.accounts.uses[name])
        if name in down:
            line += t(lang, "stats.down", problem=t(lang, f"stats.problem_{health.record_of(name).problem}"))
        lines.append(line)
    return "\n".join(lines)


def _role(lang: str, seen: Presence) -> str:
    """The process's role in the admin's language (a role another version wrote: as written)."""
    return t(lang, f"stats.role_{seen.role}") if seen.role in ROLES else seen.role


def _processes(lang: str, deployment: Deployment) -> str:
    """The processes, those gone silent first, at most ``PROCESSES_SHOWN`` (a message holds 4,096
    characters), then the jobs held by a process that does not report itself, if any."""
    lines = [t(lang, "stats.processes", seconds=round(presence.INTERVAL))]
    ordered = sorted(deployment.processes, key=lambda seen: seen.up)
    for seen in ordered[:PROCESSES_SHOWN]:
        if not seen.up:
            lines.append(
                t(lang, "stats.process_down", role=_role(lang, seen), name=seen.name, minutes=round(seen.seen_ago / 60))
            )
            continue
        line = t(
            lang,
            "stats.process_up",
            role=_role(lang, seen),
            name=seen.name,
            seen=round(seen.seen_ago),
            jobs=seen.jobs_held,
        )
        if seen.engine is not None:
            ended = sum(seen.engine.endings.values())
            line += t(lang, "stats.process_engine", pending=seen.engine.pending, ended=ended)
        lines.append(line)
    if len(ordered) > PROCESSES_SHOWN:
        lines.append(t(lang, "stats.process_more", count=len(ordered) - PROCESSES_SHOWN))
    if deployment.jobs_unreported:
        lines.append(t(lang, "stats.jobs_unreported", count=deployment.jobs_unreported))
    return "\n".join(lines)


async def show_stats(update: Update, context: Context) -> None:
    """/stats (admins): users, then the last 24 hours and 7 days, then the providers, then the
    deployment's processes where several share the database."""
    lang = context.lang
    if not is_admin(update, context):
        await message_of(update).reply_text(t(lang, "admin.not_allowed"))
        return
    figures = await stats.business(context.wiring.db)
    parts = [t(lang, "stats.users", users=figures.users)]
    parts += [_window(lang, name, shown) for name, shown in figures.windows.items()]
    deployment = await Presences(context.wiring.db).read() if context.wiring.db.shared else None
    parts.append(_providers(context, lang, deployment))
    if deployment is not None:
        parts.append(_processes(lang, deployment))
    await message_of(update).reply_text("\n\n".join(parts))
