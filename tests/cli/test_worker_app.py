"""What a worker process sets up around its app before Granian serves it."""

import json
import subprocess
import sys

_PROBE = """
import gc, json
from mockcli.worker import YOUNG_COLLECTION_THRESHOLD, create_worker_app
before = gc.get_threshold()
create_worker_app()
print(json.dumps({"before": before, "after": gc.get_threshold(), "young": YOUNG_COLLECTION_THRESHOLD,
                  "frozen": gc.get_freeze_count()}))
"""


def test_a_worker_freezes_its_startup_objects_and_collects_young_ones_past_its_own_threshold() -> None:
    # In a child process: the worker's setup resets signal handlers and the collector.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["young"] > probe["before"][0]
    assert probe["after"] == [probe["young"], *probe["before"][1:]]
    assert probe["frozen"] > 10_000  # the app, its routes and schemas: out of the collector's sight
