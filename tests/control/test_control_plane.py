"""The control-plane calls benchmark clients make are answered, counted and listed in order."""

import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.server_process import ServerProcess, free_port

from mockcore import Settings
from mockcore.control import CONTROL_KINDS
from mockhttp import create_app


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0))) as test_client:
        yield test_client


@pytest.mark.parametrize("kind", CONTROL_KINDS)
def test_each_call_answers_200_with_the_event_it_recorded(client: TestClient[Any], kind: str) -> None:
    response = client.post(f"/{kind}", content=b"")
    assert response.status_code == 200
    event = response.json()
    assert (event["sequence"], event["kind"]) == (1, kind)
    assert event["at_unix_s"] > 1_700_000_000


def test_the_log_lists_calls_in_order_with_counts_and_the_profiler_state(client: TestClient[Any]) -> None:
    assert client.get("/control/events").json() == {
        "total": 0,
        "counts": dict.fromkeys(CONTROL_KINDS, 0),
        "profiling": False,
        "events": [],
    }
    client.post("/reset_prefix_cache")
    client.post("/start_profile")
    during = client.get("/control/events").json()
    assert during["profiling"] is True
    client.post("/stop_profile")
    client.post("/flush_cache?timeout=30")  # SGLang's spelling, with its query
    report = client.get("/control/events").json()
    assert report["total"] == 4
    assert report["profiling"] is False
    assert [event["kind"] for event in report["events"]] == [
        "reset_prefix_cache",
        "start_profile",
        "stop_profile",
        "flush_cache",
    ]
    assert [event["sequence"] for event in report["events"]] == [1, 2, 3, 4]
    assert report["counts"] == {
        "reset_prefix_cache": 1,
        "flush_cache": 1,
        "start_profile": 1,
        "stop_profile": 1,
    }


def test_only_post_is_a_control_call(client: TestClient[Any]) -> None:
    assert client.get("/reset_prefix_cache").status_code == 405
    assert client.get("/control/events").json()["total"] == 0


def test_calls_are_counted_in_the_metrics(client: TestClient[Any]) -> None:
    client.post("/reset_prefix_cache")
    client.post("/reset_prefix_cache")
    families = {family.name: family for family in text_string_to_metric_families(client.get("/metrics").text)}
    counts = {sample.labels["kind"]: sample.value for sample in families["aiperf_mock_control_calls"].samples}
    assert counts == {
        "reset_prefix_cache": 2.0,
        "flush_cache": 0.0,
        "start_profile": 0.0,
        "stop_profile": 0.0,
    }


@pytest.fixture
def cli_server() -> Iterator[ServerProcess]:
    port = free_port()
    server = ServerProcess(
        [sys.executable, "-m", "mockcli", "--port", str(port), "--workers", "4"], port=port
    )
    try:
        server.wait_until_healthy()
        server.wait_for_workers(4)
        yield server
    finally:
        server.close()


def test_calls_are_numbered_across_four_workers(cli_server: ServerProcess) -> None:
    # A new connection per call, so that the calls spread over the workers.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=cli_server.base_url, timeout=30.0, trust_env=False, limits=no_reuse) as client:
        sequences = [client.post(f"/{CONTROL_KINDS[index % 4]}").json()["sequence"] for index in range(40)]
        report = client.get("/control/events").json()
    assert sorted(sequences) == list(range(1, 41))
    assert report["total"] == 40
    assert report["counts"] == dict.fromkeys(CONTROL_KINDS, 10)
    assert [event["sequence"] for event in report["events"]] == list(range(1, 41))
