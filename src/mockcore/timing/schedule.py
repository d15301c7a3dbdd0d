"""The event schedule: absolute deadlines, so lateness never accumulates."""

from collections.abc import Callable

import msgspec

from mockcore.timing.jitter import LognormalFactors


class Schedule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Deadlines of one response as offsets in seconds from t0, the request's arrival.

    Without jitter, event k is due at TTFT + k * ITL. With `itl_cv` > 0, gap k (between
    events k - 1 and k) is ITL times the k-th log-normal factor drawn from `jitter_seed`:
    still one absolute deadline per event, so a late event never delays the next.
    """

    ttft_ms: float
    itl_ms: float
    itl_cv: float = 0.0
    jitter_seed: int = 0

    def event_offset_s(self, event_index: int) -> float:
        """Event k (k = 0, 1, ...) is due at TTFT + the first k gaps."""
        if self.itl_cv == 0.0:
            return (self.ttft_ms + event_index * self.itl_ms) / 1000.0
        return self.event_offsets()(event_index)

    def event_offsets(self) -> Callable[[int], float]:
        """Offset of event k, for k asked in non-decreasing order (O(1) per step)."""
        if self.itl_cv == 0.0:
            return self.event_offset_s
        return _JitteredOffsets(self)

    def event_offsets_s(self, event_count: int) -> tuple[float, ...]:
        """The offsets of events 0 .. event_count - 1."""
        offset_of = self.event_offsets()
        return tuple(offset_of(index) for index in range(event_count))

    def response_offset_s(self, token_count: int) -> float:
        """A non-streaming response of `token_count` tokens is due at TTFT + its `token_count` gaps."""
        if self.itl_cv == 0.0:
            return (self.ttft_ms + token_count * self.itl_ms) / 1000.0
        return self.event_offsets()(token_count)

    @property
    def first_token_offset_s(self) -> float:
        """When the first token is due."""
        return self.ttft_ms / 1000.0


class _JitteredOffsets:
    """Walks the jittered gaps forward; each query k >= the previous one."""

    __slots__ = ("_factors", "_index", "_itl_ms", "_offset_ms")

    def __init__(self, schedule: Schedule) -> None:
        self._factors = LognormalFactors(schedule.jitter_seed, schedule.itl_cv)
        self._itl_ms = schedule.itl_ms
        self._index = 0
        self._offset_ms = schedule.ttft_ms

    def __call__(self, event_index: int) -> float:
        if event_index < self._index:
            msg = f"event {event_index} asked after event {self._index}"
            raise ValueError(msg)
        next_factor = self._factors.next
        itl_ms = self._itl_ms
        offset_ms = self._offset_ms
        for _ in range(event_index - self._index):
            offset_ms += itl_ms * next_factor()
        self._offset_ms = offset_ms
        self._index = event_index
        return offset_ms / 1000.0
