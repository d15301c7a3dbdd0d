"""Metric blocks in the shared state file: summed over workers, kept when a worker dies."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockcore.metrics import LAYOUT, RequestOutcome
from mockhttp import shared_state
from mockhttp.metrics_recorder import RequestFacts
from mockhttp.shared_state import (
    SharedLoadTracker,
    SharedMetricsStore,
    SharedStateFile,
    create_shared_state_file,
)

ANSWER = RequestFacts(stream=False, body_bytes=50, ok_cell=LAYOUT.request_cell("chat", False, 200))
OUTCOME = RequestOutcome(
    prompt_tokens=30,
    completion_tokens=7,
    max_tokens=None,
    finish_reason="stop",
    first_token_s=0.01,
    end_s=0.1,
)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[SharedStateFile]:
    mapping = SharedStateFile(create_shared_state_file(str(tmp_path)))
    yield mapping
    mapping.close()


def store_as(state: SharedStateFile, pid: int, monkeypatch: pytest.MonkeyPatch) -> SharedMetricsStore:
    """The metrics store a worker with `pid` would have (its tracker claims the slot)."""
    with monkeypatch.context() as patch:
        patch.setattr(shared_state.os, "getpid", lambda: pid)
        return SharedMetricsStore(state, SharedLoadTracker(state).slot_index)


def test_two_workers_blocks_are_summed_and_a_dead_ones_counts_stay(
    state: SharedStateFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        mine = SharedMetricsStore(state, SharedLoadTracker(state).slot_index)
        mine_pid = shared_state.os.getpid()
        theirs = store_as(state, child.pid, monkeypatch)
        for store in (mine, theirs):
            store.recorder.request_started(37, stream=False)
            store.recorder.request_finished(OUTCOME, 37, ANSWER, 100)
            store.recorder.request_started(37, stream=False)  # still running
        snapshot = mine.snapshot()
        assert snapshot.counters["generation_tokens"] == 14
        assert snapshot.gauges["running"] == 2
        assert snapshot.gauges["kv_tokens"] == 74
    finally:
        child.kill()
        child.wait()
    after = mine.snapshot()
    assert after.counters["generation_tokens"] == 14, "a dead worker's counts stay"
    assert after.histograms["e2e_s"].count == 2
    assert after.gauges["running"] == 1, "a dead worker runs nothing"
    # A worker respawned into the dead one's slot adds to the same block.
    successor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        respawned = store_as(state, successor.pid, monkeypatch)
        respawned.recorder.request_started(37, stream=False)
        respawned.recorder.request_finished(OUTCOME, 37, ANSWER, 100)
        snapshot = mine.snapshot()
        assert snapshot.counters["generation_tokens"] == 21
        assert snapshot.histograms["e2e_s"].count == 3
        claimed = [
            shared_state._SLOT.unpack_from(
                state.memory, shared_state._SLOTS_OFFSET + index * shared_state._SLOT.size
            )[0]
            for index in range(3)
        ]
        assert claimed == [mine_pid, successor.pid, 0], "the successor took the dead worker's slot"
    finally:
        successor.kill()
        successor.wait()
    for store in (mine, theirs, respawned):
        store.close()
