"""Reproducible noise: a hash of its coordinates, never a random generator.

Python's `hash()` is salted per process and `random` is global state; both would make two
workers, or two runs with the same `--dcgm-seed`, disagree. BLAKE2b of the coordinates gives the
same value in every interpreter.
"""

import hashlib

_UNIT_DENOMINATOR = float(1 << 64)


def _digest(seed: int, coordinates: tuple[object, ...], digest_size: int) -> bytes:
    key = "|".join((str(seed), *(str(part) for part in coordinates))).encode()
    return hashlib.blake2b(key, digest_size=digest_size).digest()


def seeded_fraction(seed: int, *coordinates: object) -> float:
    """A value in [0, 1) fixed by the seed and the coordinates."""
    return int.from_bytes(_digest(seed, coordinates, 8), "big") / _UNIT_DENOMINATOR


def seeded_signed_unit(seed: int, *coordinates: object) -> float:
    """A value in [-1, 1) fixed by the seed and the coordinates (zero-mean jitter)."""
    return 2.0 * seeded_fraction(seed, *coordinates) - 1.0


def seeded_hex(seed: int, *coordinates: object, digest_size: int) -> str:
    """Hex digits fixed by the seed and the coordinates (for identifiers such as UUIDs)."""
    return _digest(seed, coordinates, digest_size).hex()
