"""This worker's metric cells: written on the request path, published for the scrapes.

Updates go to plain Python lists (an add to a list item costs a third of one through a
memoryview). A finished request is only queued (`request_finished` appends one tuple); `publish`
folds the queue into the cells, where requests alike in their sizes share one set of adds
(a benchmark's requests mostly are: s1's 16-token answers add their token counts once per
publication, not once per request), then copies the cells into this worker's block
(`mockcore.metrics.store`):
a bytearray when the server is one process, this worker's part of the shared state file when
there are several. A worker publishes at most `PUBLISH_INTERVAL_S` after an update (a timer
on its event loop), and before it answers a scrape itself, so another worker's scrape sees
this worker's counts at most that late. The block only ever grows between publications, so
counters never go backwards. Each worker writes only its own block: nothing takes a lock.
"""

import asyncio
from array import array
from bisect import bisect_left, bisect_right

import msgspec

from mockcore.faults import FaultKind
from mockcore.metrics import (
    LAYOUT,
    MetricsLayout,
    RequestOutcome,
    sized_key,
    sized_observations,
    timed_observations,
)
from mockcore.metrics.outcome import answer_outcome, finish_of
from mockcore.plan import GenerationPlan, ResponsePlan

PUBLISH_INTERVAL_S = 0.05
_ENGINE_TIME_QUANTITIES = ("engine_queue_s", "engine_prefill_s", "engine_inference_s")
_KNOWN_SHAPES = 4096  # requests of one benchmark are mostly alike in their sizes

# What a request of a known shape adds: (counter cell, increment) and (sum cell, increment).
_Adds = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, float], ...]]


class _AnswerTimes:
    """One shape's non-streamed answers: each one's end, and its schedule's TTFT and ITL (ms)."""

    __slots__ = ("ends", "itls", "ttfts")

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.ttfts: list[float] = []
        self.itls: list[float] = []


class RequestFacts(msgspec.Struct, frozen=True, gc=False):
    """What the metrics need of an answered request beyond its outcome: streaming, size.

    `ok_cell` is the counter cell of its 200 answer (`MetricsLayout.request_cell`), which the
    endpoint looks up once, not per request. A Struct: made once per request, in C.
    """

    stream: bool
    body_bytes: int
    ok_cell: int


class MetricsRecorder:
    """Adds what one request did to this worker's cells, and publishes them to its block."""

    __slots__ = (
        "_block_counts",
        "_block_gauges",
        "_block_sums",
        "_counts",
        "_disconnects_cell",
        "_finished_cells",
        "_gauges",
        "_generation_tokens_cell",
        "_histogram_cells",
        "_itl_bounds",
        "_itl_start",
        "_itl_sum",
        "_itl_zero_cell",
        "_kv_gauge",
        "_layout",
        "_open_streams_gauge",
        "_pending",
        "_pending_answers",
        "_pending_engine_times",
        "_prompt_tokens_cell",
        "_publish_pending",
        "_request_bytes_cell",
        "_response_bytes_cell",
        "_running_gauge",
        "_sized_adds",
        "_sums",
    )

    def __init__(self, block: memoryview, layout: MetricsLayout = LAYOUT) -> None:
        if len(block) != layout.block_bytes:
            msg = f"a metrics block is {layout.block_bytes} bytes, not {len(block)}"
            raise ValueError(msg)
        self._layout = layout
        self._block_counts = block[: layout.counts_end].cast("Q")
        self._block_sums = block[layout.counts_end : layout.sums_end].cast("d")
        self._block_gauges = block[layout.sums_end :].cast("q")
        # A worker respawned into a dead worker's slot carries on from its counts; the dead
        # worker's requests in flight died with it, so the gauges start at 0.
        self._counts = self._block_counts.tolist()
        self._sums = [float(value) for value in self._block_sums.tolist()]
        self._gauges = [0] * len(self._block_gauges)
        self._publish_pending = False
        # Per quantity: first bucket cell, bounds, sum cell.
        self._histogram_cells: dict[str, tuple[int, tuple[float, ...], int]] = dict(layout.histogram_cells)
        self._itl_start = layout.bucket_start["itl_s"]
        self._itl_bounds = layout.bounds["itl_s"]
        self._itl_zero_cell = layout.bucket_cell("itl_s", 0.0)
        self._itl_sum = layout.sum_index["itl_s"]
        counter_cell = layout.counter_cell
        self._prompt_tokens_cell = counter_cell["prompt_tokens"]
        self._generation_tokens_cell = counter_cell["generation_tokens"]
        self._disconnects_cell = counter_cell["client_disconnects"]
        self._request_bytes_cell = counter_cell["request_bytes"]
        self._response_bytes_cell = counter_cell["response_bytes"]
        self._finished_cells = layout.finished_cell
        self._running_gauge = layout.gauge_index["running"]
        self._kv_gauge = layout.gauge_index["kv_tokens"]
        self._open_streams_gauge = layout.gauge_index["open_streams"]
        self._sized_adds: dict[tuple[object, ...], _Adds] = {}
        self._pending: list[tuple[RequestOutcome, RequestFacts, int, int]] = []
        self._pending_answers: list[tuple[ResponsePlan, float, bool, RequestFacts, int, int]] = []
        self._pending_engine_times: list[tuple[float, float, float]] = []
        self.publish()

    def publish(self) -> None:
        """Fold the finished requests into the cells and copy them into the block."""
        self._publish_pending = False
        if self._pending_answers:
            self._fold_answers()
        if self._pending:
            self._fold_pending()
        if self._pending_engine_times:
            self._fold_engine_times()
        self._block_counts[:] = array("Q", self._counts)
        self._block_sums[:] = array("d", self._sums)
        self._block_gauges[:] = array("q", self._gauges)

    def _changed(self) -> None:
        """Publish soon: on a timer of the running loop, or at once outside one."""
        if self._publish_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.publish()
            return
        self._publish_pending = True
        loop.call_later(PUBLISH_INTERVAL_S, self.publish)

    def release(self) -> None:
        """Publish, then let go of the block (a memory map cannot close while views of it exist)."""
        self.publish()
        self._block_counts.release()
        self._block_sums.release()
        self._block_gauges.release()

    # -- what every response adds ------------------------------------------------------------

    def answered(
        self, route: str, stream: bool, status: int, request_bytes: int, response_bytes: int
    ) -> None:
        """Count one answer of `route` with `status`, and the bytes it took and gave."""
        counts = self._counts
        counts[self._layout.request_cell(route, stream, status)] += 1
        counts[self._request_bytes_cell] += request_bytes
        counts[self._response_bytes_cell] += response_bytes
        self._changed()

    def fault_injected(self, kind: FaultKind) -> None:
        """Count one injected fault."""
        self._counts[self._layout.fault_cell[kind]] += 1
        self._changed()

    # -- a request's life --------------------------------------------------------------------

    def request_started(self, kv_tokens: int, stream: bool) -> None:
        """A request is running and holds `kv_tokens` of KV cache until it finishes."""
        gauges = self._gauges
        gauges[self._running_gauge] += 1
        gauges[self._kv_gauge] += kv_tokens
        if stream:
            gauges[self._open_streams_gauge] += 1
        if not self._publish_pending:
            self._changed()

    def request_finished(
        self,
        outcome: RequestOutcome,
        kv_tokens: int,
        answer: RequestFacts,
        response_bytes: int,
    ) -> None:
        """A request ended (answered 200): queued, its gauges and counters change at the fold.

        The block only changes at a publication, which folds the queue first, so a scrape never
        sees a request's start without its end once it has ended.
        """
        self._pending.append((outcome, answer, kv_tokens, response_bytes))
        if not self._publish_pending:
            self._changed()

    def engine_times(self, queue_s: float, prefill_s: float, inference_s: float) -> None:
        """What the engine measured of one generation: waiting, admitted to first and to last token.

        Queued like a finished request; the fold sorts each quantity's values once.
        """
        self._pending_engine_times.append((queue_s, prefill_s, inference_s))
        if not self._publish_pending:
            self._changed()

    def _fold_engine_times(self) -> None:
        """Add the queued engine times: each quantity's values sorted, a bisection per bucket bound."""
        queued = self._pending_engine_times
        self._pending_engine_times = []
        columns = zip(*queued, strict=True)  # the queue times, the prefill times, the inference times
        for quantity, values in zip(_ENGINE_TIME_QUANTITIES, columns, strict=True):
            self._add_sorted(quantity, sorted(values))

    def answer_finished(  # noqa: PLR0917 - what a non-streamed answer leaves behind
        self,
        plan: ResponsePlan,
        end_s: float,
        answered: bool,
        kv_tokens: int,
        answer: RequestFacts,
        response_bytes: int,
    ) -> None:
        """A non-streamed answer ended `end_s` after arrival; queued like `request_finished`.

        Its outcome (`answer_outcome`) is worked out at the fold, not on the request path.
        """
        self._pending_answers.append((plan, end_s, answered, answer, kv_tokens, response_bytes))
        if not self._publish_pending:
            self._changed()

    def _fold_answers(self) -> None:
        """Add the queued non-streamed answers: what `answer_outcome` gives, without building it.

        A generation's answer observes its sizes once per shape (as `_fold_pending` does) and
        four times: end to end, TTFT (the schedule's, unless the answer came sooner), the rest
        of the answer time, and the schedule's ITL once per further token. Those are counted
        per shape from its answers' times, sorted: a few bisections per bucket bound instead
        of Python work per answer. The schedule is one per shape with constant TTFT/ITL; with
        the engine every answer has its own, so the times travel with each answer rather than
        in the shape. Other answers (embeddings, ranking) join the queue of outcomes.
        Equal to folding `answer_outcome` of each: tests/metrics/test_recorder_fold.py.
        """
        answers = self._pending_answers
        self._pending_answers = []
        # Per shape: its answers' (end, schedule's TTFT, schedule's ITL), and one of its answers.
        shapes: dict[tuple[object, ...], tuple[_AnswerTimes, tuple[GenerationPlan, float, bool, int]]] = {}
        request_bytes = response_bytes = kv_tokens = folded = 0
        for plan, end_s, answered, facts, request_kv_tokens, sent_bytes in answers:
            if type(plan) is not GenerationPlan:
                outcome = answer_outcome(plan, end_s, answered=answered)
                self._pending.append((outcome, facts, request_kv_tokens, sent_bytes))
                continue
            folded += 1
            request_bytes += facts.body_bytes
            response_bytes += sent_bytes
            kv_tokens += request_kv_tokens
            schedule = plan.schedule
            usage = plan.usage
            choices = plan.choices
            if not answered:
                finish = "abort"
            elif len(choices) == 1:  # what `finish_of` reads of the one choice most answers have
                finish = choices[0].finish_reason
            else:
                finish = finish_of(plan)
            key = (
                usage.prompt_tokens,
                usage.completion_tokens if answered else 0,
                plan.max_tokens,
                finish,
                facts.ok_cell,
            )
            shape = shapes.get(key)
            if shape is None:
                times = _AnswerTimes()
                shapes[key] = (times, (plan, end_s, answered, facts.ok_cell))
            else:
                times = shape[0]
            times.ends.append(end_s)
            times.ttfts.append(schedule.ttft_ms)
            times.itls.append(schedule.itl_ms)
        counts = self._counts
        counts[self._request_bytes_cell] += request_bytes
        counts[self._response_bytes_cell] += response_bytes
        gauges = self._gauges
        gauges[self._running_gauge] -= folded
        gauges[self._kv_gauge] -= kv_tokens
        for times, (plan, end_s, answered, ok_cell) in shapes.values():
            # The sizes without the ITL (None: it is added below, per answer).
            example = answer_outcome(plan, end_s, answered=answered)
            example = msgspec.structs.replace(example, uniform_itl_s=None)
            self._add_sized(example, ok_cell, len(times.ends))
            if example.first_token_s is None:  # no token reached the client
                self._add_sorted("e2e_s", sorted(times.ends))
                continue
            self._add_answer_times(times, example.completion_tokens - 1)

    def _add_answer_times(self, times: _AnswerTimes, further_tokens: int) -> None:
        """One shape's answers that sent tokens: end to end, TTFT, the rest, the ITL."""
        ends, ttfts_ms, itls_ms = times.ends, times.ttfts, times.itls
        if min(ttfts_ms) == max(ttfts_ms):
            # One schedule for all (constant TTFT): the split at the TTFT is one bisection.
            ends.sort()
            self._add_sorted("e2e_s", ends)
            ttft_s = ttfts_ms[0] / 1000.0
            early = bisect_left(ends, ttft_s)  # sent before the first token was due: TTFT = e2e
            self._add_sorted("ttft_s", ends[:early])
            self._add_repeated("ttft_s", ttft_s, len(ends) - early)
            self._add_repeated("decode_s", 0.0, early)
            self._add_sorted("decode_s", [answer_s - ttft_s for answer_s in ends[early:]])
        else:
            firsts = [min(ttft_ms / 1000.0, end_s) for ttft_ms, end_s in zip(ttfts_ms, ends, strict=True)]
            decodes = [end_s - first_s for end_s, first_s in zip(ends, firsts, strict=True)]
            self._add_sorted("e2e_s", sorted(ends))
            self._add_sorted("ttft_s", sorted(firsts))
            self._add_sorted("decode_s", sorted(decodes))
        if further_tokens > 0:
            if min(itls_ms) == max(itls_ms):
                self._add_repeated("itl_s", itls_ms[0] / 1000.0, further_tokens * len(itls_ms))
            else:
                self._add_sorted("itl_s", sorted(itl_ms / 1000.0 for itl_ms in itls_ms), further_tokens)

    def _add_sorted(self, quantity: str, values: list[float], times: int = 1) -> None:
        """Observe each of `values` (ascending) `times` times: a bisection per bucket, not per value."""
        if not values:
            return
        start, bounds, sum_cell = self._histogram_cells[quantity]
        counts = self._counts
        total = len(values)
        below = 0  # values in the buckets before this one
        for index, bound in enumerate(bounds):
            upto = bisect_right(values, bound, below)
            counts[start + index] += (upto - below) * times
            below = upto
            if below == total:
                break
        else:
            counts[start + len(bounds)] += (total - below) * times
        self._sums[sum_cell] += sum(values) * times

    def _add_repeated(self, quantity: str, value: float, times: int) -> None:
        """Observe `value` `times` times."""
        if times:
            start, bounds, sum_cell = self._histogram_cells[quantity]
            self._counts[start + bisect_left(bounds, value)] += times
            self._sums[sum_cell] += value * times

    def _add_sized(self, outcome: RequestOutcome, ok_cell: int, requests: int) -> None:
        """Add the sizes of `requests` requests shaped like `outcome` (remembered per shape)."""
        key = (*sized_key(outcome), outcome.finish_reason, ok_cell)
        adds = self._sized_adds.get(key)
        if adds is None:
            adds = self._adds_of_shape(outcome, ok_cell)
            if len(self._sized_adds) < _KNOWN_SHAPES:
                self._sized_adds[key] = adds
        counts = self._counts
        sums = self._sums
        count_adds, sum_adds = adds
        for count_cell, increment in count_adds:
            counts[count_cell] += increment * requests
        for sum_cell, amount in sum_adds:
            sums[sum_cell] += amount * requests

    def _fold_pending(self) -> None:
        """Add the queued requests to the cells: sizes once per shape, times one by one."""
        pending = self._pending
        self._pending = []
        counts = self._counts
        sums = self._sums
        cells = self._histogram_cells
        examples: dict[tuple[object, ...], tuple[RequestOutcome, int]] = {}
        alike: dict[tuple[object, ...], int] = {}
        request_bytes = response_bytes = kv_tokens = streams = 0
        for outcome, answer, request_kv_tokens, sent_bytes in pending:
            ok_cell = answer.ok_cell
            key = (*sized_key(outcome), outcome.finish_reason, ok_cell)
            seen = alike.get(key)
            if seen is None:
                examples[key] = (outcome, ok_cell)
                alike[key] = 1
            else:
                alike[key] = seen + 1
            request_bytes += answer.body_bytes
            response_bytes += sent_bytes
            kv_tokens += request_kv_tokens
            streams += answer.stream
            for quantity, value, times in timed_observations(outcome):
                # Measured times rarely repeat: a bisection of a few dozen bounds is cheaper
                # than a memo that mostly misses.
                start, bounds, sum_cell = cells[quantity]
                counts[start + bisect_left(bounds, value)] += times
                sums[sum_cell] += value * times
        counts[self._request_bytes_cell] += request_bytes
        counts[self._response_bytes_cell] += response_bytes
        gauges = self._gauges
        gauges[self._running_gauge] -= len(pending)
        gauges[self._kv_gauge] -= kv_tokens
        gauges[self._open_streams_gauge] -= streams
        for key, requests in alike.items():
            self._add_sized(*examples[key], requests)

    def _adds_of_shape(self, outcome: RequestOutcome, ok_cell: int) -> _Adds:
        """The counter and sum increments of a request, all but its measured times and bytes."""
        count_adds = [
            (self._prompt_tokens_cell, outcome.prompt_tokens),
            (self._generation_tokens_cell, outcome.completion_tokens),
            (self._finished_cells[outcome.finish_reason], 1),
            (ok_cell, 1),
        ]
        if outcome.finish_reason == "abort":
            count_adds.append((self._disconnects_cell, 1))
        sum_adds = []
        for quantity, value, times in sized_observations(outcome):
            start, bounds, sum_cell = self._histogram_cells[quantity]
            count_adds.append((start + bisect_left(bounds, value), times))
            sum_adds.append((sum_cell, value * times))
        return tuple(count_adds), tuple(sum_adds)

    def observe_gap(self, gap_s: float, frames: int) -> None:
        """A streamed write of `frames` tokens, the first `gap_s` after the previous write."""
        counts = self._counts
        counts[self._itl_start + bisect_left(self._itl_bounds, gap_s)] += 1
        if frames > 1:
            counts[self._itl_zero_cell] += frames - 1
        self._sums[self._itl_sum] += gap_s
        self._changed()
