"""Shared test configuration: hypothesis profiles sized for a loaded 2-core machine."""

import gc
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from tests import process_ledger

# `pytester` runs small test suites that use our pytest plugin (tests/plugin). It must be
# enabled here: pytest accepts `pytest_plugins` only in the top-level conftest.
pytest_plugins = ["pytester"]

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


# Fixtures that start a real server: a test that uses one, even through another fixture, is `e2e`
# (`pytest -m e2e` runs them as their own group, `-m "not e2e"` the rest). A server started by a
# test that is not marked fails that test (`process_ledger.require_e2e`), so this list cannot rot.
SERVER_FIXTURES = frozenset({"start_server", "cli_server", "shared_cli_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    process_ledger.current_test = item.nodeid
    process_ledger.current_markers = frozenset(marker.name for marker in item.iter_markers())
    try:
        return (yield)
    finally:
        process_ledger.current_test = "(between tests: session teardown)"
        process_ledger.current_markers = frozenset()


def pytest_sessionfinish(session: pytest.Session) -> None:
    gc.collect()
    if leaked := process_ledger.unreaped():
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n".join(f"  {line}" for line in leaked)
        if reporter is not None:
            reporter.write_line(f"child processes never waited for:\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
