"""Output lengths: how many reasoning and content tokens a request gets, and why it stopped.

This is the table of SPEC section 4 in one function, kept free of any request type so that
property tests can drive it directly.
"""

import msgspec

from mockcore.digest import derived_unit
from mockcore.plan import FinishReason

MIN_NATURAL_TOKENS = 16
_LENGTH_SALT = b"length"


class TokenBudget(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The planned lengths of one choice."""

    reasoning_tokens: int
    content_tokens: int
    finish_reason: FinishReason


def natural_length(prompt_tokens: int, digest: bytes) -> int:
    """N = max(16, floor(P * (0.8 + 0.4 u))), u in [0, 1) drawn from the prompt digest."""
    spread = 0.8 + 0.4 * derived_unit(digest, _LENGTH_SALT)
    return max(MIN_NATURAL_TOKENS, int(prompt_tokens * spread))


def plan_budget(
    *,
    natural_tokens: int,
    reasoning_wanted: int,
    limit: int | None,
    min_tokens: int,
    ignore_eos: bool,
) -> TokenBudget:
    """Apply the limit, `min_tokens` (which bounds R + C, as vLLM does) and `ignore_eos`.

    Reasoning comes out of the same budget as content: content is planned under the limit
    M - R, and when nothing is left the choice ends with `length` inside its reasoning.
    The caller guarantees `min_tokens <= limit`.
    """
    if limit is None:
        content = max(natural_tokens, min_tokens - reasoning_wanted)
        return TokenBudget(reasoning_tokens=reasoning_wanted, content_tokens=content, finish_reason="stop")
    reasoning = min(reasoning_wanted, limit)
    content_limit = limit - reasoning
    natural_content = max(min(natural_tokens, content_limit), min_tokens - reasoning)
    content = content_limit if ignore_eos else natural_content
    finish_reason: FinishReason = "length" if content == content_limit else "stop"
    return TokenBudget(reasoning_tokens=reasoning, content_tokens=content, finish_reason=finish_reason)
