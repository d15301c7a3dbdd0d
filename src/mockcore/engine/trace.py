"""Traces: one request per line, when it arrives and how long it is.

The format is the Mooncake trace aiperf replays (`--custom-dataset-type mooncake_trace`):

    {"timestamp": 0, "input_length": 512, "output_length": 128, "hash_ids": [1, 2]}

`timestamp` is milliseconds from the start, `hash_ids` name the prompt's shared prefix
blocks (512 tokens each unless told otherwise). The live server writes its arrivals in this
format with `--engine-trace` (its hash ids are 16-token KV blocks), so a run replays offline.
"""

from collections.abc import Iterable
from typing import Annotated

import msgspec


class TraceRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One line of a trace."""

    timestamp: Annotated[float, msgspec.Meta(ge=0)]
    input_length: Annotated[int, msgspec.Meta(ge=1)]
    output_length: Annotated[int, msgspec.Meta(ge=1)]
    hash_ids: tuple[int, ...] = ()

    @property
    def arrival_s(self) -> float:
        """Arrival in seconds from the trace's start."""
        return self.timestamp / 1000.0


class TraceError(ValueError):
    """A trace line that does not parse, with its line number."""


_DECODER = msgspec.json.Decoder(TraceRequest)


def parse_trace(lines: Iterable[str]) -> tuple[TraceRequest, ...]:
    """The trace's requests in arrival order (stable for equal timestamps); blank lines skipped."""
    requests: list[TraceRequest] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            requests.append(_DECODER.decode(line))
        except msgspec.DecodeError as error:
            raise TraceError(f"line {number}: {error}") from None
    return tuple(sorted(requests, key=lambda request: request.timestamp))


def trace_line(request: TraceRequest) -> bytes:
    """One request as a trace line (no newline)."""
    return msgspec.json.encode(request)
