"""SPEC section 6: events leave at absolute deadlines t0 + TTFT + k * ITL.

The pacing logic runs against a fake clock whose `sleep` advances time, so the tests are exact
and instant; one smoke test checks a real server with tolerances wide enough for a loaded
machine.
"""

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest

from mockcore import Schedule, Settings
from mockhttp.pacing import (
    MAX_FRAMES_PER_WRITE,
    TIMER_TICK_S,
    WRITES_PER_YIELD,
    StreamProgress,
    send_paced,
    sleep_until,
)

T0 = 1_000.0
SCHEDULE = Schedule(ttft_ms=20.0, itl_ms=5.0)
TOLERANCE_S = 1e-9


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it or jumps it."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay_s: float) -> None:
        assert delay_s > 0, "never a zero or negative sleep"
        self.sleeps.append(delay_s)
        self.now += delay_s


class ParkedClock(FakeClock):
    """A fake clock whose sleeps park until the test releases them (or they are cancelled)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[asyncio.Future[None]] = []

    async def sleep(self, delay_s: float) -> None:
        self.sleeps.append(delay_s)
        parked = asyncio.get_running_loop().create_future()
        self.pending.append(parked)
        try:
            await parked
        finally:
            self.pending.remove(parked)
        self.now += delay_s

    def release(self) -> None:
        for parked in self.pending:
            parked.set_result(None)


class EarlyClock(FakeClock):
    """Like uvloop: a sleep may wake up to `early_s` (under one tick) before the time asked for."""

    def __init__(self, early_s: float) -> None:
        super().__init__()
        self.early_s = early_s

    async def sleep(self, delay_s: float) -> None:
        self.sleeps.append(delay_s)
        self.now += max(delay_s - self.early_s, 0.0)


class Events:
    """`(offset_s, frame)` pairs that remember how many were taken."""

    def __init__(self, count: int, schedule: Schedule = SCHEDULE) -> None:
        self.offsets_s = schedule.event_offsets_s(count)
        self.taken = 0

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        for index, offset_s in enumerate(self.offsets_s):
            self.taken += 1
            yield offset_s, frame(index)


def frame(index: int) -> bytes:
    return f"event {index}|".encode()


class Sink:
    """Collects each write with the clock reading at the time; may stall the clock after one."""

    def __init__(self, clock: FakeClock, stall_after: int = -1, stall_s: float = 0.0) -> None:
        self.clock = clock
        self.writes: list[tuple[float, bytes]] = []
        self.stall_after = stall_after
        self.stall_s = stall_s

    async def __call__(self, chunk: bytes) -> None:
        self.writes.append((self.clock(), chunk))
        if len(self.writes) == self.stall_after:
            self.clock.now += self.stall_s

    @property
    def frames(self) -> list[bytes]:
        return [part + b"|" for _, chunk in self.writes for part in chunk.split(b"|")[:-1]]


def run_paced(events: Iterable[tuple[float, bytes]], clock: FakeClock, sink: Sink) -> StreamProgress:
    progress = StreamProgress()
    asyncio.run(send_paced(events, T0, clock=clock, sleep=clock.sleep, send_chunk=sink, progress=progress))
    return progress


def test_each_event_is_written_on_its_own_at_its_deadline() -> None:
    clock = FakeClock()
    events = Events(12)
    sink = Sink(clock)
    progress = run_paced(events, clock, sink)
    deadlines = [T0 + offset for offset in events.offsets_s]
    assert [when for when, _ in sink.writes] == pytest.approx(deadlines, abs=TOLERANCE_S)
    assert [chunk for _, chunk in sink.writes] == [frame(index) for index in range(12)]
    assert progress.frames_sent == 12


@pytest.mark.parametrize("early_s", [0.0004, 0.00099])
def test_a_timer_that_wakes_early_never_releases_an_event_early(early_s: float) -> None:
    clock = EarlyClock(early_s)
    events = Events(20)
    sink = Sink(clock)
    run_paced(events, clock, sink)
    for (when, _), offset in zip(sink.writes, events.offsets_s, strict=True):
        assert when >= T0 + offset - TOLERANCE_S
    # an early wake-up sleeps again for at least one timer tick, never a busy spin
    assert all(delay >= TIMER_TICK_S - TOLERANCE_S for delay in clock.sleeps)


def test_a_late_event_goes_out_at_once_with_the_others_due_and_later_ones_keep_their_deadlines() -> None:
    clock = FakeClock()
    events = Events(10)
    stall_s = 0.0172  # the transport stalls after write 3: events 3..5 are then overdue
    sink = Sink(clock, stall_after=3, stall_s=stall_s)
    progress = run_paced(events, clock, sink)
    deadlines = [T0 + offset for offset in events.offsets_s]
    stalled_until = deadlines[2] + stall_s
    assert [when for when, _ in sink.writes] == pytest.approx(
        [*deadlines[:3], stalled_until, *deadlines[6:]], abs=TOLERANCE_S
    )
    assert sink.writes[3][1] == frame(3) + frame(4) + frame(5), "the overdue events share one write"
    assert sink.frames == [frame(index) for index in range(10)]
    assert progress.frames_sent == 10
    assert len(clock.sleeps) == 1 + 2 + 4, "one sleep to event 0, events 1-2, then events 6-9 only"


def test_a_request_that_arrives_late_sends_what_is_due_in_one_write() -> None:
    clock = FakeClock(now=T0 + 0.031)  # the body took 31 ms to arrive: events 0..2 are overdue
    events = Events(6)
    sink = Sink(clock)
    run_paced(events, clock, sink)
    deadlines = [T0 + offset for offset in events.offsets_s]
    assert [when for when, _ in sink.writes] == pytest.approx([T0 + 0.031, *deadlines[3:]], abs=TOLERANCE_S)
    assert sink.writes[0][1] == frame(0) + frame(1) + frame(2)


def test_a_write_carries_at_most_the_cap_of_overdue_events() -> None:
    count = 2 * MAX_FRAMES_PER_WRITE + 3
    clock = FakeClock(now=T0 + 10.0)  # everything is overdue
    sink = Sink(clock)
    progress = run_paced(Events(count), clock, sink)
    assert [chunk.count(b"|") for _, chunk in sink.writes] == [MAX_FRAMES_PER_WRITE, MAX_FRAMES_PER_WRITE, 3]
    assert sink.frames == [frame(index) for index in range(count)]
    assert progress.frames_sent == count


def test_a_stream_that_never_sleeps_still_lets_other_tasks_run() -> None:
    # Each write stalls past the next deadline, so no event waits and nothing sleeps (the
    # stream falls behind, and some overdue events then share a write).
    clock = FakeClock()
    events = Events(4 * WRITES_PER_YIELD, Schedule(ttft_ms=0.0, itl_ms=5.0))
    watcher_turns: list[int] = []
    sink = Sink(clock)

    async def stalling_sink(chunk: bytes) -> None:
        await sink(chunk)
        clock.now += 0.006

    async def watcher() -> None:
        while True:
            watcher_turns.append(len(sink.writes))
            await asyncio.sleep(0)

    async def scenario() -> None:
        watching = asyncio.create_task(watcher())
        await asyncio.sleep(0)
        await send_paced(
            events, T0, clock=clock, sleep=clock.sleep, send_chunk=stalling_sink, progress=StreamProgress()
        )
        watching.cancel()

    asyncio.run(scenario())
    assert len(sink.writes) > 2 * WRITES_PER_YIELD
    assert sink.frames == [frame(index) for index in range(4 * WRITES_PER_YIELD)]
    assert clock.sleeps == []
    during = [writes for writes in watcher_turns if 0 < writes < len(sink.writes)]
    assert len(during) >= 2, "the watcher ran during the stream, not only after it"
    assert during[0] <= WRITES_PER_YIELD + 1


def test_frames_are_read_one_event_ahead_at_most() -> None:
    clock = ParkedClock()
    events = Events(50)
    sink = Sink(clock)

    async def scenario() -> None:
        task = asyncio.create_task(
            send_paced(events, T0, clock=clock, sleep=clock.sleep, send_chunk=sink, progress=StreamProgress())
        )
        for _ in range(3):
            await asyncio.sleep(0)
            clock.release()
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(sink.writes) == 3
    assert events.taken == 4, "the event being waited for is the only one prepared ahead"


def test_cancelling_stops_at_once_with_no_sleep_left_and_counts_what_was_sent() -> None:
    clock = ParkedClock()
    progress = StreamProgress()
    sink = Sink(clock)

    async def scenario() -> None:
        task = asyncio.create_task(
            send_paced(Events(50), T0, clock=clock, sleep=clock.sleep, send_chunk=sink, progress=progress)
        )
        for _ in range(3):
            await asyncio.sleep(0)
            clock.release()
        await asyncio.sleep(0)
        assert len(clock.pending) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.pending == []

    asyncio.run(scenario())
    assert progress.frames_sent == len(sink.writes) == 3


@pytest.mark.parametrize(("now", "expected_sleeps"), [(T0 - 0.25, [0.25]), (T0, []), (T0 + 1.0, [])])
def test_sleep_until_sleeps_only_for_what_remains(now: float, expected_sleeps: list[float]) -> None:
    clock = FakeClock(now=now)
    woke_at = asyncio.run(sleep_until(T0, clock, clock.sleep))
    assert clock.sleeps == pytest.approx(expected_sleeps)
    assert woke_at == clock() == pytest.approx(max(now, T0))


def test_sleep_until_sleeps_again_after_an_early_wake_up() -> None:
    clock = EarlyClock(early_s=0.0008)
    woke_at = asyncio.run(sleep_until(T0 + 0.0203, clock, clock.sleep))
    assert woke_at >= T0 + 0.0203
    first, *again = clock.sleeps
    assert first == pytest.approx(0.0203)
    assert again
    assert again == pytest.approx([TIMER_TICK_S] * len(again)), "re-sleeps are whole ticks"


# --- one real server --------------------------------------------------------------------

PACED = Settings(ttft=50.0, itl=10.0)
TOKENS = 20
# The client takes `sent` before the request leaves and the server takes t0 after it
# arrives, on the same monotonic clock, so "never early" needs no slack beyond rounding.
SLACK_S = 0.0001
LOADED_MACHINE_S = 0.5


@pytest.mark.e2e
def test_a_real_stream_keeps_ttft_and_itl(start_server: Any) -> None:
    base_url = start_server(PACED)
    payload = {
        "model": "mock-model",
        "messages": [{"role": "user", "content": "a prompt long enough to have many tokens to cycle"}],
        "max_tokens": TOKENS,
        "ignore_eos": True,
        "stream": True,
    }
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.get("/health")  # open the connection first: measure the server, not the handshake
        sent = time.perf_counter()
        with client.stream("POST", "/v1/chat/completions", json=payload) as response:
            assert response.status_code == 200
            arrivals = [time.perf_counter() for line in response.iter_lines() if line.startswith("data: {")]
    assert len(arrivals) == TOKENS
    ttft_s = arrivals[0] - sent
    assert PACED.ttft / 1000 - SLACK_S <= ttft_s < PACED.ttft / 1000 + LOADED_MACHINE_S
    total_s = arrivals[-1] - sent
    assert total_s >= (PACED.ttft + (TOKENS - 1) * PACED.itl) / 1000 - SLACK_S
    for index, arrival in enumerate(arrivals):  # never early, whatever the load
        assert arrival - sent >= (PACED.ttft + index * PACED.itl) / 1000 - SLACK_S


@pytest.mark.e2e
def test_a_real_non_streaming_response_waits_for_every_token(start_server: Any) -> None:
    base_url = start_server(PACED)
    payload = {"model": "m", "prompt": "some prompt", "max_tokens": TOKENS, "ignore_eos": True}
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.get("/health")
        sent = time.perf_counter()
        response = client.post("/v1/completions", json=payload)
        elapsed_s = time.perf_counter() - sent
    assert response.status_code == 200
    assert elapsed_s >= (PACED.ttft + TOKENS * PACED.itl) / 1000 - SLACK_S


# Each streamed protocol: its path, body, extra headers, and what marks a token event.
PROMPT_TEXT = "a prompt long enough to have many tokens to cycle"
EXACT = {"X-Mock-Output-Tokens": str(TOKENS)}
PROTOCOL_STREAMS = {
    "responses": ("/v1/responses", {"model": "m", "input": PROMPT_TEXT, "stream": True}, EXACT, '"delta":"'),
    "messages": (
        "/v1/messages",
        {
            "model": "m",
            "max_tokens": TOKENS,
            "messages": [{"role": "user", "content": PROMPT_TEXT}],
            "stream": True,
        },
        {**EXACT, "anthropic-version": "2023-06-01"},
        '"text_delta"',
    ),
    "tgi": ("/generate_stream", {"inputs": PROMPT_TEXT}, EXACT, '"token":{'),
}


@pytest.mark.e2e
@pytest.mark.parametrize("protocol", list(PROTOCOL_STREAMS))
def test_every_streamed_protocol_keeps_ttft_and_itl(start_server: Any, protocol: str) -> None:
    path, payload, headers, marker = PROTOCOL_STREAMS[protocol]
    base_url = start_server(PACED)
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.get("/health")
        sent = time.perf_counter()
        with client.stream("POST", path, json=payload, headers=headers) as response:
            assert response.status_code == 200
            arrivals = [time.perf_counter() for line in response.iter_lines() if marker in line]
    assert len(arrivals) == TOKENS
    assert PACED.ttft / 1000 - SLACK_S <= arrivals[0] - sent < PACED.ttft / 1000 + LOADED_MACHINE_S
    for index, arrival in enumerate(arrivals):  # never early, whatever the load
        assert arrival - sent >= (PACED.ttft + index * PACED.itl) / 1000 - SLACK_S
