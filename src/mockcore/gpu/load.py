"""From the server's real traffic to the load the simulated GPUs run at.

The rule, in full:

1. `load_from_traffic` maps what the server is doing right now (requests in flight and tokens
   emitted per second, all workers together) to a load in [0, 1) that saturates:
   `1 - exp(-(in_flight / 16 + tokens_per_s / 2000))`. Sixteen concurrent streams, or 2000
   tokens/s, alone bring a GPU to 63% (one e-fold); a benchmark with a hundred concurrent
   streams pins it near 100%, and a single stream at 200 tokens/s shows about 15%. Both terms
   count because either one keeps a real inference GPU busy: prefill of many concurrent prompts,
   or a steady stream of decode steps.
2. `target_load` picks what the physics model is driven with: until the server has seen any
   traffic, the configured `--dcgm-initial-load` (so a freshly started mock looks like a GPU
   already at work); from the first request on, the traffic load alone, so the GPUs return to
   idle when the traffic stops.
"""

import math

REQUESTS_PER_E_FOLD = 16.0
TOKENS_PER_S_PER_E_FOLD = 2000.0


def _non_negative(value: float) -> float:
    """Treat NaN and negatives as nothing happening (a racy counter must not break a scrape)."""
    return 0.0 if math.isnan(value) else max(0.0, value)


def _unit_interval(value: float) -> float:
    """Clamp to [0, 1], with NaN as 0."""
    return min(1.0, _non_negative(value))


def load_from_traffic(
    in_flight_requests: float,
    tokens_per_s: float,
    *,
    requests_per_e_fold: float = REQUESTS_PER_E_FOLD,
    tokens_per_s_per_e_fold: float = TOKENS_PER_S_PER_E_FOLD,
) -> float:
    """The GPU load in [0, 1) that this much traffic causes (monotonic, saturating)."""
    if requests_per_e_fold <= 0.0 or tokens_per_s_per_e_fold <= 0.0:
        raise ValueError("the e-fold scales must be positive")
    pressure = (
        _non_negative(in_flight_requests) / requests_per_e_fold
        + _non_negative(tokens_per_s) / tokens_per_s_per_e_fold
    )
    return -math.expm1(-pressure)


def target_load(initial_load: float, traffic_load: float, *, traffic_seen: bool) -> float:
    """The load to drive the physics with: the initial load until traffic, then the traffic."""
    return _unit_interval(traffic_load if traffic_seen else initial_load)
