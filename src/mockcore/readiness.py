"""A server still loading its model: what the inference routes and `/health/ready` answer.

With `--inference-ready-delay-seconds` the inference routes answer 503 until the delay has
passed since start, and with `--models-ready-delay-seconds` `/v1/models` lists nothing until
then. A client is told when to come back: `Retry-After` is the wait rounded up to whole
seconds, never less than 1.
"""

import math

import msgspec

from mockcore.errors import ErrorInfo


class ReadinessReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The body of `GET /health/ready`: ready, or loading with what is left of each wait."""

    status: str
    inference_ready_in_s: float | None = None
    models_ready_in_s: float | None = None


def retry_after_s(wait_s: float) -> int:
    """The `Retry-After` of a wait of `wait_s` seconds: rounded up, at least 1."""
    return max(1, math.ceil(wait_s))


def not_ready_info(ready_in_s: float) -> ErrorInfo:
    """The 503 envelope of an inference route `ready_in_s` before it is ready."""
    return ErrorInfo(
        message=f"The model is still loading; inference is ready in {ready_in_s:.1f} s "
        "(--inference-ready-delay-seconds).",
        type="server_error",
        param=None,
        code="model_not_ready",
    )


def readiness_report(inference_wait_s: float, models_wait_s: float) -> ReadinessReport:
    """Ready when neither wait is left; else both waits (>= 0, to the millisecond)."""
    inference_wait_s = max(0.0, inference_wait_s)
    models_wait_s = max(0.0, models_wait_s)
    if inference_wait_s <= 0 and models_wait_s <= 0:
        return ReadinessReport(status="ready")
    return ReadinessReport(
        status="loading",
        inference_ready_in_s=round(inference_wait_s, 3),
        models_ready_in_s=round(models_wait_s, 3),
    )
