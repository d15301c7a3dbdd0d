"""Embedding and ranking maths: pure functions of the input text.

Vectors are made of float32 values so that the `float` and `base64` encodings of a response
carry exactly the same numbers.
"""

import math
import re
import sys
from array import array
from collections.abc import Callable
from operator import itemgetter

from mockcore.digest import derived_bytes, derived_unit, digest_texts

EMBEDDING_DIMENSIONS = 768
_EMBEDDING_SALT = b"embedding"
_RANKING_SALT = b"ranking"
_WORD = re.compile(r"\w+")
_ANGLE_STEPS = 1 << 16
_PAIRS = EMBEDDING_DIMENSIONS // 2


def _scaled_table(function: Callable[[float], float], scale: float) -> tuple[float, ...]:
    """`scale * function(angle)` at every 16-bit angle, rounded to float32."""
    angles = (2.0 * math.pi * step / _ANGLE_STEPS for step in range(_ANGLE_STEPS))
    return tuple(array("f", [scale * function(angle) for angle in angles]))


# Component i of a full vector is r*cos(a_i) and component i + 384 is r*sin(a_i), with
# r = sqrt(2 / 768): each such pair has squared length 2/768, so the vector has unit length
# by construction and needs no normalising pass. The tables hold the float32 values.
_PAIR_RADIUS = math.sqrt(2.0 / EMBEDDING_DIMENSIONS)
_COSINES = _scaled_table(math.cos, _PAIR_RADIUS)
_SINES = _scaled_table(math.sin, _PAIR_RADIUS)


def embedding_vector(digest: bytes, dimensions: int = EMBEDDING_DIMENSIONS) -> tuple[float, ...]:
    """A unit vector drawn from `digest`; `dimensions` keeps a prefix and re-normalises.

    384 angles of 16 bits each (SHAKE-256 output) pick the components from the tables, so a
    text's vector never changes across versions of Python and costs no per-component
    arithmetic in the interpreter: this route carries benchmark load.
    """
    angles = array("H", derived_bytes(digest, _EMBEDDING_SALT, 2 * _PAIRS))
    if sys.byteorder != "little":
        angles.byteswap()
    pick = itemgetter(*angles)
    full: tuple[float, ...] = pick(_COSINES) + pick(_SINES)
    if dimensions == EMBEDDING_DIMENSIONS:
        return full
    return _renormalised_prefix(full, dimensions)


def _renormalised_prefix(full: tuple[float, ...], dimensions: int) -> tuple[float, ...]:
    prefix = full[:dimensions]
    norm = math.sqrt(math.fsum(component * component for component in prefix))
    if norm == 0.0:  # pragma: no cover - every table entry is non-zero; kept as a guard
        return (1.0,) + (0.0,) * (dimensions - 1)
    return tuple(array("f", [component / norm for component in prefix]))


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
