"""SPEC section 6: events leave at absolute deadlines t0 + TTFT + k * ITL.

The pacing logic runs against a fake clock whose `sleep` advances time, so the tests are exact
and instant; one smoke test checks a real server with tolerances wide enough for a loaded
machine.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mockcore import Schedule, Settings
from mockhttp.pacing import paced_events, wait_until

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


class Events:
    """`(offset_s, frame)` pairs that remember how many were taken."""

    def __init__(self, count: int, schedule: Schedule = SCHEDULE) -> None:
        self.offsets_s = schedule.event_offsets_s(count)
        self.taken = 0

    def __iter__(self) -> Iterator[tuple[float, bytes]]:
        for index, offset_s in enumerate(self.offsets_s):
            self.taken += 1
            yield offset_s, f"event {index}".encode()


async def release_times(frames: AsyncIterator[bytes], clock: FakeClock) -> list[float]:
    return [clock() async for _ in frames]


def test_each_event_is_released_at_its_deadline() -> None:
    clock = FakeClock()
    events = Events(12)
    released = asyncio.run(release_times(paced_events(events, T0, clock, clock.sleep), clock))
    assert released == pytest.approx([T0 + offset for offset in events.offsets_s], abs=TOLERANCE_S)
    assert all(
        now >= T0 + offset - TOLERANCE_S for now, offset in zip(released, events.offsets_s, strict=True)
    )


def test_frames_come_out_in_order_and_unchanged() -> None:
    clock = FakeClock()

    async def collect() -> list[bytes]:
        return [frame async for frame in paced_events(Events(5), T0, clock, clock.sleep)]

    assert asyncio.run(collect()) == [f"event {index}".encode() for index in range(5)]


def test_a_late_event_goes_out_at_once_and_does_not_shift_later_ones() -> None:
    clock = FakeClock()
    events = Events(10)
    stall_s = 0.0172  # the consumer stalls after event 2: events 3..5 are overdue

    async def consume() -> list[float]:
        released = []
        async for _ in paced_events(events, T0, clock, clock.sleep):
            released.append(clock())
            if len(released) == 3:
                clock.now += stall_s
        return released

    released = asyncio.run(consume())
    deadlines = [T0 + offset for offset in events.offsets_s]
    stalled_until = deadlines[2] + stall_s
    expected = [*deadlines[:3], stalled_until, stalled_until, stalled_until, *deadlines[6:]]
    assert released == pytest.approx(expected, abs=TOLERANCE_S)
    assert len(clock.sleeps) == 1 + 2 + 4, "one sleep to event 0, events 1-2, then events 6-9 only"


def test_a_request_that_arrives_late_sends_what_is_due_at_once() -> None:
    clock = FakeClock(now=T0 + 0.031)  # the body took 31 ms to arrive: events 0..2 are overdue
    events = Events(6)
    released = asyncio.run(release_times(paced_events(events, T0, clock, clock.sleep), clock))
    deadlines = [T0 + offset for offset in events.offsets_s]
    assert released == pytest.approx([T0 + 0.031] * 3 + deadlines[3:], abs=TOLERANCE_S)


def test_no_frame_is_prepared_before_the_consumer_asks() -> None:
    clock = FakeClock()
    events = Events(8)

    async def take_two() -> None:
        frames = paced_events(events, T0, clock, clock.sleep)
        await anext(frames)
        await anext(frames)
        await frames.aclose()

    asyncio.run(take_two())
    assert events.taken == 2


def test_closing_the_consumer_stops_the_stream_with_no_sleep_left() -> None:
    clock = ParkedClock()
    events = Events(50)

    async def scenario() -> None:
        frames = paced_events(events, T0, clock, clock.sleep)
        first = asyncio.ensure_future(anext(frames))
        await asyncio.sleep(0)
        assert len(clock.pending) == 1, "parked until the first deadline"
        clock.release()
        assert await first == b"event 0"
        await frames.aclose()
        assert clock.pending == []
        with pytest.raises(StopAsyncIteration):
            await anext(frames)

    asyncio.run(scenario())
    assert events.taken == 1


def test_cancelling_the_consumer_task_stops_at_once_with_no_sleep_left() -> None:
    clock = ParkedClock()
    events = Events(50)
    received: list[bytes] = []

    async def consume() -> None:
        async for frame in paced_events(events, T0, clock, clock.sleep):
            received.append(frame)  # noqa: PERF401 - keep what arrived before the cancellation

    async def scenario() -> None:
        task = asyncio.create_task(consume())
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
    assert len(received) == 3
    assert events.taken == 4, "the event being waited for is dropped, no later one is taken"


@pytest.mark.parametrize(("now", "expected_sleeps"), [(T0 - 0.25, [0.25]), (T0, []), (T0 + 1.0, [])])
def test_wait_until_sleeps_only_for_what_remains(now: float, expected_sleeps: list[float]) -> None:
    clock = FakeClock(now=now)
    asyncio.run(wait_until(T0, clock, clock.sleep))
    assert clock.sleeps == pytest.approx(expected_sleeps)
    assert clock() == pytest.approx(max(now, T0))


# --- one real server --------------------------------------------------------------------

PACED = Settings(ttft=50.0, itl=10.0)
TOKENS = 20
SLACK_S = 0.002  # uvloop timers have 1 ms granularity
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
