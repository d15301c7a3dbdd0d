"""Log-normal latency factors with mean 1 and a chosen coefficient of variation.

A factor exp(sigma z - sigma^2 / 2), z standard normal and sigma^2 = ln(1 + cv^2), has mean
exactly 1 and standard deviation cv: jitter spreads latencies without moving their mean, so
a benchmark's averages stay where the configured TTFT and ITL put them.
"""

import math
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
_MASK_64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_UNIT_SCALE = float(1 << 53)


def lognormal_sigma(cv: float) -> float:
    """The sigma of the underlying normal for a coefficient of variation `cv`."""
    return math.sqrt(math.log1p(cv * cv))


def lognormal_factor_from_unit(unit: float, cv: float) -> float:
    """The factor at quantile `unit` in (0, 1) (a hash draw, for one-off factors like TTFT)."""
    if cv == 0.0:
        return 1.0
    sigma = lognormal_sigma(cv)
    clamped = min(max(unit, 1e-12), 1.0 - 1e-12)
    return math.exp(sigma * _STANDARD_NORMAL.inv_cdf(clamped) - sigma * sigma / 2.0)


class LognormalFactors:
    """A reproducible sequence of factors from `seed` (one per ITL gap).

    The normals come from SplitMix64 through Box-Muller, spelled out here rather than taken
    from `random`, so the sequence is this code's alone: the same on every platform and
    Python version, and `mockcore` keeps no generator state outside the object.
    """

    __slots__ = ("_half_variance", "_sigma", "_spare", "_state")

    def __init__(self, seed: int, cv: float) -> None:
        self._sigma = lognormal_sigma(cv)
        self._half_variance = self._sigma * self._sigma / 2.0
        self._state = seed & _MASK_64
        self._spare: float | None = None

    def _unit(self) -> float:
        """SplitMix64's next output as a number in (0, 1]."""
        self._state = state = (self._state + _GOLDEN_GAMMA) & _MASK_64
        mixed = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK_64
        mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _MASK_64
        mixed ^= mixed >> 31
        return ((mixed >> 11) + 1) / _UNIT_SCALE

    def _normal(self) -> float:
        """A standard normal; Box-Muller gives two per pair of units, the second is kept."""
        spare = self._spare
        if spare is not None:
            self._spare = None
            return spare
        radius = math.sqrt(-2.0 * math.log(self._unit()))
        angle = 2.0 * math.pi * self._unit()
        self._spare = radius * math.sin(angle)
        return radius * math.cos(angle)

    def next(self) -> float:
        """The next factor."""
        return math.exp(self._sigma * self._normal() - self._half_variance)
