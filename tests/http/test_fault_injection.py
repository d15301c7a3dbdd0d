"""SPEC section 9: injected faults, on a real server, against `mockcore.predict`."""

from typing import Any

import httpx
import openai
import pytest
from tests.strategies import REASONING_MODELS

from mockcore import Route, Settings, predict

pytestmark = pytest.mark.e2e

ALWAYS_FAILS = Settings(ttft=0.0, itl=0.0, error_rate=100.0)
SEEDED = Settings(ttft=0.0, itl=0.0, error_rate=30.0, random_seed=7)
ROUTE_PATHS: dict[Route, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
    "ranking": "/v1/ranking",
}
VALID: list[tuple[Route, dict[str, Any]]] = [
    ("chat", {"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}),
    ("chat", {"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": True}),
    (
        "chat",
        {
            "model": REASONING_MODELS[0],
            "messages": [{"role": "user", "content": "why"}],
            "max_tokens": 8,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    ("completions", {"model": "m", "prompt": ["one", "two"], "max_tokens": 3}),
    ("completions", {"model": "m", "prompt": [1, 2, 3], "stream": True}),
    ("embeddings", {"model": "e", "input": ["a", "b"]}),
    ("ranking", {"model": "r", "query": {"text": "q"}, "passages": [{"text": "p"}, {"text": "s"}]}),
]
INVALID: list[tuple[Route, dict[str, Any]]] = [
    ("chat", {"model": "m", "messages": []}),
    ("completions", {"model": "m", "prompt": ["a", 1]}),
    ("embeddings", {"model": "e", "input": "x", "dimensions": 0}),
    ("ranking", {"model": "r", "query": {}, "passages": [{"text": "p"}]}),
]


def assert_injected_fault(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "server_error"
    assert body["error"]["param"] is None
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture(scope="module")
def failing_server(start_server: Any) -> str:
    url: str = start_server(ALWAYS_FAILS)
    return url


@pytest.mark.parametrize(
    ("route", "payload"), VALID, ids=[f"{route}-{n}" for n, (route, _) in enumerate(VALID)]
)
def test_at_error_rate_100_every_inference_request_fails_before_any_byte(
    failing_server: str, route: Route, payload: dict[str, Any]
) -> None:
    with (
        httpx.Client(base_url=failing_server, timeout=30.0) as client,
        client.stream("POST", ROUTE_PATHS[route], json=payload) as response,
    ):
        raw = response.read()
        assert_injected_fault(response)
    assert not raw.startswith(b"data:"), "no stream bytes before the fault"


def test_at_error_rate_100_other_routes_still_answer(failing_server: str) -> None:
    for path in ("/health", "/", "/v1/models"):
        assert httpx.get(f"{failing_server}{path}").status_code == 200
    bad = httpx.post(f"{failing_server}/v1/chat/completions", json={"model": "m", "messages": []})
    assert bad.status_code == 400, "validation comes before the fault draw"


def test_the_openai_client_sees_an_internal_server_error(failing_server: str) -> None:
    with (
        openai.OpenAI(base_url=f"{failing_server}/v1", api_key="x", max_retries=0) as client,
        pytest.raises(openai.InternalServerError) as raised,
    ):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert raised.value.status_code == 500


def test_a_seeded_fault_sequence_is_exactly_what_predict_says(start_server: Any) -> None:
    """Request n's fate is a pure function of (seed, n); invalid requests do not count."""
    base_url = start_server(SEEDED, fresh=True)
    expected: list[int] = []
    observed: list[int] = []
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for sequence_number in range(1, 41):
            route, payload = VALID[sequence_number % len(VALID)]
            if sequence_number % 3 == 0:  # an invalid request and a GET in between: no number drawn
                bad_route, bad_payload = INVALID[sequence_number % len(INVALID)]
                assert client.post(ROUTE_PATHS[bad_route], json=bad_payload).status_code == 400
                assert client.get("/v1/models").status_code == 200
            prediction = predict(route, payload, SEEDED, sequence_number=sequence_number)
            response = client.post(ROUTE_PATHS[route], json=payload)
            expected.append(prediction.status_code)
            observed.append(response.status_code)
            if prediction.fault is not None and response.status_code == 500:
                error = assert_injected_fault(response)
                assert error["message"] == prediction.fault.message
                assert error["code"] == prediction.fault.code
    assert observed == expected
    assert 200 in expected
    assert 500 in expected, "seed 7 at 30 % must fail some of 40 requests"
