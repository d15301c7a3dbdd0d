"""The state a user observes across requests, behind small interfaces.

With one worker (or when the app is mounted in another program) these run over
process-local objects; with several workers, over one shared-memory segment, so that the
user sees one server.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

if TYPE_CHECKING:
    from mockcore.control import ControlEvent, ControlKind, ControlReport
    from mockcore.metrics import MetricsSnapshot
    from mockcore.plan import CachePoint
    from mockcore.settings import Settings
    from mockhttp.metrics_recorder import MetricsRecorder


class SequenceSource(Protocol):
    """Numbers valid inference requests 1, 2, 3, ... across every worker."""

    def next_sequence_number(self) -> int:
        """Draw the next number; never the same twice."""
        ...


class LoadSnapshot(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Live load of the whole server at one moment."""

    in_flight_requests: int
    tokens_emitted: int
    requests_served: int


class LoadTracker(Protocol):
    """Counts in-flight requests and emitted tokens; read by the GPU model."""

    def request_started(self) -> None:
        """A request entered its response phase."""
        ...

    def request_finished(self, tokens_emitted: int) -> None:
        """A request ended (completed or disconnected) after emitting `tokens_emitted`."""
        ...

    def snapshot(self) -> LoadSnapshot:
        """The totals across all workers."""
        ...

    def in_flight(self) -> int:
        """Requests in flight on the whole server now (cheaper than a snapshot)."""
        ...


class BlobStore(Protocol):
    """Per-instance opaque state (the GPU physics), changed atomically across workers."""

    def transact(self, instance: int, change: Callable[[bytes], bytes]) -> bytes:
        """Replace the blob of `instance` by `change(blob)` and return the new blob."""
        ...


class MetricsStore(Protocol):
    """This worker's metric cells (`recorder`), and the sum over every worker (`snapshot`)."""

    @property
    def recorder(self) -> "MetricsRecorder":
        """Writes this worker's block."""
        ...

    def snapshot(self) -> "MetricsSnapshot":
        """Counters and histograms of every worker that ever ran; gauges of live ones."""
        ...


class ControlLog(Protocol):
    """Control-plane calls, numbered across every worker."""

    def record(self, kind: "ControlKind", at_unix_s: float) -> "ControlEvent":
        """Count and keep one call; return it with its number."""
        ...

    def report(self) -> "ControlReport":
        """Counts by kind and the newest calls, in order."""
        ...


class SettingsSource(Protocol):
    """The settings in effect now: the start-up ones, changed by `PATCH /admin/config`.

    Every worker sees a change on its next request (the version is one shared integer).
    """

    def current(self) -> "Settings":
        """The settings to serve this request with."""
        ...

    def update(self, changes: dict[str, Any]) -> "Settings":
        """Apply tunable `changes` for every worker; raises `RequestError` on a bad one."""
        ...


class PromptCache(Protocol):
    """The prompt prefixes the server holds in its cache (Anthropic's `cache_control`)."""

    def lookup_and_store(self, points: "Sequence[CachePoint]", now_unix_s: float) -> int:
        """The index of the longest of `points` cached and alive at `now_unix_s` (-1: none).

        Every point is then stored, or its lifetime renewed, as a cache read renews it.
        """
        ...


class MediaStore(Protocol):
    """Records and files of the media routes (video jobs, images served by URL), by key.

    Every worker sees every key. Keys are 1-128 characters of `[A-Za-z0-9_-]`; a key's
    first `_`-separated part is its kind (`keys("video")` lists the video records). The store
    keeps at most `MEDIA_STORE_ENTRIES` entries: the oldest go first.
    """

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""
        ...

    def get(self, key: str) -> bytes | None:
        """What `key` holds, or None."""
        ...

    def keys(self, kind: str) -> list[str]:
        """The keys of `kind`, oldest first."""
        ...

    def delete(self, key: str) -> bool:
        """Remove `key`; False if it was not there."""
        ...
