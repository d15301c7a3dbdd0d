"""The metrics say what the server did: counts equal the usage sent, on 1 and on 4 workers.

A known workload (chat streamed and not, batched completions, embeddings, a bad request) is
sent, the `usage` of every answer summed, and the scrape compared with the sums. With four
workers the scrape is answered by any of them and must still be the server-wide truth; while
a worker is killed and respawned, no counter may go backwards.
"""

import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.server_process import ServerProcess, free_port

from mockcore import Settings
from mockhttp import create_app
from mockhttp.metrics_recorder import PUBLISH_INTERVAL_S

CHAT = "/v1/chat/completions"
PROMPT = [{"role": "user", "content": "Explain continuous batching in a few words, please. " * 3}]
StartServer = Callable[[list[str]], ServerProcess]


def workload() -> list[tuple[str, dict[str, Any]]]:
    """Requests of every kind the metrics cover; streams ask for their usage."""
    requests: list[tuple[str, dict[str, Any]]] = []
    for index in range(6):
        body: dict[str, Any] = {
            "model": "gpt-4",
            "messages": [*PROMPT, {"role": "user", "content": f"#{index}"}],
        }
        if index % 3 == 0:
            body["max_tokens"] = 5 + index  # ends with "length"
        if index % 2:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        requests.append((CHAT, body))
    requests.append(
        ("/v1/completions", {"model": "m", "prompt": ["alpha beta gamma", "delta"], "max_tokens": 7})
    )
    requests.append(("/v1/embeddings", {"model": "e", "input": ["one text", "another text here"]}))
    return requests


class Sent(msgspec.Struct):
    """What the client received, summed."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    generations: int = 0
    itl_observations: int = 0
    finished: Counter[str] = msgspec.field(default_factory=Counter)
    answered: int = 0


def finish_of(reasons: list[str]) -> str:
    return "length" if "length" in reasons else "stop"


def send_workload(post: Callable[[str, dict[str, Any]], httpx.Response]) -> Sent:
    sent = Sent()
    for path, body in workload():
        response = post(path, body)
        assert response.status_code == 200, response.text
        if body.get("stream"):
            chunks = [
                msgspec.json.decode(line.removeprefix("data: "))
                for line in response.text.splitlines()
                if line.startswith("data: {")
            ]
            usage = chunks[-1]["usage"]
            reasons = [choice.get("finish_reason") for chunk in chunks for choice in chunk["choices"]]
        else:
            answer = response.json()
            usage = answer["usage"]
            items = answer["data"] if path == "/v1/embeddings" else answer["choices"]
            reasons = [item.get("finish_reason") for item in items]
        sent.prompt_tokens += usage["prompt_tokens"]
        sent.answered += 1
        if path != "/v1/embeddings":
            sent.completion_tokens += usage["completion_tokens"]
            sent.generations += 1
            sent.itl_observations += usage["completion_tokens"] - 1
        sent.finished[finish_of([reason for reason in reasons if reason])] += 1
    bad = post(CHAT, {"model": "gpt-4"})  # no messages: a 400, counted by route and status only
    assert bad.status_code == 400
    return sent


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, labels without the model and engine)."""
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(
                sorted((k, v) for k, v in sample.labels.items() if k not in {"model_name", "engine"})
            )
            values[(sample.name, labels)] = sample.value
    return values


def assert_metrics_match(text: str, sent: Sent) -> None:
    values = scrape(text)
    assert values[("vllm:generation_tokens_total", ())] == sent.completion_tokens
    assert values[("vllm:prompt_tokens_total", ())] == sent.prompt_tokens
    for reason in ("stop", "length", "abort", "error"):
        key = ("vllm:request_success_total", (("finished_reason", reason),))
        assert values[key] == sent.finished[reason], reason
    assert values[("vllm:time_to_first_token_seconds_count", ())] == sent.generations
    assert values[("vllm:request_generation_tokens_count", ())] == sent.generations
    assert values[("vllm:request_generation_tokens_sum", ())] == sent.completion_tokens
    assert values[("vllm:inter_token_latency_seconds_count", ())] == sent.itl_observations
    assert values[("vllm:e2e_request_latency_seconds_count", ())] == sent.answered
    assert values[("vllm:request_prompt_tokens_sum", ())] == sent.prompt_tokens
    errors = ("aiperf_mock_requests_total", (("route", "chat"), ("status", "400"), ("stream", "false")))
    assert values.get(errors) == 1
    assert values[("vllm:num_requests_running", ())] == 0
    assert values[("aiperf_mock_open_streams", ())] == 0


def test_in_process_counts_equal_the_usage_sent() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0))) as client:
        sent = send_workload(lambda path, body: client.post(path, json=body))
        assert_metrics_match(client.get("/metrics").text, sent)
        sglang = scrape(client.get("/sglang/metrics").text)
        assert sglang[("sglang:generation_tokens_total", ())] == sent.completion_tokens
        frontend = scrape(client.get("/dynamo_frontend/metrics").text)
        assert (
            frontend[("dynamo_frontend_output_tokens_total", (("model", "mock-model"),))]
            == sent.completion_tokens
        )


@pytest.fixture
def cli_server() -> Iterator[StartServer]:
    started: list[ServerProcess] = []

    def start(args: list[str]) -> ServerProcess:
        port = free_port()
        server = ServerProcess([sys.executable, "-m", "mockcli", "--port", str(port), *args], port=port)
        started.append(server)
        server.wait_until_healthy()
        return server

    yield start
    for server in started:
        server.close()


@pytest.mark.parametrize("workers", [1, 4])
def test_a_real_server_counts_equal_the_usage_sent(cli_server: StartServer, workers: int) -> None:
    server = cli_server(["--workers", str(workers), "--ttft", "1", "--itl", "1"])
    server.wait_for_workers(workers)
    # A new connection per request, so that the workers share the load (and the scrapes).
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=server.base_url, timeout=60.0, trust_env=False, limits=no_reuse) as client:
        sent = send_workload(lambda path, body: client.post(path, json=body))
        if workers > 1:
            busy = [slot for slot in server.worker_slots().values() if slot.served]
            assert len(busy) >= 2, "one worker served everything: the test would prove nothing"
        # Workers publish their counts within PUBLISH_INTERVAL_S; then any worker that answers
        # a scrape must give the whole server's view.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                assert_metrics_match(client.get("/metrics").text, sent)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(PUBLISH_INTERVAL_S)
        for _ in range(8):
            assert_metrics_match(client.get("/metrics").text, sent)


def counter_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Counters, histogram buckets and counts: everything that may never decrease."""
    values = {}
    for family in text_string_to_metric_families(text):
        if family.type not in {"counter", "histogram"}:
            continue
        for sample in family.samples:
            if family.type == "histogram" and sample.name.endswith("_sum"):
                continue
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


@pytest.mark.slow
def scrape_metrics(client: httpx.Client, attempts: int = 20) -> str:
    """`/metrics` on a fresh connection, retried while a killed worker's connections reset.

    A connection the kernel handed to the worker just killed (kept alive, or still in its
    queue) is reset; that is a lost scrape, not a counter going backwards.
    """
    for _ in range(attempts - 1):
        try:
            return client.get("/metrics", headers={"connection": "close"}).text
        except httpx.TransportError:
            time.sleep(0.05)
    return client.get("/metrics", headers={"connection": "close"}).text


def test_counters_never_go_backwards_while_a_worker_is_killed_and_respawned(cli_server: StartServer) -> None:
    server = cli_server(["--workers", "4", "--ttft", "1", "--itl", "1"])
    workers = server.wait_for_workers(4)
    stop = threading.Event()
    errors: list[BaseException] = []

    def traffic() -> None:
        with httpx.Client(base_url=server.base_url, timeout=60.0, trust_env=False) as client:
            while not stop.is_set():
                try:
                    client.post(
                        CHAT, json={"model": "m", "messages": PROMPT, "max_tokens": 8, "stream": True}
                    )
                except httpx.HTTPError:
                    continue  # a request on the killed worker's connection may fail: that is the point
                except BaseException as error:  # noqa: BLE001 - recorded, then asserted on
                    errors.append(error)
                    return

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for thread in threads:
        thread.start()
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    try:
        with httpx.Client(base_url=server.base_url, timeout=60.0, trust_env=False) as scraper:
            for index in range(50):
                if index == 10:  # one worker dies; Granian respawns it into the same slot
                    os.kill(workers[1], signal.SIGKILL)
                current = counter_samples(scrape_metrics(scraper))
                for key, value in previous.items():
                    if current.get(key, 0.0) < value:  # say whether later scrapes see it too
                        later = [counter_samples(scrape_metrics(scraper)).get(key) for _ in range(5)]
                        slots = server.worker_slots()
                        pytest.fail(
                            f"{key} went from {value} to {current.get(key)} at scrape {index}; "
                            f"the next five scrapes: {later}; worker slots: {slots}"
                        )
                previous = current
        deadline = time.monotonic() + 60.0
        while len(server.worker_pids()) < 5:  # four plus the respawned one
            assert time.monotonic() < deadline, "the killed worker was not respawned"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors
    assert previous[("vllm:generation_tokens_total", (("engine", "0"), ("model_name", "mock-model")))] > 0
