"""The suite's own safety nets: the process ledger, the e2e marker, and docs/testing.md."""

import gc
import re
import shlex
import subprocess
import sys
import warnings
import weakref
from pathlib import Path

import pytest
from tests import process_ledger

ROOT = Path(__file__).resolve().parents[1]


def test_a_popen_collected_unwaited_is_named_with_its_test_and_line() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    pid, handle = process.pid, weakref.ref(process)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del process
        gc.collect()
    messages = [str(warning.message) for warning in caught if warning.category is ResourceWarning]
    assert any(
        f"subprocess {pid} was never waited for" in message
        and "test_a_popen_collected_unwaited_is_named_with_its_test_and_line" in message
        and "test_suite_hygiene.py:" in message
        for message in messages
    ), messages
    # The standard library keeps the collected object alive (to reap it later): reap it now.
    resurrected = handle()
    assert resurrected is not None
    resurrected.wait()


def test_an_unreaped_process_is_listed_until_it_is_waited_for() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert any(line.startswith(f"pid {process.pid}:") for line in process_ledger.unreaped())
    finally:
        process.kill()
        process.wait()
    assert not any(line.startswith(f"pid {process.pid}:") for line in process_ledger.unreaped())


def test_a_server_started_by_a_test_not_marked_e2e_fails_it() -> None:
    with pytest.raises(AssertionError, match="is not marked e2e"):
        process_ledger.require_e2e("a server")


@pytest.mark.e2e
def test_a_test_marked_e2e_may_start_a_server() -> None:
    process_ledger.require_e2e("a server")


def test_every_make_command_in_docs_testing_is_a_target_that_runs() -> None:
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for line in re.findall(r"^make .*$", text, flags=re.MULTILINE)]
    assert len(commands) >= 5
    for command in commands:
        # -n: print what it would run, run nothing; a missing target or bad syntax fails here.
        dry = subprocess.run(
            ["make", "-n", *shlex.split(command)[1:]], cwd=ROOT, capture_output=True, text=True, check=False
        )
        assert dry.returncode == 0, (command, dry.stderr)
