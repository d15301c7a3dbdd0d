"""The kinds of failure a real inference server shows, and what each one answers.

Two families. An *error* fault answers before any byte of the response, with the status and
OpenAI error envelope a real server sends in that situation. A *transport* fault starts a
normal 200 answer and then breaks it the way a network or an overloaded server does.
"""

from typing import Literal, get_args

FaultKind = Literal[
    "server_error",
    "unavailable",
    "rate_limit",
    "context_length",
    "auth",
    "not_found",
    "abort",
    "stall",
    "truncate",
    "slow_headers",
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
TRANSPORT_FAULT_KINDS: frozenset[FaultKind] = frozenset({"abort", "stall", "truncate", "slow_headers"})
# The transport kinds after which the answer is incomplete (the others only delay it).
ANSWER_BREAKING_KINDS: frozenset[FaultKind] = frozenset({"abort", "truncate"})

# The wait a 429 or 503 asks for (`Retry-After`, whole seconds as HTTP wants them).
RETRY_AFTER_S = 1
# The limits a rate-limited answer reports in its `x-ratelimit-*` headers, as OpenAI does.
RATE_LIMIT_REQUESTS = 60
RATE_LIMIT_TOKENS = 150_000


def is_transport_fault(kind: FaultKind) -> bool:
    """Whether the fault breaks an answer that began with 200 (rather than replacing it)."""
    return kind in TRANSPORT_FAULT_KINDS
