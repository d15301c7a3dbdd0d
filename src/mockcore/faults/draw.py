"""Which requests fail, and how: a pure function of (seed, sequence number).

Whether request n fails, which kind of fault it gets and where a transport fault strikes are
three independent draws from the hash of (seed, n), so they depend neither on the worker
that serves the request nor on timing nor on any earlier draw.
"""

import math

import msgspec

from mockcore.digest import derived_unit, digest_texts
from mockcore.faults.kinds import (
    ANSWER_BREAKING_KINDS,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_TOKENS,
    RETRY_AFTER_S,
    FaultKind,
    is_transport_fault,
)
from mockcore.faults.mix import DEFAULT_FAULT_MIX, FaultMix, parse_fault_mix

FAULT_STATUS_CODE = 500
_DEFAULT_MIX = parse_fault_mix(DEFAULT_FAULT_MIX)


class FaultContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a fault's message may mention about the request it strikes."""

    model: str = "mock-model"
    prompt_tokens: int = 0
    output_tokens: int = 0
    prompt_param: str = "messages"


class InjectedFault(msgspec.Struct, frozen=True, kw_only=True):
    """A simulated failure of request `sequence_number`.

    An error fault (`status_code` >= 400) is answered instead of the response, with the
    envelope fields and `headers` below. A transport fault (`status_code` 200) starts the
    answer and breaks it after `strike_after(tokens)` token events; `delay_s` is how long a
    `stall` or `slow_headers` holds it.
    """

    sequence_number: int
    message: str
    kind: FaultKind = "server_error"
    status_code: int = FAULT_STATUS_CODE
    type: str = "server_error"
    code: str | None = "injected_fault"
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    position: float = 0.0
    delay_s: float = 0.0

    @property
    def is_transport(self) -> bool:
        """Whether the answer starts as a 200 and then breaks."""
        return is_transport_fault(self.kind)

    def strike_after(self, token_events: int) -> int:
        """How many of `token_events` token events go out before the fault strikes (< all)."""
        return min(max(token_events - 1, 0), math.floor(self.position * token_events))

    def shaped_offset(self, event_index: int, offset_s: float, strike: int) -> float | None:
        """Event `event_index`'s deadline (planned at `offset_s`) under this transport fault.

        None when the fault ends the answer before it (`abort`, `truncate`: from event
        `strike` on); `stall` holds the events from `strike` on `delay_s` longer, and
        `slow_headers` holds every event as long as the status line.
        """
        kind = self.kind
        if kind in ANSWER_BREAKING_KINDS:
            return None if event_index >= strike else offset_s
        if kind == "slow_headers" or (kind == "stall" and event_index >= strike):
            return offset_s + self.delay_s
        return offset_s

    def truncated_length(self, body_bytes: int) -> int:
        """How much of a non-streamed body of `body_bytes` a `truncate` sends (some, not all)."""
        return min(body_bytes - 1, max(1, math.floor(self.position * body_bytes)))


def _retry_headers() -> tuple[tuple[str, str], ...]:
    return (("retry-after", str(RETRY_AFTER_S)),)


def _rate_limit_headers(context: FaultContext) -> tuple[tuple[str, str], ...]:
    return (
        *_retry_headers(),
        ("x-ratelimit-limit-requests", str(RATE_LIMIT_REQUESTS)),
        ("x-ratelimit-remaining-requests", "0"),
        ("x-ratelimit-reset-requests", f"{RETRY_AFTER_S}s"),
        ("x-ratelimit-limit-tokens", str(RATE_LIMIT_TOKENS)),
        ("x-ratelimit-remaining-tokens", str(max(0, RATE_LIMIT_TOKENS - context.prompt_tokens))),
        ("x-ratelimit-reset-tokens", "0s"),
    )


def fault_of_kind(  # noqa: PLR0911 - one answer per kind, side by side
    kind: FaultKind,
    sequence_number: int,
    *,
    cause: str,
    position: float = 0.0,
    delay_s: float = 0.0,
    context: FaultContext | None = None,
) -> InjectedFault:
    """The fault of `kind` for request `sequence_number`, as a real server would answer it.

    `cause` ends every message (`error rate 5%`, `X-Mock-Fault`), so a log reader can tell an
    injected failure from a real one.
    """
    facts = context or FaultContext()
    tag = f"(injected fault: request {sequence_number}, {cause})"
    n = sequence_number
    if kind == "server_error":
        return InjectedFault(sequence_number=n, message=f"Injected server error {tag}.")
    if kind == "unavailable":
        return InjectedFault(
            sequence_number=n,
            kind=kind,
            status_code=503,
            code="service_unavailable",
            message=f"The server is overloaded or not ready yet; retry after {RETRY_AFTER_S} s {tag}.",
            headers=_retry_headers(),
        )
    if kind == "rate_limit":
        return InjectedFault(
            sequence_number=n,
            kind=kind,
            status_code=429,
            type="requests",
            code="rate_limit_exceeded",
            message=(
                f"Rate limit reached for {facts.model} on requests per min (RPM): "
                f"Limit {RATE_LIMIT_REQUESTS}, Used {RATE_LIMIT_REQUESTS}, Requested 1. "
                f"Please try again in {RETRY_AFTER_S}s {tag}."
            ),
            headers=_rate_limit_headers(facts),
        )
    if kind == "context_length":
        requested = facts.prompt_tokens + facts.output_tokens
        return InjectedFault(
            sequence_number=n,
            kind=kind,
            status_code=400,
            type="invalid_request_error",
            code="context_length_exceeded",
            param=facts.prompt_param,
            message=(
                f"This model's maximum context length is {max(requested - 1, 0)} tokens. "
                f"However, you requested {requested} tokens ({facts.prompt_tokens} in the "
                f"{facts.prompt_param}, {facts.output_tokens} in the completion). Please reduce "
                f"the length of the {facts.prompt_param} or completion {tag}."
            ),
        )
    if kind == "auth":
        return InjectedFault(
            sequence_number=n,
            kind=kind,
            status_code=401,
            type="invalid_request_error",
            code="invalid_api_key",
            message=f"Incorrect API key provided {tag}.",
        )
    if kind == "not_found":
        return InjectedFault(
            sequence_number=n,
            kind=kind,
            status_code=404,
            type="invalid_request_error",
            code="model_not_found",
            message=f"The model `{facts.model}` does not exist or you do not have access to it {tag}.",
        )
    return InjectedFault(
        sequence_number=n,
        kind=kind,
        status_code=200,
        type="transport",
        code=None,
        message=f"Injected {kind} {tag}.",
        position=position,
        delay_s=delay_s if kind in {"stall", "slow_headers"} else 0.0,
    )


def _request_digest(seed: int, sequence_number: int) -> bytes:
    return digest_texts((str(seed), str(sequence_number)))


def fault_position(seed: int, sequence_number: int) -> float:
    """Where in the answer a transport fault on request n strikes, as a fraction in [0, 1)."""
    return derived_unit(_request_digest(seed, sequence_number), b"fault-position")


def draw_fault(
    seed: int,
    sequence_number: int,
    error_rate_percent: float,
    mix: FaultMix = _DEFAULT_MIX,
    *,
    delay_s: float = 0.0,
    context: FaultContext | None = None,
) -> InjectedFault | None:
    """Decide request `sequence_number`'s fate: fails with probability error_rate / 100.

    Rate 0 never fails; rate 100 always does (the draw lies in [0, 1)). A failing request's
    kind falls on `mix` by a second draw, so changing the mix never changes *which* requests
    fail, only how.
    """
    digest = _request_digest(seed, sequence_number)
    if derived_unit(digest, b"fault") >= error_rate_percent / 100.0:
        return None
    return fault_of_kind(
        mix.pick(derived_unit(digest, b"fault-kind")),
        sequence_number,
        cause=f"error rate {error_rate_percent:g}%",
        position=derived_unit(digest, b"fault-position"),
        delay_s=delay_s,
        context=context,
    )
