"""Per-request control: the `X-Mock-*` headers that make one request behave in a given way.

    X-Mock-Fault: <kind>          this request gets that fault (any kind of `--fault-mix`)
    X-Mock-TTFT-Ms: <ms>          its TTFT, exactly (no latency shape, no jitter)
    X-Mock-ITL-Ms: <ms>           its ITL, exactly
    X-Mock-Output-Tokens: <n>     exactly n output tokens per choice (reasoning included)

A malformed value is the client's mistake: a 400 naming the header.
"""

import math

import msgspec

from mockcore.errors import RequestError
from mockcore.faults import FAULT_KINDS, FaultKind

FAULT_HEADER = "x-mock-fault"
TTFT_HEADER = "x-mock-ttft-ms"
ITL_HEADER = "x-mock-itl-ms"
OUTPUT_TOKENS_HEADER = "x-mock-output-tokens"
CONTROL_HEADERS = (FAULT_HEADER, TTFT_HEADER, ITL_HEADER, OUTPUT_TOKENS_HEADER)
CONTROL_HEADER_PREFIX = "x-mock-"
MAX_LATENCY_MS = 3_600_000.0


class RequestOverrides(msgspec.Struct, frozen=True, kw_only=True):
    """What the headers of one request force; None leaves the server's own choice."""

    fault: FaultKind | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    output_tokens: int | None = None

    @property
    def timing_forced(self) -> bool:
        """Whether TTFT or ITL is forced (the latency shape and jitter then stay out)."""
        return self.ttft_ms is not None or self.itl_ms is not None


NO_OVERRIDES = RequestOverrides()


def _latency(header: str, value: str) -> float:
    try:
        latency = float(value)
    except ValueError:
        latency = math.nan
    if not math.isfinite(latency) or not 0.0 <= latency <= MAX_LATENCY_MS:
        raise RequestError(
            f"Header {header} must be a number of milliseconds from 0 to {MAX_LATENCY_MS:g}, not {value!r}.",
            header,
        )
    return latency


def parse_overrides(headers: dict[str, str], max_output_tokens: int) -> RequestOverrides:
    """Read the `X-Mock-*` headers (names in lower case); raises `RequestError` on a bad one."""
    unknown = sorted(set(headers) - set(CONTROL_HEADERS))
    if unknown:
        raise RequestError(
            f"Unknown control header {unknown[0]}; the X-Mock-* headers are {', '.join(CONTROL_HEADERS)}.",
            unknown[0],
        )
    fault = headers.get(FAULT_HEADER)
    if fault is not None and fault.strip() not in FAULT_KINDS:
        raise RequestError(
            f"Header {FAULT_HEADER} must be one of {', '.join(FAULT_KINDS)}, not {fault!r}.", FAULT_HEADER
        )
    output = headers.get(OUTPUT_TOKENS_HEADER)
    output_tokens = None
    if output is not None:
        stripped = output.strip()
        if not stripped.isdecimal() or not 1 <= int(stripped) <= max_output_tokens:
            raise RequestError(
                f"Header {OUTPUT_TOKENS_HEADER} must be an integer from 1 to {max_output_tokens} "
                f"(--max-output-tokens), not {output!r}.",
                OUTPUT_TOKENS_HEADER,
            )
        output_tokens = int(stripped)
    ttft = headers.get(TTFT_HEADER)
    itl = headers.get(ITL_HEADER)
    return RequestOverrides(
        fault=fault.strip() if fault is not None else None,  # type: ignore[arg-type]
        ttft_ms=_latency(TTFT_HEADER, ttft) if ttft is not None else None,
        itl_ms=_latency(ITL_HEADER, itl) if itl is not None else None,
        output_tokens=output_tokens,
    )
