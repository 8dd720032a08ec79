"""PicWish ID photo API (provider document 004).

Create: ``POST {base}/idphoto`` multipart with header ``X-API-KEY``; query:
``GET {base}/idphoto/{task_id}``. Success is ``status == 200`` in the body; the task
``state`` is 1 when done, 0/2/3/4 while in progress, negative when failed.
"""

from __future__ import annotations

import base64
import binascii
from types import MappingProxyType
from typing import Any

from providers.base import DEFAULT_MAX_RETRIES, Answer, FormValue, NonEmpty, TaskProvider, parse_answer, status_error
from providers.download import looks_like_image
from providers.errors import (
    BadResponse,
    ImageIdExpired,
    ImageTooLarge,
    InputDownloadFailed,
    InvalidImage,
    ProcessingTimeout,
    ProviderDomainError,
    ProviderStatusError,
    QuotaExceeded,
    ResultUploadFailed,
    UnexpectedStatus,
)
from providers.models import CallbackAnswer, InputImage, InputLimits, Phase, ResultImage, Submission, TaskStatus
from providers.orders import IdPhotoOption, IdPhotoOrder

DEFAULT_BASE_URL = "https://techsz.aoscdn.com/api/tasks/visual/external"
DEFAULT_TIMEOUT = 30.0
#: The document: recommended polling interval 1 s, total polling time at most 5 minutes.
POLL_INTERVAL = 1.0
POLL_DEADLINE = 300.0
#: Input limits from the document's "Supported Images" table.
MAX_SIDE = 4096
MAX_BYTES = 15 * 1024 * 1024
FORMATS = frozenset({"JPEG", "BMP", "PNG", "WEBP", "TIFF"})
#: The refusals of a re-render from ``last_id`` alone taken for "PicWish no longer has that image"
#: (the user is asked to make it again from the photo, nothing charged). Document 004 is silent on
#: how an unknown or expired last_id is refused, so neither its wording nor one status is relied
#: on: any 4xx, in the HTTP status or the body's, other than the key, the account's balance,
#: throttling and timeouts. The order itself was taken with the photo, so little else is left.
_LAST_ID_REFUSALS = frozenset(range(400, 500)) - {401, 402, 403, 408, 429}
#: The largest answer read: ``data.image`` may be the result itself in base64 (the document), an
#: image of up to MAX_BYTES (its limit) is 4/3 of that in base64, plus room for the rest of the
#: answer and line wrapping.
MAX_ANSWER_BYTES = MAX_BYTES * 4 // 3 + 4 * 1024 * 1024
#: The documented outfit values: man_1..man_20, woman_1..woman_20, child_1..child_10.
CLOTHES_IDS = tuple(
    [f"man_{i}" for i in range(1, 21)] + [f"woman_{i}" for i in range(1, 21)] + [f"child_{i}" for i in range(1, 11)]
)
LAYOUT_SIZES = ("5inch", "6inch")
#: Strengths of beauty's sub-options (the document's range is [0, 1], default 0.5): sharpening
#: that crisps a phone photo without halos, and a slimming an office would still take for the
#: same face.
SHARP_FACTOR = 0.3
THIN_FACE_FACTOR = 0.2

_FAILED_STATES: dict[int, type[ProviderDomainError]] = {
    -8: ProcessingTimeout,
    -7: InvalidImage,
    -5: ImageTooLarge,
    -3: InputDownloadFailed,
    -2: ResultUploadFailed,
    -1: ProviderDomainError,
}


class _Created(Answer):
    task_id: NonEmpty


class _Task(Answer):
    #: 1 done; 0, 2, 3, 4 in progress; negative failed.
    state: int
    progress: int = 0
    #: The finished photo: a URL, or the image itself in base64.
    image: str | None = None
    image_id: str | None = None


def create_form(order: IdPhotoOrder) -> dict[str, str]:
    """The create request's form fields for an order."""
    fields: dict[str, str] = {"sync": "0"}
    if order.mm_width is not None and order.mm_height is not None:
        # A custom size: the document's (mm_width, mm_height) pair, and no spec of its table.
        fields.update(mm_width=str(order.mm_width), mm_height=str(order.mm_height))
    else:
        fields.update(spec_id=str(order.spec_id), px_width=str(order.px_width), px_height=str(order.px_height))
    fields.update(dpi=str(order.dpi), bg_color=order.bg_color.upper())
    if order.bg_color2:
        fields["bg_color2"] = order.bg_color2.upper()
    if order.beauty:
        fields.update(auto_bright="1", auto_smooth="1")
        if order.sharpen:
            fields.update(auto_sharp="1", sharp_factor=str(SHARP_FACTOR))
        if order.thin_face:
            fields.update(auto_thin_face="1", thin_face_factor=str(THIN_FACE_FACTOR))
    if order.clothes_id:
        if order.clothes_id not in CLOTHES_IDS:
            raise ValueError(f"unknown clothes_id {order.clothes_id}")
        fields["clothes_id"] = order.clothes_id
    if order.layout_size:
        if order.layout_size not in LAYOUT_SIZES:
            raise ValueError(f"unknown layout_size {order.layout_size}")
        fields.update(layout="1", layout_size=order.layout_size)
        if order.layout_vertical:
            fields["layout_vertical"] = "1"
        if order.layout_bg_color:
            fields["layout_bg_color"] = order.layout_bg_color.upper()
    if order.preview:
        fields["preview"] = "1"
    if order.last_id:
        fields["last_id"] = order.last_id
    return fields


class PicwishClient(TaskProvider[IdPhotoOrder]):
    name = "picwish"
    calls_back = True
    input_limits = InputLimits(max_side=MAX_SIDE, max_bytes=MAX_BYTES, formats=FORMATS)
    max_answer_bytes = MAX_ANSWER_BYTES
    features = frozenset(IdPhotoOption)
    catalogs = MappingProxyType({"outfits": CLOTHES_IDS, "layout_sizes": LAYOUT_SIZES})

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        poll_interval: float = POLL_INTERVAL,
        deadline: float = POLL_DEADLINE,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, max_retries=max_retries, **kwargs)
        self._headers = {"X-API-KEY": api_key}
        self.base_url = base_url.rstrip("/")
        self.poll_interval = poll_interval
        self.deadline = deadline

    async def submit(
        self, order: IdPhotoOrder, image: InputImage | None, callback_url: str | None, *, reference: str = ""
    ) -> Submission:
        # A re-render names its input by last_id; the stored photo is not sent again.
        data = image.data if image is not None and not order.last_id else None
        return await self.create(order, data, callback_url=callback_url)

    def callback_answer(self) -> CallbackAnswer:
        return CallbackAnswer(body=b'{"status": 200, "message": "ok"}')

    async def create(
        self, order: IdPhotoOrder, image: bytes | None = None, *, callback_url: str | None = None
    ) -> Submission:
        """Create a task; never resent once the provider may have accepted it."""
        if image is None and not order.last_id:
            raise ValueError("an image or last_id is needed")
        data = create_form(order)
        if callback_url:
            data["callback_url"] = callback_url
        # Always multipart (the document's -F fields), also for a last_id re-render without a file.
        parts: dict[str, FormValue] = dict(data)
        if image is not None:
            parts["image_file"] = ("photo.jpg", image, "image/jpeg")
        try:
            body = await self.request_json(
                "POST", f"{self.base_url}/idphoto", idempotent=False, headers=self._headers, form=parts
            )
            data = self._checked(body)
        except ProviderStatusError as err:
            if order.last_id and image is None and err.status in _LAST_ID_REFUSALS:
                raise ImageIdExpired(
                    f"picwish: last_id {order.last_id} refused ({err})", status=err.status, provider=self.name
                ) from err
            raise
        return Submission(task_id=parse_answer(_Created, data, self.name).task_id)

    async def query(self, task_id: str) -> TaskStatus:
        body = await self.request_json(
            "GET", f"{self.base_url}/idphoto/{task_id}", idempotent=True, headers=self._headers
        )
        return self.parse_status(self._checked(body, query=True))

    def _checked(self, body: dict[str, Any], *, query: bool = False) -> Any:
        """The answer's data when its body status is 200. Otherwise the typed error; on a status
        query, a status that is neither about the key nor throttling nor a server fault is asked
        again a few times (the document's example keeps polling through "task exceptions")."""
        status = body.get("status")
        if status != 200:
            message = f"picwish: status {status} {body.get('message') or ''}".strip()
            code = status if isinstance(status, int) else 502
            if code == 402:  # the document: "refer to HTTP response codes"; 402 is Payment Required
                raise QuotaExceeded(message, status=402, provider=self.name, data=body)
            if query and code not in (401, 403, 429) and code < 500:
                raise UnexpectedStatus(message, provider=self.name, data=body)
            raise status_error(self.name, code, message, data=body)
        return body.get("data")

    def parse_status(self, data: Any) -> TaskStatus:
        task = parse_answer(_Task, data, self.name)
        state, progress = task.state, task.progress
        if state < 0:
            error_type = _FAILED_STATES.get(state, ProviderDomainError)
            error = error_type(f"picwish: task state {state}", provider=self.name, data=data)
            return TaskStatus(Phase.FAILED, progress=progress, error=error, raw_state=state)
        if state != 1:
            return TaskStatus(Phase.PENDING, progress=min(progress, 99), raw_state=state)
        image, image_id = task.image, task.image_id
        if not image:
            raise BadResponse("picwish: finished task without an image", provider=self.name, data=data)
        if image.startswith(("http://", "https://")):
            result = ResultImage(url=image, image_id=image_id)
        else:
            result = ResultImage(data=self._inline(image), image_id=image_id)
        return TaskStatus(Phase.DONE, progress=100, images=(result,), raw_state=state)

    def _inline(self, image: str) -> bytes:
        """The document: ``image`` is "download URL or base64 data of the processed ID photo". The
        base64 may come as a ``data:`` URI or wrapped over lines; what it holds must be an image."""
        payload = image.partition(";base64,")[2] if image.startswith("data:") else image
        try:
            data = base64.b64decode("".join(payload.split()), validate=True)
        except (binascii.Error, ValueError) as err:
            raise BadResponse("picwish: image is neither a URL nor base64", provider=self.name) from err
        if not looks_like_image(data):
            raise BadResponse("picwish: the inline image is not an image", provider=self.name)
        return data


__all__ = ["CLOTHES_IDS", "LAYOUT_SIZES", "PicwishClient", "create_form"]
