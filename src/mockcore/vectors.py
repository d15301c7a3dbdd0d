"""Embedding and ranking maths: pure functions of the input text.

Vectors are made of float32 values so that the `float` and `base64` encodings of a response
carry exactly the same numbers.
"""

import math
import re
import struct
import sys
from array import array

from mockcore.digest import derived_bytes, derived_unit, digest_texts

EMBEDDING_DIMENSIONS = 768
_EMBEDDING_SALT = b"embedding"
_RANKING_SALT = b"ranking"
_WORD = re.compile(r"\w+")
_HALF_RANGE = 32768.0


def embedding_vector(digest: bytes, dimensions: int = EMBEDDING_DIMENSIONS) -> tuple[float, ...]:
    """A unit vector drawn from `digest`; `dimensions` keeps a prefix and re-normalises.

    The components are uniform in [-1, 1) before normalisation, from 16 bits of BLAKE2b
    output each, so the vector of a text never changes across versions of Python.
    """
    raw = derived_bytes(digest, _EMBEDDING_SALT, 2 * EMBEDDING_DIMENSIONS)
    components = [
        (value - _HALF_RANGE) / _HALF_RANGE
        for value in struct.unpack(f"<{dimensions}H", raw[: 2 * dimensions])
    ]
    norm = math.sqrt(math.fsum(component * component for component in components))
    if norm == 0.0:
        # Every drawn component is zero (one text in 65,536 at `dimensions: 1`): a vector
        # must still have unit length, so take the first axis.
        return (1.0,) + (0.0,) * (dimensions - 1)
    return tuple(array("f", [component / norm for component in components]))


def float32_le_bytes(vector: tuple[float, ...]) -> bytes:
    """The little-endian float32 bytes that `encoding_format: base64` carries."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def ranking_logit(query: str, passage: str) -> float:
    """A relevance logit in about [-4, 5]: shared words raise it, a hash term breaks ties.

    Lexical overlap makes the ordering plausible to a human reader; the hash term makes
    every (query, passage) pair distinct while staying a pure function of the two texts.
    """
    query_words = _words(query)
    overlap = len(query_words & _words(passage)) / len(query_words) if query_words else 0.0
    jitter = derived_unit(digest_texts((query, passage)), _RANKING_SALT)
    return round(-4.0 + 6.0 * overlap + 3.0 * jitter, 6)


def sigmoid(logit: float) -> float:
    """The logistic function; in (0, 1) for every finite logit in our range."""
    return 1.0 / (1.0 + math.exp(-logit))
