"""The local ID-photo provider: the engine in ``providers/localengine`` behind the provider interface.

It is synchronous (the answer holds the photo), costs nothing and has no side effects, so a job
interrupted by a restart is simply run again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from providers.base import TaskProvider
from providers.errors import ProviderDomainError
from providers.models import InputImage, Phase, ResultImage, Submission, TaskStatus

#: Photos made at once; each uses both cores for a fraction of a second.
DEFAULT_CONCURRENCY = 1


class FaceProblem(ProviderDomainError):
    """The photo has no usable face; ``code`` says why (no_face, several_faces, ...)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"local: {code}", provider="local")
        self.code = code


class LocalIdPhoto(TaskProvider):
    name = "local"
    deadline = 300.0
    #: Nothing was sent anywhere: a job interrupted by a restart can run again.
    rerun_safe = True

    def __init__(self, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        super().__init__()
        self._gate = asyncio.Semaphore(concurrency)

    async def submit(
        self, options: Mapping[str, Any], image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        from providers.localengine import FaceCheckError, Placement, make_id_photo

        if image is None or image.data is None:
            raise ValueError("the local engine needs the photo's bytes")
        try:
            async with self._gate:
                data = await asyncio.to_thread(
                    make_id_photo, image.data, size=(int(options["px_width"]), int(options["px_height"])),
                    dpi=int(options["dpi"]), bg_color=str(options["bg_color"]), bg_color2=options.get("bg_color2"),
                    placement=Placement(**options["head"]) if options.get("head") else None)
        except FaceCheckError as err:
            raise FaceProblem(err.code) from err
        status = TaskStatus(Phase.DONE, progress=100, images=(ResultImage(data=data),))
        return Submission(task_id=f"local-{uuid.uuid4().hex}", status=status)

    async def query(self, task_id: str) -> TaskStatus:
        raise AssertionError("local jobs are run again after a restart, never queried")
