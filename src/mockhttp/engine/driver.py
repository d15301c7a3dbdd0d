"""Runs an engine against a real clock: each step starts when the previous one ends.

Steps are chained on the engine's virtual timeline (step k + 1 starts exactly when step k
ends), and an arrival joins the first step that starts at or after its arrival time. That is
the offline replay's rule, so a live run and the replay of its recorded arrivals agree step
for step; a driver that wakes late only delivers late, it never changes the timeline.
"""

import asyncio
import bisect
import math
from collections.abc import Callable

from mockcore.engine import Engine, EngineStats, Rejection, Sequence, StepResult, engine_stats
from mockhttp.engine.trace_log import TraceLog
from mockhttp.pacing import sleep_until


class EngineDriver:
    """The engine, its arrivals not yet handed over, and the task that steps it.

    `on_step` gets each step's result when the step ends (its tokens are due now: a stream
    writes them without a timer of its own), or, with `announce_at_start`, as soon as the step
    is computed (the engine process does, so that its socket's latency hides behind the step).
    `admission_grace_s`: how long past a step's start arrivals stamped before it may still come
    in and join it (the engine process waits for workers' admissions on their way). `trace`
    records every arrival offered, admitted or not (`--engine-trace`).
    """

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float],
        on_step: Callable[[StepResult], None],
        *,
        announce_at_start: bool = False,
        admission_grace_s: float = 0.0,
        trace: TraceLog | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._on_step = on_step
        self._announce_at_start = announce_at_start
        self._admission_grace_s = admission_grace_s
        self._trace = trace
        # Accepted arrivals not yet handed over, in arrival order (ties: in the order they came).
        self._pending: list[Sequence] = []
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(self, sequence: Sequence, arrival_s: float | None = None) -> Rejection | None:
        """Accept `sequence` for the first step that starts at or after its arrival, or refuse it.

        It arrives now on the clock, or at `arrival_s` when the caller stamped it earlier (a
        worker stamps its request when it admits it, so the socket's delay does not count);
        never later than now.
        """
        now = self._clock()
        sequence.arrival_s = now if arrival_s is None else min(arrival_s, now)
        if self._trace is not None:
            self._trace.record(sequence)
        rejection = self._engine.admission(sequence, queued_elsewhere=len(self._pending))
        if rejection is not None:
            return rejection
        pending = self._pending
        if pending and pending[-1].arrival_s > sequence.arrival_s:
            bisect.insort_right(pending, sequence, key=_arrival)  # stamped by a slower worker
        else:
            pending.append(sequence)
        self._ensure_running()
        wake = self._wake
        assert wake is not None  # noqa: S101 - made by _ensure_running
        wake.set()
        return None

    def cancel(self, request_id: int) -> None:
        """Drop a request, whether it is still pending or already in the engine."""
        for sequence in self._pending:
            if sequence.request_id == request_id:
                self._pending.remove(sequence)
                return
        self._engine.cancel(request_id)

    def stats(self) -> EngineStats:
        """The engine's stats, with the pending arrivals counted as waiting."""
        return engine_stats(self._engine, len(self._pending))

    def _hand_over(self, start: float) -> None:
        """Give the engine, in arrival order, every pending sequence that arrived by `start`.

        The pending list is kept in arrival order (arrivals stamped by different workers can
        reach the driver out of order), so those are a prefix of it: a driver running behind
        the clock has many arrivals pending that belong to later steps, and does not scan them.
        """
        pending = self._pending
        cut = bisect.bisect_right(pending, start, key=_arrival)
        if not cut:
            return
        ready = pending[:cut]
        del pending[:cut]
        enqueue = self._engine.enqueue
        for sequence in ready:
            enqueue(sequence)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engine-driver")

    async def _run(self) -> None:
        engine = self._engine
        pending = self._pending
        wake = self._wake
        assert wake is not None  # noqa: S101 - set before the task starts
        start = -math.inf
        while True:
            if not pending and not engine.busy:
                wake.clear()
                await wake.wait()
                continue
            if not engine.busy:
                start = max(start, pending[0].arrival_s)
            if pending:
                self._hand_over(start)
            result = engine.step(start)
            if self._announce_at_start:
                self._on_step(result)
            duration = result.record.end_s - start
            start = result.record.end_s
            # Arrivals stamped before the next step starts may still be on their way from a
            # worker: wait a little past the start for them (not past half a step, so that the
            # step's tokens are still announced before they are due).
            grace = min(self._admission_grace_s, duration / 2)
            await sleep_until(start + grace, self._clock, asyncio.sleep)
            if not self._announce_at_start:
                self._on_step(result)


def _arrival(sequence: Sequence) -> float:
    return sequence.arrival_s
