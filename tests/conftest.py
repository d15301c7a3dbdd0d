"""Shared test configuration: hypothesis profiles sized for a loaded 2-core machine."""

import gc
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from tests import process_ledger

settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# -- every child process is waited for (tests/process_ledger.py) ----------------------------
process_ledger.install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    process_ledger.current_test = item.nodeid
    try:
        return (yield)
    finally:
        process_ledger.current_test = "(between tests: session teardown)"


def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.collect()
    if leaked := process_ledger.unreaped():
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n".join(f"  {line}" for line in leaked)
        if reporter is not None:
            reporter.write_line(f"child processes never waited for:\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
