"""A bad option or a server that does not come up fails the test with one readable message."""

import pytest

pytestmark = pytest.mark.e2e

INNER_SUITE = """
import pytest


@pytest.mark.mock_server(error_rate=150)
def test_a_value_out_of_range(mock_server):
    pass


@pytest.mark.mock_server(dcgm_gpu_name="h300")
def test_a_choice_that_does_not_exist(mock_server):
    pass


@pytest.mark.mock_server({"ttft": 0})
def test_a_marker_without_keywords(mock_server):
    pass


def test_an_unknown_factory_option(mock_server_factory):
    mock_server_factory(error_rat=5)


@pytest.mark.mock_server(workers=2)
def test_a_server_slower_than_the_start_timeout(mock_server):
    pass


@pytest.mark.mock_server(workers=2)
def test_a_failed_start_is_not_retried(mock_server):
    pass
"""


def test_each_broken_configuration_fails_with_a_readable_message(user_suite: pytest.Pytester) -> None:
    # No server starts in 50 ms (its imports alone take longer), so the start-up deadline passes.
    user_suite.makeini("[pytest]\nfilterwarnings =\n    error\nmock_server_start_timeout = 0.05\n")
    user_suite.makepyfile(test_user=INNER_SUITE)
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(errors=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a_value_out_of_range*",
            "mock_server(error_rate=150): Invalid value '150' for --error-rate: expected number 0-100.",
            "*ERROR at setup of test_a_choice_that_does_not_exist*",
            "mock_server(dcgm_gpu_name='h300'): Invalid value 'h300' for --dcgm-gpu-name: expected one of *",
            "*ERROR at setup of test_a_marker_without_keywords*",
            "@pytest.mark.mock_server takes keyword options only (ttft=0), not *",
            "*ERROR at setup of test_a_server_slower_than_the_start_timeout*",
            "mock_server(workers=2): the server did not come up within 0.05 s (/health and 2 started*",
            "command: * -m mockcli --workers 2 --port * --host 127.0.0.1",
            "exit status: none, still running",
            "last 30 lines of its output:",
            "*ERROR at setup of test_a_failed_start_is_not_retried*",
            "mock_server(workers=2): the server did not come up within 0.05 s*",
            "*test_an_unknown_factory_option*",
            "mock_server(error_rat=5): unknown option 'error_rat'; did you mean error_rate*",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
