"""Telling the operator about problems only they can fix: a provider refusing the bot's
credentials, an account out of paid uses, a provider refusing the bot's region or the bot's
requests themselves (QQ's -2111: its request format changed). Users are told "the operator has
been told" (``error.provider_auth``, ``error.provider_quota``, ``error.region_blocked``,
``error.request_refused``); this is what makes that true, and tests/unit/test_catalogs.py checks
that no other error text says so.

Each problem is logged as an error and sent to every ``telegram.admin_ids`` chat, once per
provider and problem within ``REPEAT_AFTER`` seconds, however many orders it fails meanwhile and
whichever process (a bot process, workers, one restarted) delivers them: the database says who told
it last (bot/ops/provider_state.py, ``first_to_tell``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from telegram import Bot
from telegram.error import TelegramError

from bot.ops.provider_state import ProviderStates
from bot.storage.jobs import Job
from bot.storage.store import DATABASE_ERRORS
from bot.storage.users import Users
from bot.telegram.ui.i18n import t

log = logging.getLogger(__name__)

#: Job error codes that only the operator can fix.
OPERATOR_ERRORS = frozenset({"provider_auth", "provider_quota", "region_blocked", "request_refused"})
#: Of those, the ones a provider's health reports when it goes down (bot/wiring._provider_changed).
HEALTH_ERRORS = frozenset({"provider_auth", "provider_quota"})
REPEAT_AFTER = 3600.0


class OperatorAlerts:
    def __init__(
        self,
        bot: Bot,
        users: Users,
        admin_ids: Iterable[int],
        told: ProviderStates,
        *,
        repeat_after: float = REPEAT_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot = bot
        self.users = users
        self.admin_ids = tuple(admin_ids)
        self.told = told
        self.repeat_after = repeat_after
        self._clock = clock

    @property
    def anyone(self) -> bool:
        """Whether an alert reaches anyone (``telegram.admin_ids`` is not empty): texts that tell a
        user "the operator has been told" say so only then."""
        return bool(self.admin_ids)

    async def low_uses(self, provider: str, uses: int) -> None:
        """An account running out of paid uses (bot/ops/accounts.py): told once per crossing."""
        key = "admin.alert_no_uses" if uses <= 0 else "admin.alert_low_uses"
        await self.tell(key, provider=provider, uses=uses)

    async def tell(self, key: str, **values: object) -> None:
        """Send every admin the text ``key``, each in their language; a value given as (key,
        values) is itself a text of the catalog, in the same language."""
        for admin_id in self.admin_ids:
            lang = await self.users.language(admin_id) or "en"
            shown = {
                name: t(lang, value[0], **value[1]) if isinstance(value, tuple) else value
                for name, value in values.items()
            }
            try:
                await self.bot.send_message(admin_id, t(lang, key, **shown))
            except TelegramError as err:
                log.warning("could not alert admin %s: %s", admin_id, err)

    async def job_failed(self, job: Job) -> None:
        """A job failed for a reason only the operator can fix. Refused credentials and exhausted
        credits are told by the provider's health (bot/ops/health.py, when it goes down); the rest
        here, once per provider and problem within ``repeat_after``."""
        error = job.error
        if error is None or error not in OPERATOR_ERRORS - HEALTH_ERRORS:
            return
        try:
            first = await self.told.first_to_tell(job.provider, error, self._clock(), self.repeat_after)
        except DATABASE_ERRORS as err:  # told again rather than not at all
            log.warning("could not record the alert for %s (%s): %s", job.provider, error, err)
            first = True
        if not first:
            return
        log.error(
            "provider %s: %s (job %s failed and its credits were released); fix the provider's account or config",
            job.provider,
            job.error,
            job.id,
        )
        for admin_id in self.admin_ids:
            lang = await self.users.language(admin_id) or "en"
            try:
                await self.bot.send_message(admin_id, t(lang, f"admin.alert_{error}", provider=job.provider))
            except TelegramError as err:
                log.warning("could not alert admin %s: %s", admin_id, err)
