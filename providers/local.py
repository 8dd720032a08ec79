"""The local ID-photo provider: the engine in ``providers/localengine`` behind the provider interface.

It is synchronous (the answer holds the photo), costs nothing and has no side effects, so a job
interrupted by a restart is simply run again. The engine runs in a worker process.
"""

from __future__ import annotations

import uuid

from providers.base import TaskProvider
from providers.localengine.worker import EngineLimits, shared_worker
from providers.models import InputImage, Phase, ResultImage, Submission, TaskStatus
from providers.orders import IdPhotoOrder
from providers.placement import DEFAULT_RULE
from providers.specs import load_catalog

#: Photos made at once, each in its own worker process (each uses both cores for a fraction of a second).
DEFAULT_CONCURRENCY = 1


class LocalIdPhoto(TaskProvider[IdPhotoOrder]):
    name = "local"
    deadline = 300.0
    #: Nothing was sent anywhere: a job interrupted by a restart can run again.
    rerun_safe = True
    features = frozenset({"gradient", "custom_size"})

    def __init__(self, *, concurrency: int = DEFAULT_CONCURRENCY, limits: EngineLimits | None = None) -> None:
        super().__init__()
        self._engine = shared_worker(concurrency)
        self.limits = limits or EngineLimits()

    async def submit(
        self, order: IdPhotoOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        if image is None or image.data is None:
            raise ValueError("the local engine needs the photo's bytes")
        spec = load_catalog().get(order.spec_id)
        rule = spec.rule.rule_id if spec else DEFAULT_RULE
        options = {**order.model_dump(), "rule": rule}
        data, placement = await self._engine.make_id_photo(image.data, options, self.limits)
        status = TaskStatus(Phase.DONE, progress=100, images=(ResultImage(data=data, placement=placement),))
        return Submission(task_id=f"local-{uuid.uuid4().hex}", status=status)

    async def query(self, task_id: str) -> TaskStatus:
        raise AssertionError("local jobs are run again after a restart, never queried")
