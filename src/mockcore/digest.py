"""Stable content hashing: the one source of every derived number in the core.

Python's built-in `hash` is salted per process, so two workers (or a prediction made
offline) would disagree. BLAKE2b is stable everywhere; each derived quantity uses its own
personalisation string, so the values drawn from one digest are independent.
"""

import hashlib
from collections.abc import Iterable

_DIGEST_BYTES = 32
_UNIT_SCALE = float(1 << 64)


def digest_texts(texts: Iterable[str], *, person: bytes = b"mock-content") -> bytes:
    """Hash an ordered sequence of texts; length prefixes keep the framing unambiguous.

    `person` separates kinds of content that could spell the same texts.
    """
    hasher = hashlib.blake2b(digest_size=_DIGEST_BYTES, person=person)
    for text in texts:
        encoded = text.encode("utf-8", "surrogatepass")
        hasher.update(len(encoded).to_bytes(8, "little"))
        hasher.update(encoded)
    return hasher.digest()


def digest_fields(records: Iterable[tuple[str, str]]) -> bytes:
    """Hash ordered (key, text) records such as chat messages' (role, text)."""
    return digest_texts(item for record in records for item in record)


def digest_token_ids(token_ids: Iterable[int]) -> bytes:
    """Hash a token-id prompt, which has no text (never equal to the text "1,2,3")."""
    return digest_texts([",".join(str(token_id) for token_id in token_ids)], person=b"mock-token-ids")


def derived_u64(digest: bytes, salt: bytes) -> int:
    """A 64-bit integer drawn from `digest`, independent of draws with other salts."""
    derived = hashlib.blake2b(digest, digest_size=8, person=salt[:16]).digest()
    return int.from_bytes(derived, "little")


def derived_unit(digest: bytes, salt: bytes) -> float:
    """A number in [0, 1) drawn from `digest` with `salt`."""
    return derived_u64(digest, salt) / _UNIT_SCALE


def derived_bytes(digest: bytes, salt: bytes, size: int) -> bytes:
    """`size` pseudo-random bytes drawn from `digest` with `salt` (SHAKE-256, one call).

    The digest has a fixed length, so `digest + salt` frames the two unambiguously.
    """
    return hashlib.shake_256(digest + salt).digest(size)
