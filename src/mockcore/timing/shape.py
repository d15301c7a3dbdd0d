"""The latency shape: how TTFT and ITL answer to prompt length, output length and load.

    TTFT = (ttft + ttft_per_isl_token_ms * ISL + ttft_concurrency_quad_ms * C^2) * J_ttft
    ITL  = (itl  + itl_per_osl_token_ms  * OSL + itl_concurrency_lin_ms   * C)   * J_itl, per gap

ISL is the request's prompt tokens, OSL the output tokens planned for it, C the requests in
flight on the whole server when it is admitted (itself included), and J log-normal factors
of mean 1 (`mockcore.timing.jitter`) drawn from the request's digest and sequence number.
With every coefficient 0 (the defaults) TTFT and ITL are the configured constants.
"""

import msgspec

from mockcore.digest import derived_u64, derived_unit
from mockcore.timing.jitter import lognormal_factor_from_unit
from mockcore.timing.schedule import Schedule


class LatencyShape(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The latency options of the server, in milliseconds."""

    ttft_ms: float
    itl_ms: float
    ttft_per_isl_token_ms: float = 0.0
    ttft_concurrency_quad_ms: float = 0.0
    itl_per_osl_token_ms: float = 0.0
    itl_concurrency_lin_ms: float = 0.0
    ttft_jitter_cv: float = 0.0
    itl_jitter_cv: float = 0.0

    @property
    def load_dependent(self) -> bool:
        """Whether the requests in flight change the latency (it must then be counted)."""
        return self.ttft_concurrency_quad_ms > 0.0 or self.itl_concurrency_lin_ms > 0.0

    @property
    def jittered(self) -> bool:
        """Whether latencies carry random factors (drawn per request number)."""
        return self.ttft_jitter_cv > 0.0 or self.itl_jitter_cv > 0.0


def shaped_schedule(
    shape: LatencyShape,
    *,
    input_tokens: int,
    output_tokens: int,
    in_flight: int = 0,
    jitter_digest: bytes | None = None,
) -> Schedule:
    """The schedule of one request; without `jitter_digest` the factors are 1."""
    ttft_ms = (
        shape.ttft_ms
        + shape.ttft_per_isl_token_ms * input_tokens
        + shape.ttft_concurrency_quad_ms * in_flight * in_flight
    )
    itl_ms = (
        shape.itl_ms + shape.itl_per_osl_token_ms * output_tokens + shape.itl_concurrency_lin_ms * in_flight
    )
    if jitter_digest is None or not shape.jittered:
        return Schedule(ttft_ms=ttft_ms, itl_ms=itl_ms)
    ttft_ms *= lognormal_factor_from_unit(derived_unit(jitter_digest, b"ttft-jitter"), shape.ttft_jitter_cv)
    return Schedule(
        ttft_ms=ttft_ms,
        itl_ms=itl_ms,
        itl_cv=shape.itl_jitter_cv,
        jitter_seed=derived_u64(jitter_digest, b"itl-jitter") if shape.itl_jitter_cv > 0.0 else 0,
    )
