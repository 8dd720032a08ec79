"""The local ID-photo provider: the engine in ``providers/localengine`` behind the provider interface.

It is synchronous (the answer holds the photo), costs nothing and has no side effects, so a job
interrupted by a restart is simply run again. The engine runs in a worker process.

A preview (``order.preview``) is made however doubtful its cut-out and reports its checklist; an
order that buys a preview (``order.from_preview``) gets that preview's finished photo as its input
and hands it back unchanged: the person pays for the file they saw, which is not made again.
Another size ordered with a bought preview (``order.cutout_accepted``) is made as a preview is,
however doubtful its cut-out: the person saw that cut-out and accepted it.
"""

from __future__ import annotations

import uuid

from providers.base import TaskProvider
from providers.localengine.worker import EngineLimits, shared_worker
from providers.models import InputImage, Phase, ResultImage, Submission, TaskStatus
from providers.orders import IdPhotoOption, IdPhotoOrder
from providers.placement import DEFAULT_RULE
from providers.specs import MM_PER_INCH, load_catalog

#: Photos made at once, each in its own worker process (each uses both cores for a fraction of a second).
DEFAULT_CONCURRENCY = 1
#: Free previews a user may have made in an hour (``providers.local.previews_per_hour``).
DEFAULT_PREVIEWS_PER_HOUR = 10


class LocalIdPhoto(TaskProvider[IdPhotoOrder]):
    name = "local"
    deadline = 300.0
    #: Nothing was sent anywhere: a job interrupted by a restart can run again.
    rerun_safe = True
    features = frozenset({IdPhotoOption.GRADIENT, IdPhotoOption.CUSTOM_SIZE})
    frames_from_the_photo = True

    def __init__(
        self,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        limits: EngineLimits | None = None,
        previews_per_hour: int = DEFAULT_PREVIEWS_PER_HOUR,
    ) -> None:
        super().__init__()
        self.kept_previews_per_hour = previews_per_hour
        self._engine = shared_worker(concurrency)
        self.limits = limits or EngineLimits()

    async def submit(
        self, order: IdPhotoOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or image.data is None:
            raise ValueError("the local engine needs the photo's bytes")
        task_id = f"local-{uuid.uuid4().hex}"
        if order.from_preview:  # the preview's exact file, bought
            bought = TaskStatus(Phase.DONE, progress=100, images=(ResultImage(data=image.data),))
            return Submission(task_id=task_id, status=bought)
        spec = load_catalog().for_order(order)
        rule = spec.rule.rule_id if spec else DEFAULT_RULE
        mm = spec.mm if spec else (order.px_width * MM_PER_INCH / order.dpi, order.px_height * MM_PER_INCH / order.dpi)
        options = {**order.model_dump(), "rule": rule, "mm": mm}
        # A doubtful cut-out is shown in a preview, and made for a size ordered with a bought one.
        shown = order.preview or order.cutout_accepted
        # A free preview waits behind paid photos, and never fills the engine's queue.
        data, placement = await self._engine.make_id_photo(
            image.data, options, self.limits, preview=shown, free=order.preview
        )
        status = TaskStatus(
            Phase.DONE,
            progress=100,
            images=(ResultImage(data=data, placement=placement),),
            kept_preview=order.preview,
        )
        return Submission(task_id=task_id, status=status)

    async def query(self, task_id: str) -> TaskStatus:
        raise AssertionError("local jobs are run again after a restart, never queried")
