"""Process-local implementations of the ports: one worker, or an app mounted elsewhere."""

import itertools
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any

from mockcore.control import CONTROL_EVENTS_KEPT, ControlEvent, ControlKind, ControlReport, control_report
from mockcore.generation.prompt_cache import NOT_CACHED
from mockcore.metrics import LAYOUT, MetricsSnapshot, aggregate
from mockcore.plan import CachePoint
from mockcore.settings import Settings
from mockcore.tuning import tuned
from mockhttp.metrics_recorder import MetricsRecorder
from mockhttp.ports import LoadSnapshot

# Past this many prefixes the expired ones are dropped (bounds memory under distinct prompts).
MAX_LOCAL_PREFIXES = 65_536


class LocalSequence:
    """A counter in this process; asyncio runs one handler step at a time, so no lock."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def next_sequence_number(self) -> int:
        """Draw the next number."""
        return next(self._numbers)


class LocalLoadTracker:
    """Plain integers: the whole server is this process."""

    def __init__(self) -> None:
        self._in_flight = 0
        self._tokens = 0
        self._served = 0

    def request_started(self) -> None:
        """Count one more request in flight."""
        self._in_flight += 1

    def request_finished(self, tokens_emitted: int) -> None:
        """Count a request out, with its tokens."""
        self._in_flight -= 1
        self._tokens += tokens_emitted
        self._served += 1

    def in_flight(self) -> int:
        """Requests in flight now."""
        return self._in_flight

    def snapshot(self) -> LoadSnapshot:
        """Current totals."""
        return LoadSnapshot(
            in_flight_requests=self._in_flight, tokens_emitted=self._tokens, requests_served=self._served
        )


class LocalBlobStore:
    """A dict; a transaction never awaits, so it is atomic within one event loop."""

    def __init__(self) -> None:
        self._blobs: dict[int, bytes] = {}

    def transact(self, instance: int, change: Callable[[bytes], bytes]) -> bytes:
        """Replace the blob of `instance` by `change(blob)`."""
        blob = change(self._blobs.get(instance, b""))
        self._blobs[instance] = blob
        return blob


class LocalMetricsStore:
    """One block in a bytearray: the whole server is this process."""

    def __init__(self) -> None:
        self._block = bytearray(LAYOUT.block_bytes)
        self._recorder = MetricsRecorder(memoryview(self._block))

    @property
    def recorder(self) -> MetricsRecorder:
        """Writes the block."""
        return self._recorder

    def snapshot(self) -> MetricsSnapshot:
        """The block, summed alone (published first, so it is current)."""
        self._recorder.publish()
        return aggregate([(bytes(self._block), True)])


class LocalControlLog:
    """A counter and the newest events of this process."""

    def __init__(self) -> None:
        self._total = 0
        self._counts: Counter[str] = Counter()
        self._events: deque[ControlEvent] = deque(maxlen=CONTROL_EVENTS_KEPT)

    def record(self, kind: ControlKind, at_unix_s: float) -> ControlEvent:
        """Count and keep one call."""
        self._total += 1
        self._counts[kind] += 1
        event = ControlEvent(self._total, kind, at_unix_s)
        self._events.append(event)
        return event

    def report(self) -> ControlReport:
        """Counts and the newest calls."""
        return control_report(self._total, dict(self._counts), self._events)


class LocalSettingsSource:
    """The settings of this process; a change is a new frozen Settings."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def current(self) -> Settings:
        """The settings in effect."""
        return self._settings

    def update(self, changes: dict[str, Any]) -> Settings:
        """Validate and apply `changes`."""
        self._settings = tuned(self._settings, changes)
        return self._settings


class LocalPromptCache:
    """Cached prefixes by key, with the time each expires (unix seconds)."""

    def __init__(self) -> None:
        self._expires: dict[int, float] = {}

    def lookup_and_store(self, points: Sequence[CachePoint], now_unix_s: float) -> int:
        """The longest point alive, then every point stored for its lifetime."""
        expires = self._expires
        if len(expires) > MAX_LOCAL_PREFIXES:
            for key in [key for key, until in expires.items() if until <= now_unix_s]:
                del expires[key]
            for key in list(itertools.islice(expires, max(len(expires) - MAX_LOCAL_PREFIXES, 0))):
                del expires[key]  # still full of live prefixes: the oldest entries go
        longest = NOT_CACHED
        for index, point in enumerate(points):
            if expires.get(point.key, 0.0) > now_unix_s:
                longest = index
        for point in points:
            expires[point.key] = now_unix_s + point.ttl_s
        return longest
