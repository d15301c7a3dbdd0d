"""`mock_server` and `mock_server_factory`: real servers, one per option set, stopped at the end."""

import pytest
from tests.server_process import pid_alive

pytestmark = pytest.mark.e2e

INNER_SUITE = """
import json
import urllib.request

import pytest

from mockcore.settings import settings_as_config

seen = {}


def health(server):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(server.base_url + "/health", timeout=30) as response:
        return json.load(response)


def record(server):
    with open("pids.txt", "a") as pids:
        pids.write(f"{server.pid}\\n")


def test_the_default_server_runs_the_settings_it_reports(mock_server):
    record(mock_server)
    seen["default"] = mock_server
    assert health(mock_server)["config"] == settings_as_config(mock_server.settings)
    assert mock_server.openai_base_url == f"http://127.0.0.1:{mock_server.port}/v1"


def test_the_default_server_is_shared_by_the_session(mock_server):
    assert mock_server is seen["default"]


@pytest.mark.mock_server(ttft=0, itl=0, workers=2)
def test_a_marker_gets_a_server_with_its_options(mock_server):
    record(mock_server)
    seen["marked"] = mock_server
    assert mock_server is not seen["default"]
    config = health(mock_server)["config"]
    assert config == settings_as_config(mock_server.settings)
    assert (config["ttft"], config["itl"], config["workers"]) == (0.0, 0.0, 2)


@pytest.mark.mock_server(workers=2, itl=0, ttft=0.0)
def test_the_same_options_share_the_server(mock_server):
    assert mock_server is seen["marked"]


def test_the_factory_serves_several_configurations(mock_server_factory):
    fast = mock_server_factory(ttft=0, itl=0, workers=2)
    seeded = mock_server_factory(ttft=0, itl=0, random_seed=11)
    record(seeded)
    assert fast is seen["marked"]
    assert seeded.port != fast.port
    assert health(seeded)["config"]["random_seed"] == 11
"""


def test_servers_are_shared_per_option_set_and_stopped_at_the_end(user_suite: pytest.Pytester) -> None:
    user_suite.makepyfile(test_user=INNER_SUITE)
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(passed=5)
    pids = [int(line) for line in (user_suite.path / "pids.txt").read_text().split()]
    assert len(set(pids)) == 3
    # pytest returned only after the session closed its servers: none is left running.
    assert [pid for pid in pids if pid_alive(pid)] == []
