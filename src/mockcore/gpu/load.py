"""From the server's real traffic to the load the simulated GPUs run at.

The rule, in full:

1. `windowed_throughput` measures the tokens per second the whole server emitted over the last
   `--dcgm-window-sec` seconds (as finely as the scrapes sampled it: a rate is never measured
   over less than the time between two scrapes).
2. `load_from_traffic` is the reference server's auto-load, kept, plus one term: the
   throughput divided by the highest throughput seen so far, never by less than
   `--dcgm-min-throughput` tokens/s (so a trickle at start-up does not read as full load),
   or, when it is higher, `1 - exp(-in_flight / 16)`: requests in flight keep a GPU busy while
   they prefill, before any token comes out. Sixteen concurrent requests alone bring a GPU
   to 63%.
3. `target_load` picks what the physics model is driven with: until the server has seen any
   traffic, the configured `--dcgm-initial-load` (so a freshly started mock looks like a GPU
   already at work); from the first request on, the traffic load alone, so the GPUs return to
   idle when the traffic stops. With `--no-dcgm-auto-load` the initial load holds throughout.

With `--engine` the engine knows how busy the GPU is, so steps 1 and 2 give way to
`busy_fraction`: the share of the last `--dcgm-window-sec` seconds the engine spent running
steps (its cumulative busy time measured like the tokens, in whole microseconds), which is
what DCGM_FI_DEV_GPU_UTIL means: the time a kernel was running. Step 3 is kept as it is.
`engine_utilisation` measures, over the same window, the shares of peak FLOP/s and of peak
bandwidth the engine's steps achieved (its FLOPs and bytes as seconds of work at peak, sampled
like the busy time); when the traffic drives the GPUs (`follows_traffic`), those drive power
and the tensor and DRAM activity (`mockcore.gpu.physics.engine_demand_ratio`).
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

from mockcore.gpu.physics import GpuWork

REQUESTS_PER_E_FOLD = 16.0
DEFAULT_MIN_THROUGHPUT = 100.0
# Samples kept for the window; more scrapes than this within one window are thinned.
MAX_WINDOW_SAMPLES = 64

TokenSample = tuple[float, int]
# Busy time is sampled as a count of whole microseconds, so it shares the token window's samples.
US_PER_S = 1_000_000


class EngineWork(NamedTuple):
    """The engine's cumulative work: seconds busy, and seconds its FLOPs and its bytes take at peak."""

    busy_s: float
    compute_s: float
    bandwidth_s: float


class EngineUtilisation(NamedTuple):
    """Shares of the window: time busy (GPU_UTIL), and the work achieved against the GPUs' peaks."""

    busy: float
    work: GpuWork


# The windows' samples of busy, compute and bandwidth seconds, in that order.
EngineSamples = tuple[tuple[TokenSample, ...], tuple[TokenSample, ...], tuple[TokenSample, ...]]
NO_ENGINE_SAMPLES: EngineSamples = ((), (), ())


def _non_negative(value: float) -> float:
    """Treat NaN and negatives as nothing happening (a racy counter must not break a scrape)."""
    return 0.0 if math.isnan(value) else max(0.0, value)


def _unit_interval(value: float) -> float:
    """Clamp to [0, 1], with NaN as 0."""
    return min(1.0, _non_negative(value))


def windowed_throughput(
    samples: Sequence[TokenSample], now_s: float, tokens: int, window_s: float
) -> tuple[float, tuple[TokenSample, ...]]:
    """Tokens/s over the last `window_s` at `now_s`, and the samples to keep for the next call.

    `samples` are earlier (time, cumulative tokens) readings, oldest first. The rate runs from
    the newest sample at least `window_s` old (or the oldest, if none is that old) to now.
    """
    kept = [sample for sample in samples if sample[0] <= now_s]
    start = 0
    for index, (at_s, _) in enumerate(kept):
        if at_s <= now_s - window_s:
            start = index
    kept = kept[start:]
    rate = 0.0
    if kept and now_s > kept[0][0]:
        rate = _non_negative((tokens - kept[0][1]) / (now_s - kept[0][0]))
    kept.append((now_s, tokens))
    if len(kept) > MAX_WINDOW_SAMPLES:
        kept = [kept[0], *kept[-(MAX_WINDOW_SAMPLES - 1) :]]
    return rate, tuple(kept)


def busy_fraction(
    samples: Sequence[TokenSample], now_s: float, busy_s: float, window_s: float
) -> tuple[float, tuple[TokenSample, ...]]:
    """The share of the last `window_s` the engine was busy, in [0, 1], and the samples to keep.

    `busy_s` is the engine's cumulative busy time; `samples` are earlier (time, busy
    microseconds) readings, as `windowed_throughput` keeps them. The engine counts a step as
    busy when it starts, so a window can hold a little of a step still running: the fraction
    is capped at 1.
    """
    busy_us = round(_non_negative(busy_s) * US_PER_S)
    rate_us_per_s, kept = windowed_throughput(samples, now_s, busy_us, window_s)
    return _unit_interval(rate_us_per_s / US_PER_S), kept


def engine_utilisation(
    samples: EngineSamples, now_s: float, work: EngineWork, window_s: float
) -> tuple[EngineUtilisation, EngineSamples]:
    """The engine's busy, compute and bandwidth shares of the last `window_s`, and the samples to keep.

    Each is `busy_fraction` of its own cumulative seconds. A reading below the last one kept
    (another worker stored a later reading than the stats this one read) counts as that one,
    so a counter never runs backwards.
    """
    shares: list[float] = []
    kept: list[tuple[TokenSample, ...]] = []
    for series, total_s in zip(samples, work, strict=True):
        latest_s = series[-1][1] / US_PER_S if series else 0.0
        share, series_kept = busy_fraction(series, now_s, max(_non_negative(total_s), latest_s), window_s)
        shares.append(share)
        kept.append(series_kept)
    busy, compute, bandwidth = shares
    utilisation = EngineUtilisation(busy, GpuWork(compute_util=compute, bandwidth_util=bandwidth))
    return utilisation, (kept[0], kept[1], kept[2])


def throughput_load(tokens_per_s: float, peak_tokens_per_s: float, min_throughput: float) -> float:
    """The reference auto-load: throughput over max(highest seen, minimum), in [0, 1]."""
    scale = max(_non_negative(peak_tokens_per_s), min_throughput)
    if scale <= 0.0:
        raise ValueError("the minimum throughput must be positive")
    return _unit_interval(_non_negative(tokens_per_s) / scale)


def load_from_traffic(
    in_flight_requests: float,
    tokens_per_s: float,
    *,
    peak_tokens_per_s: float = 0.0,
    min_throughput: float = DEFAULT_MIN_THROUGHPUT,
    requests_per_e_fold: float = REQUESTS_PER_E_FOLD,
) -> float:
    """The GPU load in [0, 1] that this much traffic causes (monotonic in requests and tokens)."""
    if requests_per_e_fold <= 0.0:
        raise ValueError("the e-fold scale must be positive")
    requests_load = -math.expm1(-_non_negative(in_flight_requests) / requests_per_e_fold)
    return max(requests_load, throughput_load(tokens_per_s, peak_tokens_per_s, min_throughput))


def follows_traffic(*, traffic_seen: bool, auto_load: bool = True) -> bool:
    """Whether the GPUs run at the traffic's load (or the engine's work) rather than the initial load."""
    return traffic_seen and auto_load


def target_load(
    initial_load: float, traffic_load: float, *, traffic_seen: bool, auto_load: bool = True
) -> float:
    """The load to drive the physics with: the initial load until traffic (or always), then the traffic."""
    follows = follows_traffic(traffic_seen=traffic_seen, auto_load=auto_load)
    return _unit_interval(traffic_load if follows else initial_load)
