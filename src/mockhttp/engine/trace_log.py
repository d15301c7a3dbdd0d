"""The engine's arrivals as a trace: what the live engine was fed, replayable offline.

Each request the engine is offered (admitted or refused) becomes one Mooncake trace line:
its arrival in milliseconds from the first arrival, its prompt and output tokens, and its
prompt's KV block hashes as `hash_ids` (one per 16-token block, so replay it with
`simulate --hash-block-tokens 16`). Replaying the file with the server's engine options gives
the live engine's timeline step for step.
"""

from pathlib import Path
from typing import IO

from mockcore.engine import Sequence, TraceRequest, trace_line


class TraceLog:
    """Appends arrivals to one file, opened on the first arrival and kept open, a line at a time."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._file: IO[bytes] | None = None
        self._origin_s = 0.0

    def record(self, sequence: Sequence) -> None:
        """Write the arrival of `sequence` (its `arrival_s` set)."""
        if self._file is None:
            self._file = self._path.open("ab", buffering=0)
            self._origin_s = sequence.arrival_s
        request = TraceRequest(
            timestamp=max(0.0, (sequence.arrival_s - self._origin_s) * 1000.0),
            input_length=max(1, sequence.prompt_tokens),
            output_length=sequence.output_tokens,
            hash_ids=sequence.block_hashes,
        )
        self._file.write(trace_line(request) + b"\n")
