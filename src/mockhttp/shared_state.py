"""State shared by every worker process: one small memory-mapped file.

Workers are separate processes (Granian may fork or spawn them), so nothing can be
inherited: the CLI creates the file before the workers start and passes its path in the
environment; each worker maps it. A `flock` on the file serialises the few read-modify-write
operations (the request sequence, the GPU state); the load counters need no lock because
each worker writes only its own slot and readers sum the slots.

Layout (little-endian):
    0   magic (8 bytes)
    8   request sequence: the last number handed out (u64)
    64  worker slots: MAX_WORKER_SLOTS x (pid, in_flight, tokens, served) as u64
    ... GPU state blobs: GPU_INSTANCES x (length u32 + GPU_BLOB_BYTES)
    ... metric blocks: MAX_WORKER_SLOTS x the block of `mockcore.metrics.store`, 8-aligned;
        block i belongs to whichever worker holds slot i (a respawned worker adds to it)
    ... control calls: total (u64), a count per kind (u64 each), then a ring of the newest
        CONTROL_EVENTS_KEPT events (sequence u64, kind index u64, unix time f64)
    ... live settings: version (u64), length (u32, padded to 8), then the JSON object of every
        change made by `PATCH /admin/config` since start (at most TUNING_BLOB_BYTES)
    ... prompt cache: PROMPT_CACHE_SLOTS x (key u64, expires unix f64), open addressing
"""

import contextlib
import fcntl
import mmap
import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from mockcore.control import (
    CONTROL_EVENTS_KEPT,
    CONTROL_KINDS,
    ControlEvent,
    ControlKind,
    ControlReport,
    control_report,
)
from mockcore.errors import RequestError
from mockcore.generation.prompt_cache import NOT_CACHED
from mockcore.metrics import LAYOUT, MetricsSnapshot, aggregate
from mockcore.plan import CachePoint
from mockcore.settings import Settings
from mockcore.tuning import tuned
from mockhttp.metrics_recorder import MetricsRecorder
from mockhttp.ports import LoadSnapshot

MAGIC = b"MOCKSRV1"
MAX_WORKER_SLOTS = 64
GPU_INSTANCES = 2
GPU_BLOB_BYTES = 64 * 1024

_SEQUENCE_OFFSET = 8
_SLOTS_OFFSET = 64
_SLOT = struct.Struct("<QqQQ")
_GPU_OFFSET = _SLOTS_OFFSET + MAX_WORKER_SLOTS * _SLOT.size
_GPU_LENGTH = struct.Struct("<I")
_GPU_STRIDE = _GPU_LENGTH.size + GPU_BLOB_BYTES
_METRICS_OFFSET = -(-(_GPU_OFFSET + GPU_INSTANCES * _GPU_STRIDE) // 8) * 8
_CONTROL_OFFSET = _METRICS_OFFSET + MAX_WORKER_SLOTS * LAYOUT.block_bytes
_CONTROL_COUNTS = struct.Struct(f"<{1 + len(CONTROL_KINDS)}Q")
_CONTROL_EVENT = struct.Struct("<QQd")
_CONTROL_RING_OFFSET = _CONTROL_OFFSET + _CONTROL_COUNTS.size
_TUNING_OFFSET = -(-(_CONTROL_RING_OFFSET + CONTROL_EVENTS_KEPT * _CONTROL_EVENT.size) // 8) * 8
_TUNING_LENGTH_OFFSET = _TUNING_OFFSET + 8
_TUNING_BLOB_OFFSET = _TUNING_OFFSET + 16
TUNING_BLOB_BYTES = 8192
_PROMPT_CACHE_OFFSET = _TUNING_BLOB_OFFSET + TUNING_BLOB_BYTES
PROMPT_CACHE_SLOTS = 4096
PROMPT_CACHE_PROBES = 16
_CACHE_SLOT = struct.Struct("<Qd")
FILE_BYTES = _PROMPT_CACHE_OFFSET + PROMPT_CACHE_SLOTS * _CACHE_SLOT.size
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def create_shared_state_file(directory: str | None = None) -> Path:
    """Create a zeroed state file (in /dev/shm when available) and return its path."""
    base = directory or ("/dev/shm" if Path("/dev/shm").is_dir() else None)  # noqa: S108 - tmpfs, not a temp name
    handle, name = tempfile.mkstemp(prefix="aiperf-mock-server-", suffix=".state", dir=base)
    with os.fdopen(handle, "wb") as state_file:
        state_file.write(MAGIC)
        state_file.truncate(FILE_BYTES)
    return Path(name)


class SharedStateFile:
    """One worker's mapping of the state file."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, FILE_BYTES)
        if self._map[:8] != MAGIC:
            msg = f"{path} is not an aiperf-mock-server state file"
            raise ValueError(msg)

    @contextlib.contextmanager
    def locked(self) -> Iterator[mmap.mmap]:
        """Exclusive access across processes for a read-modify-write."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield self._map
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @property
    def memory(self) -> mmap.mmap:
        """Unlocked access, for single-writer slots and reads."""
        return self._map

    def close(self) -> None:
        """Unmap and close; the file itself belongs to the CLI."""
        self._map.close()
        os.close(self._fd)


class SharedSequence:
    """The request sequence, one counter for all workers."""

    def __init__(self, state: SharedStateFile) -> None:
        self._state = state

    def next_sequence_number(self) -> int:
        """Increment under the file lock and return the new value."""
        with self._state.locked() as memory:
            number: int = _U64.unpack_from(memory, _SEQUENCE_OFFSET)[0] + 1
            _U64.pack_into(memory, _SEQUENCE_OFFSET, number)
        return number


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SharedLoadTracker:
    """Per-worker counters in this worker's own slot; snapshots sum every live slot."""

    def __init__(self, state: SharedStateFile) -> None:
        self._state = state
        self._pid = os.getpid()
        self._in_flight = 0
        self._offset, self._tokens, self._served = self._claim_slot()

    def _claim_slot(self) -> tuple[int, int, int]:
        """Take a free slot, or one left by a dead worker (Granian respawns workers).

        A reclaimed slot keeps the dead worker's totals (tokens, requests served), so the
        server-wide counters never go backwards; its requests in flight died with it.
        """
        with self._state.locked() as memory:
            for index in range(MAX_WORKER_SLOTS):
                offset = _SLOTS_OFFSET + index * _SLOT.size
                pid, _, tokens, served = _SLOT.unpack_from(memory, offset)
                if pid in {0, self._pid} or not _process_alive(pid):
                    _SLOT.pack_into(memory, offset, self._pid, 0, tokens, served)
                    return offset, tokens, served
        msg = f"no free worker slot among {MAX_WORKER_SLOTS}"
        raise RuntimeError(msg)

    @property
    def slot_index(self) -> int:
        """Which worker slot this tracker holds (its metric block has the same index)."""
        return (self._offset - _SLOTS_OFFSET) // _SLOT.size

    def _publish(self) -> None:
        _SLOT.pack_into(
            self._state.memory, self._offset, self._pid, self._in_flight, self._tokens, self._served
        )

    def request_started(self) -> None:
        """Count one more request in flight."""
        self._in_flight += 1
        self._publish()

    def request_finished(self, tokens_emitted: int) -> None:
        """Count a request out, with its tokens."""
        self._in_flight -= 1
        self._tokens += tokens_emitted
        self._served += 1
        self._publish()

    def in_flight(self) -> int:
        """Requests in flight over the slots of live workers (only busy slots are checked)."""
        total = self._in_flight
        memory = self._state.memory
        for index in range(MAX_WORKER_SLOTS):
            offset = _SLOTS_OFFSET + index * _SLOT.size
            if offset == self._offset:
                continue
            pid, slot_in_flight, _, _ = _SLOT.unpack_from(memory, offset)
            if slot_in_flight > 0 and _process_alive(pid):
                total += slot_in_flight
        return total

    def snapshot(self) -> LoadSnapshot:
        """Totals over the slots of live workers."""
        in_flight = tokens = served = 0
        memory = self._state.memory
        for index in range(MAX_WORKER_SLOTS):
            pid, slot_in_flight, slot_tokens, slot_served = _SLOT.unpack_from(
                memory, _SLOTS_OFFSET + index * _SLOT.size
            )
            if pid == 0:
                continue
            tokens += slot_tokens
            served += slot_served
            if pid == self._pid or _process_alive(pid):
                in_flight += slot_in_flight
        return LoadSnapshot(in_flight_requests=in_flight, tokens_emitted=tokens, requests_served=served)


class SharedBlobStore:
    """Opaque per-instance blobs (the GPU physics state), replaced under the file lock."""

    def __init__(self, state: SharedStateFile) -> None:
        self._state = state

    def transact(self, instance: int, change: Callable[[bytes], bytes]) -> bytes:
        """Replace the blob of `instance` (0-based) by `change(blob)` atomically; return it.

        The blob is empty before the first write.
        """
        offset = _GPU_OFFSET + instance * _GPU_STRIDE
        start = offset + _GPU_LENGTH.size
        with self._state.locked() as memory:
            length = _GPU_LENGTH.unpack_from(memory, offset)[0]
            blob = change(bytes(memory[start : start + length]))
            if len(blob) > GPU_BLOB_BYTES:
                msg = f"GPU state of {len(blob)} bytes exceeds {GPU_BLOB_BYTES}"
                raise ValueError(msg)
            memory[start : start + len(blob)] = blob
            _GPU_LENGTH.pack_into(memory, offset, len(blob))
        return blob


def _metrics_block(memory: mmap.mmap, index: int) -> memoryview:
    start = _METRICS_OFFSET + index * LAYOUT.block_bytes
    return memoryview(memory)[start : start + LAYOUT.block_bytes]


class SharedMetricsStore:
    """This worker's metric block in the state file; snapshots sum the blocks of all slots."""

    def __init__(self, state: SharedStateFile, slot_index: int) -> None:
        self._state = state
        self._pid = os.getpid()
        self._view = _metrics_block(state.memory, slot_index)
        self._recorder = MetricsRecorder(self._view)

    @property
    def recorder(self) -> MetricsRecorder:
        """Writes this worker's block."""
        return self._recorder

    def snapshot(self) -> MetricsSnapshot:
        """Every slot ever claimed counts; gauges only from slots whose worker is alive.

        This worker's cells are published first; the others' are at most
        `PUBLISH_INTERVAL_S` old.
        """
        self._recorder.publish()
        memory = self._state.memory
        blocks = []
        for index in range(MAX_WORKER_SLOTS):
            pid = _SLOT.unpack_from(memory, _SLOTS_OFFSET + index * _SLOT.size)[0]
            if pid == 0:
                continue
            start = _METRICS_OFFSET + index * LAYOUT.block_bytes
            live = pid == self._pid or _process_alive(pid)
            blocks.append((memory[start : start + LAYOUT.block_bytes], live))
        return aggregate(blocks)

    def close(self) -> None:
        """Release the views of the map, so that the state file can be closed."""
        self._recorder.release()
        self._view.release()


class SharedControlLog:
    """Control calls counted and kept in the state file, numbered across workers (under the lock)."""

    def __init__(self, state: SharedStateFile) -> None:
        self._state = state

    def record(self, kind: ControlKind, at_unix_s: float) -> ControlEvent:
        """Count and keep one call."""
        with self._state.locked() as memory:
            total, *counts = _CONTROL_COUNTS.unpack_from(memory, _CONTROL_OFFSET)
            total += 1
            counts[CONTROL_KINDS.index(kind)] += 1
            _CONTROL_COUNTS.pack_into(memory, _CONTROL_OFFSET, total, *counts)
            slot = (total - 1) % CONTROL_EVENTS_KEPT
            offset = _CONTROL_RING_OFFSET + slot * _CONTROL_EVENT.size
            _CONTROL_EVENT.pack_into(memory, offset, total, CONTROL_KINDS.index(kind), at_unix_s)
        return ControlEvent(total, kind, at_unix_s)

    def report(self) -> ControlReport:
        """Counts and the newest calls."""
        with self._state.locked() as memory:
            total, *counts = _CONTROL_COUNTS.unpack_from(memory, _CONTROL_OFFSET)
            kept = min(total, CONTROL_EVENTS_KEPT)
            events = [
                _CONTROL_EVENT.unpack_from(memory, _CONTROL_RING_OFFSET + slot * _CONTROL_EVENT.size)
                for slot in range(kept)
            ]
        return control_report(
            total,
            dict(zip(CONTROL_KINDS, counts, strict=True)),
            (ControlEvent(sequence, CONTROL_KINDS[kind], at) for sequence, kind, at in events),
        )


class SharedSettingsSource:
    """Live settings for every worker: the start-up settings plus the changes in the state file.

    `current` costs one integer read while nothing changes; a worker that sees a new version
    re-reads the changes (under the lock) and rebuilds its Settings once.
    """

    def __init__(self, state: SharedStateFile, base: Settings) -> None:
        self._state = state
        self._base = base
        self._version = 0
        self._settings = base
        # The version word as one native u64 (little-endian on every platform we run on).
        self._version_word = memoryview(state.memory)[_TUNING_OFFSET : _TUNING_OFFSET + 8].cast("Q")

    def _read_changes(self, memory: mmap.mmap) -> dict[str, Any]:
        length = _U32.unpack_from(memory, _TUNING_LENGTH_OFFSET)[0]
        if length == 0:
            return {}
        changes: dict[str, Any] = msgspec.json.decode(
            memory[_TUNING_BLOB_OFFSET : _TUNING_BLOB_OFFSET + length]
        )
        return changes

    def current(self) -> Settings:
        """The settings in effect (re-read only when the version moved)."""
        if self._version_word[0] != self._version:
            with self._state.locked() as memory:
                version = _U64.unpack_from(memory, _TUNING_OFFSET)[0]
                changes = self._read_changes(memory)
            self._settings = tuned(self._base, changes)
            self._version = version
        return self._settings

    def update(self, changes: dict[str, Any]) -> Settings:
        """Validate the merged changes, then publish them with a new version."""
        with self._state.locked() as memory:
            merged = {**self._read_changes(memory), **changes}
            settings = tuned(self._base, merged)
            blob = msgspec.json.encode(merged)
            if len(blob) > TUNING_BLOB_BYTES:
                raise RequestError(f"the changes take {len(blob)} bytes, more than {TUNING_BLOB_BYTES}", None)
            version = _U64.unpack_from(memory, _TUNING_OFFSET)[0] + 1
            memory[_TUNING_BLOB_OFFSET : _TUNING_BLOB_OFFSET + len(blob)] = blob
            _U32.pack_into(memory, _TUNING_LENGTH_OFFSET, len(blob))
            _U64.pack_into(memory, _TUNING_OFFSET, version)
        self._settings = settings
        self._version = version
        return settings

    def close(self) -> None:
        """Release the view of the map, so that the state file can be closed."""
        self._version_word.release()


class SharedPromptCache:
    """The prompt cache of every worker: a small table of keys and expiry times, under the lock.

    A key lives in one of `PROMPT_CACHE_PROBES` slots from its hash; when all are taken by
    live keys, the one closest to expiring makes room (a full cache forgets, as a real one does).
    """

    def __init__(self, state: SharedStateFile) -> None:
        self._state = state

    def lookup_and_store(self, points: Sequence[CachePoint], now_unix_s: float) -> int:
        """The longest point alive, then every point stored for its lifetime."""
        with self._state.locked() as memory:
            longest = NOT_CACHED
            for index, point in enumerate(points):
                if self._find(memory, point.key, now_unix_s) is not None:
                    longest = index
            for point in points:
                slot = self._find(memory, point.key, now_unix_s)
                if slot is None:
                    slot = self._free_slot(memory, point.key, now_unix_s)
                _CACHE_SLOT.pack_into(memory, slot, point.key, now_unix_s + point.ttl_s)
            return longest

    @staticmethod
    def _slots(key: int) -> Iterator[int]:
        start = key % PROMPT_CACHE_SLOTS
        for probe in range(PROMPT_CACHE_PROBES):
            yield _PROMPT_CACHE_OFFSET + ((start + probe) % PROMPT_CACHE_SLOTS) * _CACHE_SLOT.size

    def _find(self, memory: mmap.mmap, key: int, now_unix_s: float) -> int | None:
        for offset in self._slots(key):
            stored, expires = _CACHE_SLOT.unpack_from(memory, offset)
            if stored == key and expires > now_unix_s:
                return offset
        return None

    def _free_slot(self, memory: mmap.mmap, key: int, now_unix_s: float) -> int:
        oldest_offset, oldest_expiry = -1, float("inf")
        for offset in self._slots(key):
            stored, expires = _CACHE_SLOT.unpack_from(memory, offset)
            if stored == 0 or expires <= now_unix_s or stored == key:
                return offset
            if expires < oldest_expiry:
                oldest_offset, oldest_expiry = offset, expires
        return oldest_offset
