"""One error tree for every provider: connection, status and domain failures.

Every error carries ``code``: a short, stable name the bot turns into a user message
(``error.<code>`` in the locale catalogs) and stores on the job.
"""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    code = "provider_error"

    def __init__(self, message: str, *, provider: str = "", data: Any = None, never_accepted: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.data = data
        #: True when the provider cannot have accepted the request (safe to send again).
        self.never_accepted = never_accepted


class ProviderConnectionError(ProviderError):
    """The provider could not be reached, or the connection broke."""

    code = "provider_unreachable"


class ProviderTimeout(ProviderConnectionError):
    code = "provider_timeout"


class BadResponse(ProviderError):
    """The provider answered with something that is not what its document describes."""

    code = "provider_bad_response"


class UnexpectedStatus(BadResponse):
    """A well-formed answer to a status query whose status the document gives no meaning for
    there: like a garbled answer, taken for a passing glitch a few times in a row (the job
    runner's MAX_BAD_ANSWERS), as the documents' own polling examples do."""


#: The code of an error saying the provider forgot the image an order was to re-render.
PREVIEW_EXPIRED = "preview_expired"


class ProviderStatusError(ProviderError):
    """An HTTP error status, or a non-success ``status`` field in the body."""

    code = "provider_error"

    def __init__(
        self, message: str, *, status: int, provider: str = "", data: Any = None, never_accepted: bool = False
    ) -> None:
        super().__init__(message, provider=provider, data=data, never_accepted=never_accepted)
        self.status = status


class AuthenticationError(ProviderStatusError):
    code = "provider_auth"


class QuotaExceeded(ProviderStatusError):
    """The account's paid uses are used up, expired or in arrears: only the operator can fix it."""

    code = "provider_quota"


class RateLimited(ProviderStatusError):
    code = "provider_busy"

    def __init__(self, message: str, *, status: int = 429, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, status=status, **kw)
        self.retry_after = retry_after


class ServerError(ProviderStatusError):
    code = "provider_unavailable"


class ProviderDomainError(ProviderError):
    """The request went through but the provider says the work failed ("HTTP 200 but failed")."""

    code = "processing_failed"


class InvalidImage(ProviderDomainError):
    code = "invalid_image"


class ImageTooLarge(ProviderDomainError):
    code = "image_too_large"


class InputDownloadFailed(ProviderDomainError):
    code = "input_download_failed"


class ProcessingTimeout(ProviderDomainError):
    code = "processing_timeout"


class ResultUploadFailed(ProviderDomainError):
    code = "result_upload_failed"


class DeadlineExceeded(ProviderDomainError):
    """We stopped waiting: the task did not finish within the job's deadline."""

    code = "deadline_exceeded"


class ResultDownloadError(ProviderError):
    """The result could not be fetched, or it is not an acceptable image."""

    code = "result_download_failed"


# The local engine's own failures (providers/localengine/worker.py).


class EngineCrashed(ProviderError):
    """The worker process died while working on a photo (a new one takes the next photo)."""

    code = "internal_error"


class EngineBusy(ProviderError):
    """Too many photos wait for the engine already; nothing was started."""

    code = "engine_busy"
    never_accepted = True


class EngineTimeout(ProviderError):
    """A photo took longer than its time limit; the worker processes were ended."""

    code = "engine_busy"


class ImageIdExpired(ProviderStatusError):
    """The provider no longer knows the image id a re-render names (PicWish's ``last_id``)."""

    code = PREVIEW_EXPIRED
