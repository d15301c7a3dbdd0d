"""`--fault-mix`: how the injected faults divide among the kinds.

`'rate_limit=3,server_error=1,abort=1'` makes three in five injected faults 429s, one a 500
and one a stream that dies midway. The weights are relative; `--error-rate` alone decides
how many requests fail.
"""

import math

import msgspec

from mockcore.faults.kinds import FAULT_KINDS, FaultKind

DEFAULT_FAULT_MIX = "server_error=1"


class FaultMix(msgspec.Struct, frozen=True, kw_only=True):
    """Kinds with positive weights, in the order given."""

    weights: tuple[tuple[FaultKind, float], ...]

    def pick(self, unit: float) -> FaultKind:
        """The kind a draw `unit` in [0, 1) falls on (each kind takes its share of [0, 1))."""
        total = sum(weight for _, weight in self.weights)
        point = unit * total
        for kind, weight in self.weights:
            if point < weight:
                return kind
            point -= weight
        return self.weights[-1][0]

    def as_text(self) -> str:
        """The mix written back as `kind=weight,...`."""
        return ",".join(f"{kind}={weight:g}" for kind, weight in self.weights)


def parse_fault_mix(text: str) -> FaultMix:
    """Parse `kind=weight,kind=weight`; raises ValueError naming what is wrong.

    Each kind at most once, weights finite and >= 0, at least one positive; kinds of weight
    0 are dropped.
    """
    weights: dict[FaultKind, float] = {}
    for part in text.split(","):
        name, separator, value = part.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ValueError(f"fault mix entry {part.strip()!r} is not kind=weight")
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {name!r} (kinds: {', '.join(FAULT_KINDS)})")
        if name in weights:
            raise ValueError(f"fault kind {name!r} is given twice")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight {value.strip()!r} of {name} is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {name} must be a finite number >= 0, not {value.strip()}")
        weights[name] = weight
    positive = tuple((kind, weight) for kind, weight in weights.items() if weight > 0)
    if not positive:
        raise ValueError("a fault mix needs at least one kind with a positive weight")
    return FaultMix(weights=positive)
