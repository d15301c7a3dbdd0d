"""The one store every metrics format renders from: a fixed block of cells per worker.

Each worker owns one block and is its only writer; a scrape sums the blocks of every worker
that ever ran (a dead worker's counts stay, and a respawned worker adds to the same block),
and takes gauges from live workers only. So counters never go backwards, whichever worker
answers the scrape and however many there are.

A block is three arrays of 8-byte cells, native byte order:
    counts  (unsigned)  counters, then the buckets of every histogram (not cumulative)
    sums    (double)    one per histogram
    gauges  (signed)    one per gauge
Histograms are kept with the union of every format's bucket bounds for that quantity, so each
format's own (coarser) buckets are exact sums of ours.
"""

import bisect
import struct
from collections.abc import Iterable, Sequence

import msgspec

from mockcore.faults import FAULT_KINDS
from mockcore.metrics.buckets import (
    QUANTITY_BOUNDS,
    QUEUE_BOUNDS,
    VLLM_ITERATION_TOKENS,
    VLLM_REQUEST_LATENCY_S,
)
from mockcore.metrics.exposition import HistogramValue
from mockcore.metrics.families import rebucket

# Metrics count requests by these routes; `/generate_stream` counts as `generate`, SageMaker as `chat`.
ROUTES: tuple[str, ...] = (
    "chat",
    "completions",
    "embeddings",
    "ranking",
    "responses",
    "messages",
    "generate",
)
# Statuses counted by their own cell; any other status counts under 0.
STATUSES: tuple[int, ...] = (200, 400, 401, 404, 405, 413, 422, 429, 500, 503)
FINISH_REASONS: tuple[str, ...] = ("stop", "length", "abort")
GAUGES: tuple[str, ...] = ("running", "waiting", "kv_tokens", "open_streams")
COUNTERS: tuple[str, ...] = (
    "prompt_tokens",
    "generation_tokens",
    "client_disconnects",
    "request_bytes",
    "response_bytes",
    "preemptions",
    "prefix_cache_hits",
)
CELL_BYTES = 8
RequestKey = tuple[str, bool, int]


class MetricsLayout:
    """Where each cell of a block lives. One instance, built at import: `LAYOUT`."""

    def __init__(self) -> None:
        cell = 0

        def take(count: int) -> range:
            nonlocal cell
            cells = range(cell, cell + count)
            cell += count
            return cells

        self.counter_cell = dict(zip(COUNTERS, take(len(COUNTERS)), strict=True))
        self.finished_cell = dict(zip(FINISH_REASONS, take(len(FINISH_REASONS)), strict=True))
        self.fault_cell = dict(zip(FAULT_KINDS, take(len(FAULT_KINDS)), strict=True))
        request_keys = [
            (route, stream, status)
            for route in ROUTES
            for stream in (False, True)
            for status in (*STATUSES, 0)
        ]
        self.request_cells: dict[RequestKey, int] = dict(
            zip(request_keys, take(len(request_keys)), strict=True)
        )
        self.quantities = tuple(QUANTITY_BOUNDS)
        self.bounds = dict(QUANTITY_BOUNDS)
        # Bucket cells of a quantity: one per bound, then one above every bound (+Inf).
        self.bucket_start = {name: take(len(self.bounds[name]) + 1).start for name in self.quantities}
        self.count_cells = cell
        self.sum_index = {name: index for index, name in enumerate(self.quantities)}
        self.gauge_index = {name: index for index, name in enumerate(GAUGES)}
        # Per quantity: (first bucket cell, bounds, sum cell), for the hot path in one lookup.
        self.histogram_cells = {
            name: (self.bucket_start[name], self.bounds[name], self.sum_index[name])
            for name in self.quantities
        }
        self.counts_end = self.count_cells * CELL_BYTES
        self.sums_end = self.counts_end + len(self.quantities) * CELL_BYTES
        self.block_bytes = self.sums_end + len(GAUGES) * CELL_BYTES

    def request_cell(self, route: str, stream: bool, status: int) -> int:
        """The counter cell of one (route, streamed or not, status) combination."""
        return self.request_cells[(route, stream, status if status in STATUSES else 0)]

    def bucket_cell(self, quantity: str, value: float) -> int:
        """The bucket cell an observation of `value` falls in (`le` semantics)."""
        return self.bucket_start[quantity] + bisect.bisect_left(self.bounds[quantity], value)


LAYOUT = MetricsLayout()


class RequestCount(msgspec.Struct, frozen=True, gc=False):
    """How many requests one route answered with one status."""

    route: str
    stream: bool
    status: int
    count: int


class MetricsSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Every worker's block summed: what all formats render from."""

    counters: dict[str, int]
    finished: dict[str, int]
    faults: dict[str, int]
    requests: tuple[RequestCount, ...]
    histograms: dict[str, HistogramValue]
    gauges: dict[str, int]


def _unpack(block: bytes | memoryview, fmt: str, start: int, end: int) -> tuple[float, ...]:
    count = (end - start) // CELL_BYTES
    values: tuple[float, ...] = struct.unpack_from(f"={count}{fmt}", block, start)
    return values


def aggregate(
    blocks: Iterable[tuple[bytes | memoryview, bool]], layout: MetricsLayout = LAYOUT
) -> MetricsSnapshot:
    """Sum `(block, live)` pairs: counters and histograms over all, gauges over live ones."""
    counts = [0] * layout.count_cells
    sums = [0.0] * len(layout.quantities)
    gauges = [0] * len(GAUGES)
    for block, live in blocks:
        block_counts = _unpack(block, "Q", 0, layout.counts_end)
        counts = [total + int(value) for total, value in zip(counts, block_counts, strict=True)]
        block_sums = _unpack(block, "d", layout.counts_end, layout.sums_end)
        sums = [total + value for total, value in zip(sums, block_sums, strict=True)]
        if live:
            block_gauges = _unpack(block, "q", layout.sums_end, layout.block_bytes)
            gauges = [total + int(value) for total, value in zip(gauges, block_gauges, strict=True)]
    return _snapshot(counts, sums, gauges, layout)


def _snapshot(
    counts: Sequence[int], sums: Sequence[float], gauges: Sequence[int], layout: MetricsLayout
) -> MetricsSnapshot:
    histograms = {}
    for name in layout.quantities:
        start = layout.bucket_start[name]
        bounds = layout.bounds[name]
        histograms[name] = HistogramValue(
            bounds=bounds,
            bucket_counts=tuple(counts[start : start + len(bounds) + 1]),
            total=sums[layout.sum_index[name]],
        )
    counters = {name: counts[cell] for name, cell in layout.counter_cell.items()}
    # No prefix cache yet: every prompt token is looked up in it.
    counters["prefix_cache_queries"] = counters["prompt_tokens"]
    return MetricsSnapshot(
        counters=counters,
        finished={reason: counts[cell] for reason, cell in layout.finished_cell.items()},
        faults={kind: counts[cell] for kind, cell in layout.fault_cell.items()},
        requests=tuple(
            RequestCount(route, stream, status, counts[cell])
            for (route, stream, status), cell in layout.request_cells.items()
        ),
        histograms={**histograms, **derived_histograms(histograms)},
        gauges={name: max(0, gauges[index]) for index, name in enumerate(GAUGES)},
    )


def derived_histograms(measured: dict[str, HistogramValue]) -> dict[str, HistogramValue]:
    """What follows from the measured histograms (see `_without_engine`), or what the engine measured.

    With `--engine` every generation's queue, prefill and inference times are observed by the
    engine; requests outside it (embeddings, ranking) never wait, and count in the queue
    histogram's first bucket.
    """
    derived = _without_engine(measured)
    engine_queue = measured.get("engine_queue_s")
    if engine_queue is None or engine_queue.count == 0:
        return derived
    outside = measured["e2e_s"].count - engine_queue.count
    queue = rebucket(engine_queue, QUEUE_BOUNDS)
    derived["queue_s"] = HistogramValue(
        bounds=QUEUE_BOUNDS,
        bucket_counts=(queue.bucket_counts[0] + max(0, outside), *queue.bucket_counts[1:]),
        total=queue.total,
    )
    derived["prefill_s"] = measured["engine_prefill_s"]
    derived["inference_s"] = rebucket(measured["engine_inference_s"], VLLM_REQUEST_LATENCY_S)
    return derived


def _without_engine(measured: dict[str, HistogramValue]) -> dict[str, HistogramValue]:
    """What follows from the measured histograms while nothing ever waits for an engine.

    Queue time is 0 for every request; inference time (running, after the queue) is the e2e
    latency; prefill time is the TTFT; each request's prompt is one engine step and each
    generated token after the first another step of one token (a request that generated
    nothing has no decode step: the generation histogram's bucket at 0 counts those).
    """
    e2e = measured["e2e_s"]
    prompt = rebucket(measured["prompt_tokens"], VLLM_ITERATION_TOKENS)
    generation = measured["generation_tokens"]
    generated_none = generation.bucket_counts[0] if generation.bounds[0] == 0.0 else 0
    decode_steps = int(generation.total) - (generation.count - generated_none)
    iteration_counts = list(prompt.bucket_counts)
    iteration_counts[0] += decode_steps  # a step of one token: the first bound is 1
    return {
        "queue_s": HistogramValue(
            bounds=QUEUE_BOUNDS,
            bucket_counts=(e2e.count,) + (0,) * len(QUEUE_BOUNDS),
            total=0.0,
        ),
        "inference_s": rebucket(e2e, VLLM_REQUEST_LATENCY_S),
        "prefill_s": measured["ttft_s"],
        "iteration_tokens": HistogramValue(
            bounds=VLLM_ITERATION_TOKENS,
            bucket_counts=tuple(iteration_counts),
            total=prompt.total + decode_steps,
        ),
    }
