"""structlog through the real command: JSON lines when stderr is not a TTY, access logs on demand."""

import time
from typing import Any

import httpx
import pytest
from tests.cli.conftest import CliServer, StartCliServer
from tests.server_process import free_port

from mockcli.options import FIELD_NAMES
from mockcore.settings import Settings, settings_as_config

pytestmark = pytest.mark.e2e

CHAT = "/v1/chat/completions"
STARTUP_EVENT = "starting aiperf-mock-server"


def access_records(server: CliServer, path: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Wait for `count` access lines of `path` (a line is written when the response ends)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [
            record
            for record in server.log_records()
            if record.get("logger") == "mockhttp.access" and record.get("path") == path
        ]
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_startup_line_is_json_with_the_effective_config(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(
        ["--port", str(port), "--ttft", "0", "--dcgm-gpu-name", "b200"],
        port=port,
        env={"MOCK_SERVER_ITL": "1.5"},
    )
    records = server.log_records()  # every line parses as JSON
    startup = [record for record in records if record.get("event") == STARTUP_EVENT]
    assert len(startup) == 1, server.stderr_text()
    (line,) = startup
    expected = settings_as_config(Settings(port=port, ttft=0.0, itl=1.5, dcgm_gpu_name="b200"))
    assert line["config"] == expected
    assert set(line["config"]) == set(FIELD_NAMES)
    assert line["url"] == f"http://127.0.0.1:{port}"
    assert line["level"] == "info"
    assert line["logger"] == "mockcli"
    assert "timestamp" in line
    # Granian's own lines go through the same formatter.
    assert any(record.get("logger", "").startswith("_granian") for record in records)


def test_no_access_lines_by_default(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--ttft", "0", "--itl", "0"], port=port)
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        assert client.get("/v1/models").status_code == 200
    time.sleep(0.3)
    assert not [record for record in server.log_records() if record.get("logger") == "mockhttp.access"]


def test_access_logs_one_json_line_per_request(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--ttft", "0", "--itl", "0", "--access-logs"], port=port)
    payload = {"model": "gpt-4", "messages": [{"role": "user", "content": "count to seven"}]}
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        plain = client.post(CHAT, json={**payload, "max_tokens": 7, "ignore_eos": True})
        assert plain.status_code == 200
        streamed = client.post(CHAT, json={**payload, "max_tokens": 5, "ignore_eos": True, "stream": True})
        assert streamed.status_code == 200
        assert (
            client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"}).status_code
            == 400
        )
        assert client.get("/v1/models").status_code == 200
    completion_tokens = plain.json()["usage"]["completion_tokens"]
    assert completion_tokens == 7

    chat = access_records(server, CHAT, 3)
    assert len(chat) == 3, server.stderr_text()
    for record in chat:
        assert record["method"] == "POST"
        assert isinstance(record["duration_ms"], int | float)
        assert record["duration_ms"] >= 0
        assert record["level"] == "info"
    assert [(record["status"], record["tokens"]) for record in chat] == [(200, 7), (200, 5), (400, 0)]

    (models,) = access_records(server, "/v1/models", 1)
    assert (models["method"], models["status"], models["tokens"]) == ("GET", 200, 0)


def test_access_logs_cover_unrouted_requests(cli_server: StartCliServer) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--ttft", "0", "--itl", "0", "--access-logs"], port=port)
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        assert client.get("/no/such/route").status_code == 404
        assert client.post("/health").status_code == 405
    missing = access_records(server, "/no/such/route", 1)
    time.sleep(0.5)
    wrong_method = [record for record in access_records(server, "/health", 1) if record["method"] == "POST"]
    assert [record["status"] for record in missing] == [404]
    assert [record["status"] for record in wrong_method] == [405]


def test_an_injected_abort_is_one_warning_and_an_access_line_never_a_traceback(
    cli_server: StartCliServer,
) -> None:
    port = free_port()
    server = cli_server(["--port", str(port), "--ttft", "0", "--itl", "1", "--access-logs"], port=port)
    payload = {
        "model": "gpt-4",
        "messages": [{"role": "user", "content": "tell me a long story"}],
        "max_tokens": 30,
    }
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        for stream in (False, True):
            with pytest.raises(httpx.RemoteProtocolError):
                client.post(CHAT, json={**payload, "stream": stream}, headers={"X-Mock-Fault": "abort"})
    records = access_records(server, CHAT, 2)
    assert [(record["fault"], record["sequence_number"]) for record in records] == [
        ("abort", 1),
        ("abort", 2),
    ]
    warnings = [
        record for record in server.log_records() if "injected abort fault" in record.get("event", "")
    ]
    assert len(warnings) == 2
    assert "Traceback" not in server.stderr_text()
    assert "InjectedAbort" not in server.stderr_text()
