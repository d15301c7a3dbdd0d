"""This worker's metric cells: written on the request path, summed by a scrape.

The cells are a memoryview over this worker's block (`mockcore.metrics.store`): a bytearray
when the server is one process, this worker's part of the shared state file when there are
several. Each worker writes only its own block, so nothing here takes a lock, and an update
is an index and an add: this runs for every request and every streamed write.
"""

from bisect import bisect_left

from mockcore.metrics import LAYOUT, MetricsLayout, RequestOutcome, observations

# Stand-ins for the fault kinds until there are several.
INJECTED_FAULT_KIND = "server_error"


class MetricsRecorder:
    """Adds what one request did to this worker's block."""

    __slots__ = (
        "_counts",
        "_gauges",
        "_itl_bounds",
        "_itl_start",
        "_itl_sum",
        "_itl_zero_cell",
        "_kv_gauge",
        "_layout",
        "_open_streams_gauge",
        "_running_gauge",
        "_sums",
    )

    def __init__(self, block: memoryview, layout: MetricsLayout = LAYOUT) -> None:
        if len(block) != layout.block_bytes:
            msg = f"a metrics block is {layout.block_bytes} bytes, not {len(block)}"
            raise ValueError(msg)
        self._layout = layout
        self._counts = block[: layout.counts_end].cast("Q")
        self._sums = block[layout.counts_end : layout.sums_end].cast("d")
        self._gauges = block[layout.sums_end :].cast("q")
        self._itl_start = layout.bucket_start["itl_s"]
        self._itl_bounds = layout.bounds["itl_s"]
        self._itl_zero_cell = layout.bucket_cell("itl_s", 0.0)
        self._itl_sum = layout.sum_index["itl_s"]
        self._running_gauge = layout.gauge_index["running"]
        self._kv_gauge = layout.gauge_index["kv_tokens"]
        self._open_streams_gauge = layout.gauge_index["open_streams"]

    def release(self) -> None:
        """Let go of the block (a memory map cannot be closed while views of it exist)."""
        self._counts.release()
        self._sums.release()
        self._gauges.release()

    # -- what every response adds ------------------------------------------------------------

    def answered(
        self, route: str, stream: bool, status: int, request_bytes: int, response_bytes: int
    ) -> None:
        """Count one answer of `route` with `status`, and the bytes it took and gave."""
        counts = self._counts
        layout = self._layout
        counts[layout.request_cell(route, stream, status)] += 1
        counts[layout.counter_cell["request_bytes"]] += request_bytes
        counts[layout.counter_cell["response_bytes"]] += response_bytes

    def fault_injected(self, kind: str = INJECTED_FAULT_KIND) -> None:
        """Count one injected fault."""
        self._counts[self._layout.fault_cell[kind]] += 1

    # -- a request's life --------------------------------------------------------------------

    def request_started(self, kv_tokens: int, stream: bool) -> None:
        """A request is running and holds `kv_tokens` of KV cache until it finishes."""
        gauges = self._gauges
        gauges[self._running_gauge] += 1
        gauges[self._kv_gauge] += kv_tokens
        if stream:
            gauges[self._open_streams_gauge] += 1

    def request_finished(self, outcome: RequestOutcome, kv_tokens: int, stream: bool) -> None:
        """A request ended: its gauges go down, its counters and observations go in."""
        gauges = self._gauges
        gauges[self._running_gauge] -= 1
        gauges[self._kv_gauge] -= kv_tokens
        if stream:
            gauges[self._open_streams_gauge] -= 1
        counts = self._counts
        layout = self._layout
        counter_cell = layout.counter_cell
        counts[counter_cell["prompt_tokens"]] += outcome.prompt_tokens
        counts[counter_cell["prefix_cache_queries"]] += outcome.prompt_tokens
        counts[counter_cell["generation_tokens"]] += outcome.completion_tokens
        counts[layout.finished_cell[outcome.finish_reason]] += 1
        if outcome.finish_reason == "abort":
            counts[counter_cell["client_disconnects"]] += 1
        sums = self._sums
        cells = layout.histogram_cells
        for quantity, value, times in observations(outcome):
            start, bounds, sum_cell = cells[quantity]
            counts[start + bisect_left(bounds, value)] += times
            sums[sum_cell] += value * times

    def observe_gap(self, gap_s: float, frames: int) -> None:
        """A streamed write of `frames` tokens, the first `gap_s` after the previous write."""
        counts = self._counts
        counts[self._itl_start + bisect_left(self._itl_bounds, gap_s)] += 1
        if frames > 1:
            counts[self._itl_zero_cell] += frames - 1
        self._sums[self._itl_sum] += gap_s
