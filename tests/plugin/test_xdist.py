"""With pytest-xdist, each worker process gets its own server on its own port."""

import pytest
from tests.server_process import pid_alive

pytestmark = pytest.mark.e2e

INNER_SUITE = """
import os
import urllib.request

import pytest


@pytest.mark.parametrize("number", range(6))
def test_the_worker_has_a_server(mock_server, number):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(mock_server.base_url + "/health", timeout=30) as response:
        assert response.status == 200
    worker = os.environ["PYTEST_XDIST_WORKER"]
    with open(f"{worker}-{number}.txt", "w") as seen:
        seen.write(f"{worker} {mock_server.port} {mock_server.pid}")
"""


def test_each_xdist_worker_runs_its_own_server(user_suite: pytest.Pytester) -> None:
    user_suite.makepyfile(test_user=INNER_SUITE)
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", timeout=180)
    result.assert_outcomes(passed=6)
    seen = [path.read_text().split() for path in user_suite.path.glob("gw*-*.txt")]
    assert len(seen) == 6
    servers = {worker: {(port, pid) for other, port, pid in seen if other == worker} for worker, _, _ in seen}
    assert sorted(servers) == ["gw0", "gw1"], seen
    assert all(len(server) == 1 for server in servers.values()), servers
    (first,), (second,) = servers.values()
    assert first[0] != second[0], "both workers' servers on one port"
    assert not any(pid_alive(int(pid)) for _, _, pid in seen)
