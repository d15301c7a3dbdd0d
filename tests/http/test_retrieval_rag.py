"""SOLIDO RAG: `POST /rag/api/prompt` answers a generated text and the sources it cites.

aiperf's `solido_rag` sends `query` (a list of strings), `filters` and `inference_model`, reads
`content` and `sources`; with `--streaming` it sends the same body and `Accept:
text/event-stream`, and reads `content` from each event.
"""

import json
import time
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.http.conftest import INSTANT, StartServer

from mockcore import Settings
from mockcore.predict import predict_rag
from mockcore.rag import RagPlan
from mockhttp import create_app

PATH = "/rag/api/prompt"
SOLIDO = {
    "query": ["What is PVTMC?"],
    "filters": {"family": "Solido", "tool": "SDE"},
    "inference_model": "llama",
}
STREAM = {"accept": "text/event-stream"}


def events(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON of each `data:` event."""
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [frame for frame in response.text.split("\n\n") if frame]
    assert all(frame.startswith("data: ") for frame in frames), frames
    return [json.loads(frame.removeprefix("data: ")) for frame in frames]


def test_a_json_answer_has_content_sources_the_model_and_usage(http: httpx.Client) -> None:
    response = http.post(PATH, json=SOLIDO)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"content", "sources", "inference_model", "usage"}
    assert body["content"]
    assert body["inference_model"] == "llama"
    assert 3 <= len(body["sources"]) <= 5
    for source in body["sources"]:
        assert set(source) == {"id", "title", "page", "score"}
        assert source["title"].startswith("Solido SDE ")
        assert "PVTMC" in source["title"]
    scores = [source["score"] for source in body["sources"]]
    assert scores == sorted(scores, reverse=True)
    assert body["usage"]["completion_tokens"] >= 16
    assert http.post(PATH, json=SOLIDO).json() == body


def test_the_sources_follow_the_question_and_the_filters(app_client: TestClient[Litestar]) -> None:
    def sources(**fields: Any) -> list[dict[str, Any]]:
        return app_client.post(PATH, json=SOLIDO | fields).json()["sources"]

    assert sources() == sources(query="What is PVTMC?")  # a list of one string is that string
    assert sources(filters={"family": "Solido", "tool": "Variation Designer"}) != sources()
    assert sources(query=["How do I sweep variables?"]) != sources()
    assert [source["title"].split(" ")[0] for source in sources(filters=None)] == ["Knowledge"] * len(
        sources(filters=None)
    )
    assert len(sources(top_k=7)) == 7


def test_an_accepted_event_stream_streams_the_same_text_with_the_sources_first(http: httpx.Client) -> None:
    whole = http.post(PATH, json=SOLIDO).json()
    streamed = events(http.post(PATH, json=SOLIDO, headers=STREAM))
    assert "".join(event["content"] for event in streamed) == whole["content"]
    assert streamed[0]["sources"] == whole["sources"]
    assert all(set(event) == {"content"} for event in streamed[1:])
    assert len(streamed) == whole["usage"]["completion_tokens"]


def test_the_body_decides_over_the_accept_header(app_client: TestClient[Litestar]) -> None:
    streamed = app_client.post(PATH, json=SOLIDO | {"stream": True, "max_tokens": 4})
    assert len(events(streamed)) == 4
    whole = app_client.post(PATH, json=SOLIDO | {"stream": False}, headers=STREAM)
    assert whole.headers["content-type"].startswith("application/json")


def test_the_answer_is_the_prediction(app_client: TestClient[Litestar]) -> None:
    body = app_client.post(PATH, json=SOLIDO | {"max_tokens": 9}).json()
    prediction = predict_rag(SOLIDO | {"max_tokens": 9}, INSTANT)
    assert isinstance(prediction.plan, RagPlan)
    assert body["content"] == prediction.plan.generation.choices[0].content_text
    assert body["sources"] == msgspec.to_builtins(list(prediction.plan.sources))


def test_a_stream_is_paced_by_ttft_and_itl(start_server: StartServer) -> None:
    base_url = start_server(Settings(ttft=150.0, itl=40.0))
    started = time.perf_counter()
    with httpx.stream("POST", base_url + PATH, json=SOLIDO | {"max_tokens": 5}, headers=STREAM) as response:
        arrivals = [
            time.perf_counter() - started for line in response.iter_lines() if line.startswith("data: ")
        ]
    assert len(arrivals) == 5
    # Lower bounds only: event k is never sent before TTFT + k x ITL.
    assert arrivals[0] >= 0.15
    assert arrivals[-1] >= 0.15 + 4 * 0.04


BAD_BODIES = [
    ("no query", {"filters": {}}, "query"),
    ("an empty query list", {"query": []}, "query"),
    ("a blank query", {"query": "  "}, "query"),
    ("a query of numbers", {"query": [1, 2]}, "query[0]"),
    ("filters as a list", {"query": "q", "filters": ["Solido"]}, "filters"),
    ("max_tokens 0", {"query": "q", "max_tokens": 0}, "max_tokens"),
    ("top_k 0", {"query": "q", "top_k": 0}, "top_k"),
    ("stream as a string", {"query": "q", "stream": "yes"}, "stream"),
]


@pytest.mark.parametrize(
    ("body", "param"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES]
)
def test_a_bad_body_is_a_400_naming_the_field(
    app_client: TestClient[Litestar], body: dict[str, Any], param: str
) -> None:
    response = app_client.post(PATH, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


def test_the_output_limit_and_the_key_apply() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, max_output_tokens=10, api_key="k"))) as client:
        unauthorized = client.post(PATH, json=SOLIDO)
        too_long = client.post(PATH, json=SOLIDO | {"max_tokens": 11}, headers={"Authorization": "k"})
    assert unauthorized.status_code == 401
    assert (too_long.status_code, too_long.json()["error"]["param"]) == (400, "max_tokens")
