"""Control-plane calls: what a benchmark client asks of the server around a run.

aiperf resets the engine's prefix cache before a run (`POST /reset_prefix_cache`, or SGLang's
`POST /flush_cache`) and brackets its measurement with the engine's profiler
(`POST /start_profile`, `POST /stop_profile`). The server records each call as an event,
numbered across all workers, so a test can check which calls a client made and in what order.
"""

from collections.abc import Iterable
from typing import Literal

import msgspec

ControlKind = Literal["reset_prefix_cache", "flush_cache", "start_profile", "stop_profile"]
CONTROL_KINDS: tuple[ControlKind, ...] = (
    "reset_prefix_cache",
    "flush_cache",
    "start_profile",
    "stop_profile",
)
# The newest events kept; older ones are dropped from the list but stay counted.
CONTROL_EVENTS_KEPT = 256


class ControlEvent(msgspec.Struct, frozen=True, gc=False):
    """One control call: its number (1, 2, ... across the server), kind and wall-clock time."""

    sequence: int
    kind: ControlKind
    at_unix_s: float


class ControlReport(msgspec.Struct, frozen=True, kw_only=True):
    """What `GET /control/events` answers."""

    total: int
    counts: dict[str, int]
    profiling: bool
    events: tuple[ControlEvent, ...]


def control_report(total: int, counts: dict[str, int], events: Iterable[ControlEvent]) -> ControlReport:
    """The report of `total` calls so far, `counts` by kind, and the newest `events` in order.

    The profiler counts as running when it was started more often than stopped.
    """
    complete: dict[str, int] = {kind: counts.get(kind, 0) for kind in CONTROL_KINDS}
    return ControlReport(
        total=total,
        counts=complete,
        profiling=complete["start_profile"] > complete["stop_profile"],
        events=tuple(sorted(events, key=lambda event: event.sequence)),
    )
