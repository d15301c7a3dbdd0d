"""The state file shared by the workers: the sequence counter and the per-worker load slots.

Two mappings of one file in this process stand for two workers; a `multiprocessing` child
(spawned: nothing inherited) is a real second process. A load slot belongs to a PID, so the
tests that need several "workers" in this process lend each tracker the PID of a helper
process (alive, or dead and reaped).
"""

import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockhttp import shared_state
from mockhttp.shared_state import (
    SharedLoadTracker,
    SharedSequence,
    SharedStateFile,
    create_shared_state_file,
)

# Run in the spawned child by the builtin `exec` (picklable, unlike a function of this module).
_CHILD_CODE = """
from pathlib import Path
from mockhttp.shared_state import SharedLoadTracker, SharedSequence, SharedStateFile

state = SharedStateFile(Path(path))
sequence = SharedSequence(state)
tracker = SharedLoadTracker(state)
ready.wait(30)
numbers = [sequence.next_sequence_number() for _ in range(count)]
tracker.request_started()
tracker.request_started()
tracker.request_started()
tracker.request_finished(5)
results.put(numbers)
release.wait(30)
state.close()
"""


@pytest.fixture
def state_path(tmp_path: Path) -> Iterator[Path]:
    path = create_shared_state_file(str(tmp_path))
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def mappings(state_path: Path) -> Iterator[tuple[SharedStateFile, SharedStateFile]]:
    first, second = SharedStateFile(state_path), SharedStateFile(state_path)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The PID of a process that stays alive for the test."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield sleeper.pid
    sleeper.kill()
    sleeper.wait()


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def slot_pids(state: SharedStateFile, count: int) -> list[int]:
    """The PIDs in the first `count` worker slots."""
    size = shared_state._SLOT.size
    return [
        shared_state._SLOT.unpack_from(state.memory, shared_state._SLOTS_OFFSET + index * size)[0]
        for index in range(count)
    ]


def tracker_as(state: SharedStateFile, pid: int, monkeypatch: pytest.MonkeyPatch) -> SharedLoadTracker:
    """A load tracker that claims its slot for `pid` (as a worker with that PID would)."""
    with monkeypatch.context() as patch:
        patch.setattr(shared_state.os, "getpid", lambda: pid)
        return SharedLoadTracker(state)


def test_new_file_is_zeroed_and_marked(state_path: Path) -> None:
    data = state_path.read_bytes()
    assert len(data) == shared_state.FILE_BYTES
    assert data.startswith(shared_state.MAGIC)
    assert data[len(shared_state.MAGIC) :] == bytes(shared_state.FILE_BYTES - len(shared_state.MAGIC))


def test_default_location_is_shared_memory() -> None:
    path = create_shared_state_file()
    try:
        if Path("/dev/shm").is_dir():  # noqa: S108 - asserting where the CLI puts it
            assert path.parent == Path("/dev/shm")  # noqa: S108
        assert path.name.startswith("aiperf-mock-server-")
    finally:
        path.unlink()


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.state"
    foreign.write_bytes(bytes(shared_state.FILE_BYTES))
    with pytest.raises(ValueError, match="not an aiperf-mock-server state file"):
        SharedStateFile(foreign)


def test_two_mappings_draw_distinct_gap_free_numbers(
    mappings: tuple[SharedStateFile, SharedStateFile],
) -> None:
    first, second = (SharedSequence(state) for state in mappings)
    drawn = [(first if index % 3 else second).next_sequence_number() for index in range(100)]
    assert drawn == list(range(1, 101))


def test_threads_on_two_mappings_draw_distinct_gap_free_numbers(
    mappings: tuple[SharedStateFile, SharedStateFile],
) -> None:
    sequences = [SharedSequence(state) for state in mappings]
    drawn: list[list[int]] = [[], [], [], []]
    start = threading.Barrier(4)

    def draw(slot: int) -> None:
        sequence = sequences[slot % 2]
        start.wait()
        drawn[slot].extend(sequence.next_sequence_number() for _ in range(300))

    threads = [threading.Thread(target=draw, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [number for numbers in drawn for number in numbers]
    assert sorted(everything) == list(range(1, 1201))
    for numbers in drawn:
        assert numbers == sorted(numbers)  # each worker sees its own numbers increase


def test_a_real_child_process_and_two_mappings_share_one_sequence(
    state_path: Path, mappings: tuple[SharedStateFile, SharedStateFile]
) -> None:
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    results: Any = context.Queue()
    count = 400
    child = context.Process(
        target=exec,
        args=(
            _CHILD_CODE,
            {"path": str(state_path), "count": count, "ready": ready, "release": release, "results": results},
        ),
    )
    child.start()
    try:
        first, second = (SharedSequence(state) for state in mappings)
        tracker = SharedLoadTracker(mappings[0])
        ready.set()
        mine = [(first if index % 2 else second).next_sequence_number() for index in range(count)]
        theirs = results.get(timeout=60)
        assert sorted(mine + theirs) == list(range(1, 2 * count + 1))
        assert mine == sorted(mine)
        assert theirs == sorted(theirs)

        # The child's slot counts while it lives: 2 in flight, 1 served with 5 tokens.
        tracker.request_started()
        snapshot = tracker.snapshot()
        assert (snapshot.in_flight_requests, snapshot.requests_served, snapshot.tokens_emitted) == (3, 1, 5)
    finally:
        release.set()
        child.join(60)
        if child.is_alive():
            child.kill()
            child.join()
        results.close()
        results.join_thread()
    assert child.exitcode == 0
    # Once it is gone, its requests are no longer in flight; what it served still counts.
    snapshot = tracker.snapshot()
    assert (snapshot.in_flight_requests, snapshot.requests_served, snapshot.tokens_emitted) == (1, 1, 5)


def test_load_slots_sum_across_mappings(
    mappings: tuple[SharedStateFile, SharedStateFile], live_pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = SharedLoadTracker(mappings[0])
    other = tracker_as(mappings[1], live_pid, monkeypatch)
    mine.request_started()
    mine.request_started()
    mine.request_finished(10)
    other.request_started()
    other.request_started()
    other.request_started()
    other.request_finished(4)
    other.request_finished(6)
    for tracker in (mine, other):
        snapshot = tracker.snapshot()
        assert snapshot.in_flight_requests == 1 + 1
        assert snapshot.requests_served == 1 + 2
        assert snapshot.tokens_emitted == 10 + 10


def test_a_dead_workers_slot_is_reclaimed(
    mappings: tuple[SharedStateFile, SharedStateFile], live_pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = dead_pid()
    survivor = tracker_as(mappings[0], live_pid, monkeypatch)  # first slot
    dead = tracker_as(mappings[0], gone, monkeypatch)  # second slot (its process is gone already)
    dead.request_started()
    dead.request_started()
    dead.request_finished(7)
    survivor.request_started()

    snapshot = survivor.snapshot()
    # The dead worker's open request is not in flight any more; its history still counts.
    assert (snapshot.in_flight_requests, snapshot.requests_served, snapshot.tokens_emitted) == (1, 1, 7)

    assert slot_pids(mappings[1], 3) == [live_pid, gone, 0]

    respawned = SharedLoadTracker(mappings[1])  # this process: the worker Granian respawned
    assert slot_pids(mappings[1], 3) == [live_pid, os.getpid(), 0]  # the dead one's slot, not a new one
    snapshot = respawned.snapshot()
    # The reclaimed slot keeps the dead worker's history: totals never go backwards.
    assert (snapshot.in_flight_requests, snapshot.requests_served, snapshot.tokens_emitted) == (1, 1, 7)
    respawned.request_started()
    respawned.request_finished(3)
    snapshot = survivor.snapshot()
    assert (snapshot.in_flight_requests, snapshot.requests_served, snapshot.tokens_emitted) == (1, 2, 10)


def test_every_slot_taken_by_a_live_worker_is_an_error(
    state_path: Path, live_pid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SharedStateFile(state_path)
    try:
        # Distinct live PIDs are scarce: mark every slot as the claim would, for one live PID.
        offsets = range(
            shared_state._SLOTS_OFFSET,
            shared_state._SLOTS_OFFSET + shared_state.MAX_WORKER_SLOTS * shared_state._SLOT.size,
            shared_state._SLOT.size,
        )
        for offset in offsets:
            shared_state._SLOT.pack_into(state.memory, offset, live_pid, 0, 0, 0)
        with pytest.raises(RuntimeError, match="no free worker slot"):
            SharedLoadTracker(state)
        # The same live PID re-claiming its own slot is fine (an app rebuilt in one worker).
        assert tracker_as(state, live_pid, monkeypatch).snapshot().in_flight_requests == 0
    finally:
        state.close()
