"""Readiness and the model list: a server that is still "loading" when it starts.

`--inference-ready-delay-seconds` makes the four inference routes answer 503 with
`Retry-After` (code `model_not_ready`) until that long after the start;
`--models-ready-delay-seconds` makes `/v1/models` list no model for as long; `GET
/health/ready` says 200 once both passed, else 503 with what is left of each. Also
`--disable-models-endpoint` (404) and `--default-model` (listed first, the engine metrics'
label).

In process with a fake clock for the exact waits, with the real clock once (the delays count
from the app's creation), and with the real CLI and the official client, which waits out the
503s on its own by their `Retry-After`.
"""

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.cli.conftest import CliServer
from tests.server_process import free_port

from mockcore import Settings
from mockcore.models import ADVERTISED_MODEL_IDS
from mockcore.readiness import readiness_report, retry_after_s
from mockhttp import create_app
from mockhttp.services import Services

MESSAGES = [{"role": "user", "content": "hello"}]
REQUESTS: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": "m", "messages": MESSAGES, "max_tokens": 2},
    "/v1/completions": {"model": "m", "prompt": "hello", "max_tokens": 2},
    "/v1/embeddings": {"model": "m", "input": "hello"},
    "/v1/ranking": {"model": "m", "query": {"text": "q"}, "passages": [{"text": "a"}, {"text": "b"}]},
}
STREAM = {"model": "m", "messages": MESSAGES, "max_tokens": 2, "stream": True}
T0 = 1000.0


class FakeClock:
    """The services' monotonic clock, moved by hand.

    The app reads the wall clock once more while it is built, after the start time was taken:
    the waits it computes can come out that much (well under 0.3 s) shorter, so the checks
    below keep clear of whole-second boundaries by more than that.
    """

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def delayed_app(clock: FakeClock, *, started_ago_s: float = 0.0, **delays: Any) -> Any:
    """An app on `clock` that started `started_ago_s` before now, with the given delays."""
    settings = Settings(ttft=0.0, itl=0.0, **delays)
    services = Services(settings=settings, clock=clock, started_at_unix=time.time() - started_ago_s)
    return create_app(services=services)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def loading(clock: FakeClock) -> Iterator[TestClient[Any]]:
    """Inference ready 2.5 s after the start, the model list 1 s after."""
    app = delayed_app(clock, inference_ready_delay_seconds=2.5, models_ready_delay_seconds=1.0)
    with TestClient(app) as client:
        yield client


def assert_not_ready(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(retry_after)
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["code"], error["param"]) == ("server_error", "model_not_ready", None)
    assert "--inference-ready-delay-seconds" in error["message"]


# -- the inference routes --------------------------------------------------------------------


def test_every_inference_route_answers_503_until_the_delay_passed(
    loading: TestClient[Any], clock: FakeClock
) -> None:
    for path, body in REQUESTS.items():
        assert_not_ready(loading.post(path, json=body), retry_after=3)
    assert_not_ready(loading.post("/v1/chat/completions", json=STREAM), retry_after=3)
    clock.now = T0 + 2.5
    for path, body in REQUESTS.items():
        assert loading.post(path, json=body).status_code == 200, path
    streamed = loading.post("/v1/chat/completions", json=STREAM)
    assert streamed.status_code == 200
    assert streamed.text.rstrip().endswith("data: [DONE]")


def test_retry_after_is_the_wait_rounded_up_to_whole_seconds_and_at_least_one(
    loading: TestClient[Any], clock: FakeClock
) -> None:
    chat = REQUESTS["/v1/chat/completions"]
    for elapsed, retry_after in [(0.0, 3), (0.8, 2), (1.8, 1), (2.0, 1)]:
        clock.now = T0 + elapsed
        assert_not_ready(loading.post("/v1/chat/completions", json=chat), retry_after)


def test_the_readiness_refusal_comes_before_the_body_is_read(loading: TestClient[Any]) -> None:
    response = loading.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_not_ready(response, retry_after=3)


# -- GET /health/ready -----------------------------------------------------------------------


def test_health_ready_says_how_long_each_part_still_loads(loading: TestClient[Any], clock: FakeClock) -> None:
    response = loading.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert set(body) == {"status", "inference_ready_in_s", "models_ready_in_s"}
    assert body["status"] == "loading"
    assert 2.0 < body["inference_ready_in_s"] <= 2.5
    assert 0.5 < body["models_ready_in_s"] <= 1.0

    clock.now = T0 + 1.5  # the models are listed, inference still loads
    response = loading.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["models_ready_in_s"] == 0.0
    assert 0.5 < body["inference_ready_in_s"] <= 1.0

    clock.now = T0 + 2.5
    response = loading.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert "retry-after" not in response.headers


def test_the_models_delay_alone_keeps_health_ready_at_503(clock: FakeClock) -> None:
    with TestClient(delayed_app(clock, models_ready_delay_seconds=4.6)) as client:
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["inference_ready_in_s"] == 0.0
        assert client.post("/v1/embeddings", json=REQUESTS["/v1/embeddings"]).status_code == 200


def test_health_ready_is_200_at_once_without_delays(clock: FakeClock) -> None:
    with TestClient(delayed_app(clock)) as client:
        response = client.get("/health/ready")
        assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_health_stays_200_while_loading(loading: TestClient[Any]) -> None:
    response = loading.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


# -- GET /v1/models --------------------------------------------------------------------------


def test_the_model_list_is_empty_until_the_models_delay_passed(
    loading: TestClient[Any], clock: FakeClock
) -> None:
    assert loading.get("/v1/models").json() == {"object": "list", "data": []}
    clock.now = T0 + 1.0
    listed = loading.get("/v1/models").json()
    assert [card["id"] for card in listed["data"]] == list(ADVERTISED_MODEL_IDS)


def test_delays_count_from_the_server_start_not_from_the_app(clock: FakeClock) -> None:
    # A worker created 5 s after the start (the CLI's clock): both 2 s delays are over.
    app = delayed_app(
        clock, started_ago_s=5.0, inference_ready_delay_seconds=2.0, models_ready_delay_seconds=2.0
    )
    with TestClient(app) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.post("/v1/chat/completions", json=REQUESTS["/v1/chat/completions"]).status_code == 200
        assert client.get("/v1/models").json()["data"]


def test_the_disabled_models_endpoint_answers_404_in_the_envelope() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, disable_models_endpoint=True))) as client:
        response = client.get("/v1/models")
        assert response.status_code == 404
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
        assert "/v1/models" in error["message"]
        assert client.post("/v1/chat/completions", json=REQUESTS["/v1/chat/completions"]).status_code == 200
        assert client.get("/health/ready").status_code == 200


@pytest.mark.parametrize(
    ("default_model", "listed"),
    [
        ("my-org/my-model", ["my-org/my-model", *ADVERTISED_MODEL_IDS]),
        ("gpt-4", ["gpt-4", *(name for name in ADVERTISED_MODEL_IDS if name != "gpt-4")]),
    ],
    ids=["a new name", "an advertised name"],
)
def test_the_default_model_is_listed_first_and_once(default_model: str, listed: list[str]) -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, default_model=default_model))) as client:
        cards = client.get("/v1/models").json()["data"]
    assert [card["id"] for card in cards] == listed
    assert len(set(listed)) == len(listed)


@pytest.mark.parametrize("path", ["/metrics", "/vllm/metrics", "/sglang/metrics", "/trtllm/metrics"])
def test_the_engine_metrics_are_labelled_with_the_default_model(path: str) -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, default_model="my-org/my-model"))) as client:
        client.post("/v1/chat/completions", json=REQUESTS["/v1/chat/completions"])
        text = client.get(path).text
    names = {
        sample.labels["model_name"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "model_name" in sample.labels
    }
    assert names == {"my-org/my-model"}


# -- on the real clock -----------------------------------------------------------------------


def test_on_the_real_clock_inference_opens_once_the_delay_after_creation_passed() -> None:
    chat = REQUESTS["/v1/chat/completions"]
    before = time.monotonic()
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, inference_ready_delay_seconds=1.0))) as client:
        first = client.post("/v1/chat/completions", json=chat)
        assert first.status_code == 503
        assert first.headers["retry-after"] == "1"
        while (response := client.post("/v1/chat/completions", json=chat)).status_code == 503:
            assert time.monotonic() - before < 5.0, "inference never became ready"
            time.sleep(0.05)
        opened = time.monotonic() - before
    assert response.status_code == 200
    assert opened >= 1.0


# -- the real CLI and the official client ----------------------------------------------------

CLI_DELAY_S = 2.0  # from the CLI's start; /health answers about 0.2-0.8 s after it


@pytest.fixture
def cli_server() -> Iterator[CliServer]:
    """The real command with the inference delay, healthy (and so still loading)."""
    port = free_port()
    args = [
        "--port",
        str(port),
        "--ttft",
        "0",
        "--itl",
        "0",
        "--inference-ready-delay-seconds",
        str(CLI_DELAY_S),
    ]
    server = CliServer(args, port=port)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.close()


def test_the_cli_answers_503_then_200_and_the_openai_client_waits_it_out(cli_server: CliServer) -> None:
    server = cli_server
    with httpx.Client(base_url=server.base_url, timeout=10.0, trust_env=False) as http:
        ready = http.get("/health/ready")
        assert ready.status_code == 503, "the server was ready before the test could look"
        left = ready.json()["inference_ready_in_s"]
        assert 0 < left <= CLI_DELAY_S
        refused = http.post("/v1/chat/completions", json=REQUESTS["/v1/chat/completions"])
        assert refused.status_code == 503
        assert 1 <= int(refused.headers["retry-after"]) <= math.ceil(CLI_DELAY_S)
        assert refused.json()["error"]["code"] == "model_not_ready"

        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", timeout=10.0) as client:
            assert client.max_retries == 2  # the SDK's default
            raw = client.chat.completions.with_raw_response.create(
                model="mock-model", messages=[{"role": "user", "content": "hello"}], max_tokens=2
            )
        assert raw.retries_taken >= 1
        assert raw.parse().choices[0].message.content
        assert http.get("/health/ready").json() == {"status": "ready"}
        assert http.post("/v1/chat/completions", json=REQUESTS["/v1/chat/completions"]).status_code == 200


def test_the_readiness_rules_of_the_core() -> None:
    """Retry-After rounds a wait up to whole seconds (at least 1); the report is both waits or ready."""
    assert [retry_after_s(wait) for wait in (0.0, 0.2, 1.0, 1.01, 2.5)] == [1, 1, 1, 2, 3]
    assert readiness_report(0.0, -3.0).status == "ready"
    loading = readiness_report(1.23456, -1.0)
    assert (loading.status, loading.inference_ready_in_s, loading.models_ready_in_s) == (
        "loading",
        1.235,
        0.0,
    )
