"""Deterministic log-probabilities: the same token of the same choice always gets the same values.

The sampled token is the most likely one (probability in [0.5, 1)); its alternatives share
what is left, each half the one before, so the values look like a confident model's and are
always sorted. Alternatives are pieces of the built-in passage, never the token itself.
"""

import math

import msgspec

from mockcore.digest import derived_u64
from mockcore.vocabulary import FALLBACK_PIECES

_PROBABILITY_SALT = b"logprob"
_ALTERNATIVE_SALT = b"logprob-alt"
_UNIT = float(1 << 64)


class TokenLogprob(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One token's log-probability and its `top` most likely alternatives, best first."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


def _alternatives(piece: str, draw: int, count: int) -> list[str]:
    """`count` distinct pieces of the passage other than `piece`, starting at a drawn index."""
    chosen: list[str] = []
    size = len(FALLBACK_PIECES)
    step = 0
    while len(chosen) < count and step < size:
        candidate = FALLBACK_PIECES[(draw + step * 7) % size]
        step += 1
        if candidate != piece and candidate not in chosen:
            chosen.append(candidate)
    return chosen


def token_logprob(choice_digest: bytes, token_index: int, piece: str, top: int) -> TokenLogprob:
    """The values of token `token_index` (its text `piece`) of the choice drawn from `choice_digest`."""
    salt_index = token_index.to_bytes(8, "little")
    draw = derived_u64(choice_digest + salt_index, _PROBABILITY_SALT)
    probability = 0.5 + 0.5 * (draw / _UNIT)
    logprob = round(math.log(probability), 6)
    if top == 0:
        return TokenLogprob(token=piece, logprob=logprob)
    rest = 1.0 - probability
    alternatives = _alternatives(piece, derived_u64(choice_digest + salt_index, _ALTERNATIVE_SALT), top - 1)
    ranked = [(piece, logprob)]
    for rank, alternative in enumerate(alternatives, start=1):
        ranked.append((alternative, round(math.log(rest * 0.5**rank), 6)))
    return TokenLogprob(token=piece, logprob=logprob, top=tuple(ranked))


VOCABULARY_SIZE = 32_000
_TOKEN_ID_SALT = b"token-id"


def token_id(piece: str) -> int:
    """A stable id for a token piece, as protocols that number tokens (TGI) report them."""
    return derived_u64(piece.encode("utf-8", "surrogatepass"), _TOKEN_ID_SALT) % VOCABULARY_SIZE
