"""The event schedule: absolute deadlines, so lateness never accumulates."""

import msgspec


class Schedule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Deadlines of one response as offsets in seconds from t0, the request's arrival."""

    ttft_ms: float
    itl_ms: float

    def event_offset_s(self, event_index: int) -> float:
        """Event k (k = 0, 1, ...) is due at TTFT + k * ITL."""
        return (self.ttft_ms + event_index * self.itl_ms) / 1000.0

    def event_offsets_s(self, event_count: int) -> tuple[float, ...]:
        """The offsets of events 0 .. event_count - 1."""
        return tuple(self.event_offset_s(index) for index in range(event_count))

    def response_offset_s(self, token_count: int) -> float:
        """A non-streaming response of `token_count` tokens is due at TTFT + ITL * tokens."""
        return (self.ttft_ms + token_count * self.itl_ms) / 1000.0

    @property
    def first_token_offset_s(self) -> float:
        """Embeddings and ranking answer after TTFT alone."""
        return self.ttft_ms / 1000.0
