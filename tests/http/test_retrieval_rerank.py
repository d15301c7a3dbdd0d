"""Hugging Face TEI's `POST /rerank` and Cohere's `POST /v2/rerank`, beside NIM's `/v1/ranking`.

The three rank with one rule, so they agree on the order of the same passages; each answers
in its own shape and its own error envelope (TEI `{"error", "error_type"}`, Cohere
`{"message"}`), after the ranking latency, counted as `ranking` in the server's metrics.
"""

import re
import time
import uuid
from typing import Any

import cohere as cohere_sdk
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from tests.http.conftest import INSTANT

from mockcore import Settings, predict
from mockcore.plan import RankingPlan
from mockcore.requests import Route
from mockcore.service import fault_context
from mockhttp import create_app

QUERY = "What is the capital of France?"
PASSAGES = [
    "Bananas are yellow.",
    "Paris is the capital of France.",
    "The Eiffel Tower is in Paris, the capital of France.",
    "Berlin is the capital of Germany.",
]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def nim_order(client: TestClient[Litestar] | httpx.Client, query: str, passages: list[str]) -> list[int]:
    body = {"model": "m", "query": {"text": query}, "passages": [{"text": text} for text in passages]}
    response = client.post("/v1/ranking", json=body)
    assert response.status_code == 200, response.text
    return [item["index"] for item in response.json()["rankings"]]


def tei(client: TestClient[Litestar] | httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/rerank", json={"query": QUERY, "texts": PASSAGES} | fields)


def cohere(client: TestClient[Litestar] | httpx.Client, **fields: Any) -> httpx.Response:
    return client.post(
        "/v2/rerank", json={"model": "rerank-v3.5", "query": QUERY, "documents": PASSAGES} | fields
    )


def test_tei_answers_a_list_of_ranks_best_first_with_sigmoid_scores(http: httpx.Client) -> None:
    response = tei(http)
    assert response.status_code == 200, response.text
    ranks = response.json()
    assert isinstance(ranks, list)
    assert all(set(rank) == {"index", "score"} for rank in ranks)
    assert sorted(rank["index"] for rank in ranks) == list(range(len(PASSAGES)))
    scores = [rank["score"] for rank in ranks]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < score < 1.0 for score in scores)
    assert {rank["index"] for rank in ranks[:2]} == {1, 2}  # the passages that share the query's words


def test_tei_return_text_and_raw_scores(http: httpx.Client) -> None:
    nim = http.post(
        "/v1/ranking",
        json={"model": "m", "query": {"text": QUERY}, "passages": [{"text": text} for text in PASSAGES]},
    ).json()["rankings"]
    ranks = tei(http, return_text=True, raw_scores=True, truncate=True, truncation_direction="Left").json()
    assert [(rank["index"], rank["score"]) for rank in ranks] == [
        (item["index"], item["logit"]) for item in nim
    ]
    assert [rank["text"] for rank in ranks] == [PASSAGES[rank["index"]] for rank in ranks]


def test_cohere_answers_results_meta_and_a_fresh_uuid(http: httpx.Client) -> None:
    first = cohere(http)
    second = cohere(http)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"id", "results", "meta"}
    assert UUID.match(body["id"]), body["id"]
    assert second.json()["id"] != body["id"]
    assert body["meta"] == {
        "api_version": {"version": "2", "is_experimental": False},
        "billed_units": {"search_units": 1},
    }
    assert [set(result) for result in body["results"]] == [{"index", "relevance_score"}] * len(PASSAGES)
    assert second.json()["results"] == body["results"]


def test_cohere_top_n_and_return_documents(http: httpx.Client) -> None:
    every = cohere(http).json()["results"]
    top = cohere(http, top_n=2, return_documents=True).json()["results"]
    assert [(item["index"], item["relevance_score"]) for item in top] == [
        (item["index"], item["relevance_score"]) for item in every[:2]
    ]
    assert [item["document"] for item in top] == [{"text": PASSAGES[item["index"]]} for item in top]
    assert len(cohere(http, top_n=50).json()["results"]) == len(PASSAGES)


def test_cohere_object_documents_rank_on_their_text_or_rank_fields_and_come_back_whole(
    http: httpx.Client,
) -> None:
    documents = [{"text": text, "id": f"doc-{index}"} for index, text in enumerate(PASSAGES)]
    by_text = cohere(http, documents=documents, return_documents=True).json()["results"]
    as_strings = cohere(http).json()["results"]
    assert [item["index"] for item in by_text] == [item["index"] for item in as_strings]
    assert [item["document"] for item in by_text] == [documents[item["index"]] for item in by_text]
    fielded = [{"title": text, "body": "unrelated"} for text in PASSAGES]
    by_title = cohere(http, documents=fielded, rank_fields=["title"]).json()["results"]
    assert all(0.0 < item["relevance_score"] < 1.0 for item in by_title)


def test_cohere_cuts_documents_to_max_tokens_per_doc_before_scoring(http: httpx.Client) -> None:
    long_document = "Bananas are yellow. " * 4 + "Paris is the capital of France."
    whole = cohere(http, documents=[long_document]).json()["results"][0]["relevance_score"]
    cut = cohere(http, documents=[long_document], max_tokens_per_doc=5).json()["results"][0][
        "relevance_score"
    ]
    assert cut != whole


def test_cohere_bills_a_search_unit_per_hundred_documents(app_client: TestClient[Litestar]) -> None:
    documents = [f"passage {index}" for index in range(201)]
    assert cohere(app_client, documents=documents).json()["meta"]["billed_units"] == {"search_units": 3}


@pytest.mark.parametrize("route", ["tei_rerank", "cohere_rerank"])
def test_answers_match_the_prediction(app_client: TestClient[Litestar], route: Route) -> None:
    if route == "tei_rerank":
        payload: dict[str, Any] = {"query": QUERY, "texts": PASSAGES, "return_text": True}
        ranks = app_client.post("/rerank", json=payload).json()
    else:
        payload = {"model": "m", "query": QUERY, "documents": PASSAGES, "top_n": 3}
        ranks = app_client.post("/v2/rerank", json=payload).json()["results"]
    prediction = predict(route, payload, INSTANT)
    assert prediction.status_code == 200
    assert isinstance(prediction.plan, RankingPlan)
    assert [rank["index"] for rank in ranks] == [ranking.index for ranking in prediction.plan.rankings]


# Texts with shared words, so that overlap decides some of the order and the hash term the rest.
words = st.sampled_from(["paris", "capital", "france", "tower", "river", "bread", "the", "is"])
texts = st.lists(words, min_size=0, max_size=6).map(" ".join)


@given(query=texts, passages=st.lists(texts, min_size=1, max_size=8))
def test_the_three_ranking_routes_agree_on_the_order(
    app_client: TestClient[Litestar], query: str, passages: list[str]
) -> None:
    expected = nim_order(app_client, query or "?", passages)
    tei_order = [
        rank["index"]
        for rank in app_client.post("/rerank", json={"query": query or "?", "texts": passages}).json()
    ]
    raw_order = [
        rank["index"]
        for rank in app_client.post(
            "/rerank", json={"query": query or "?", "texts": passages, "raw_scores": True}
        ).json()
    ]
    cohere_body = {"model": "m", "query": query or "?", "documents": passages}
    cohere_order = [
        result["index"] for result in app_client.post("/v2/rerank", json=cohere_body).json()["results"]
    ]
    assert tei_order == raw_order == cohere_order == expected


def test_rerank_answers_count_as_ranking_in_the_metrics() -> None:
    with TestClient(create_app(INSTANT)) as client:
        tei(client)
        cohere(client)
        tei(client, texts=[])
        metrics = client.get("/metrics").text
    assert 'aiperf_mock_requests_total{route="ranking",status="200",stream="false"} 2' in metrics
    assert 'aiperf_mock_requests_total{route="ranking",status="400",stream="false"} 1' in metrics


def test_rerank_answers_after_the_ranking_latency() -> None:
    settings = Settings(ttft=0.0, itl=0.0, ranking_base_latency=120.0, ranking_per_passage_latency=20.0)
    with TestClient(create_app(settings)) as client:
        for send in (tei, cohere):
            started = time.perf_counter()
            assert send(client).status_code == 200
            assert time.perf_counter() - started >= 0.2  # 120 + 4 x 20 ms


TEI_BAD = [
    ("not JSON", b"{", 422, "validation"),
    ("texts missing", b'{"query": "q"}', 422, "validation"),
    ("a text as a number", b'{"query": "q", "texts": [1]}', 422, "validation"),
    ("raw_scores as a string", b'{"query": "q", "texts": ["a"], "raw_scores": "yes"}', 422, "validation"),
    (
        "truncation_direction up",
        b'{"query": "q", "texts": ["a"], "truncation_direction": "Up"}',
        422,
        "validation",
    ),
    ("texts empty", b'{"query": "q", "texts": []}', 400, "empty"),
]


@pytest.mark.parametrize(
    ("body", "status", "error_type"), [case[1:] for case in TEI_BAD], ids=[c[0] for c in TEI_BAD]
)
def test_tei_bad_input_gets_teis_error_shape(
    app_client: TestClient[Litestar], body: bytes, status: int, error_type: str
) -> None:
    response = app_client.post("/rerank", content=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "error_type"}
    assert error["error_type"] == error_type
    assert error["error"]


def test_tei_refuses_a_batch_over_the_limit_with_413() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, max_request_items=3))) as client:
        response = tei(client)
    assert response.status_code == 413
    assert response.json()["error_type"] == "validation"
    assert "batch size 4 > maximum allowed batch size 3" in response.json()["error"]


COHERE_BAD = [
    ("not JSON", b'{"model": ', 400, "could not parse"),
    ("model missing", b'{"query": "q", "documents": ["a"]}', 400, "model"),
    (
        "documents empty",
        b'{"model": "m", "query": "q", "documents": []}',
        400,
        "list of documents must not be empty",
    ),
    ("query blank", b'{"model": "m", "query": "  ", "documents": ["a"]}', 400, "query must not be empty"),
    ("top_n 0", b'{"model": "m", "query": "q", "documents": ["a"], "top_n": 0}', 400, "top_n"),
    ("a document as a number", b'{"model": "m", "query": "q", "documents": [3]}', 400, "documents[0]"),
    (
        "max_tokens_per_doc -1",
        b'{"model": "m", "query": "q", "documents": ["a"], "max_tokens_per_doc": -1}',
        400,
        "max_tokens_per_doc",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "names"), [case[1:] for case in COHERE_BAD], ids=[c[0] for c in COHERE_BAD]
)
def test_cohere_bad_input_gets_cohere_error_shape(
    app_client: TestClient[Litestar], body: bytes, status: int, names: str
) -> None:
    response = app_client.post("/v2/rerank", content=body)
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"message"}
    assert error["message"].startswith("invalid request: ")
    assert names in error["message"]


def test_a_refused_key_answers_in_each_routes_envelope() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, api_key="sk-test"))) as client:
        tei_refusal = tei(client)
        cohere_refusal = cohere(client)
        accepted = client.post(
            "/v2/rerank",
            json={"model": "m", "query": QUERY, "documents": PASSAGES},
            headers={"Authorization": "Bearer sk-test"},
        )
    assert tei_refusal.status_code == cohere_refusal.status_code == 401
    assert set(tei_refusal.json()) == {"error", "error_type"}
    assert set(cohere_refusal.json()) == {"message"}
    assert accepted.status_code == 200
    assert uuid.UUID(accepted.json()["id"]).version == 4


@pytest.mark.parametrize(
    ("route", "payload", "param"),
    [
        ("ranking", {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]}, "passages"),
        ("tei_rerank", {"query": "q", "texts": ["p"]}, "texts"),
        ("cohere_rerank", {"model": "m", "query": "q", "documents": ["p"]}, "documents"),
    ],
)
def test_a_fault_message_names_the_field_each_ranking_protocol_ranks(
    route: Route, payload: dict[str, object], param: str
) -> None:
    assert fault_context(predict(route, payload).plan).prompt_param == param


def test_the_official_cohere_client_reranks_in_the_ranking_order(
    http: httpx.Client, instant_server: str
) -> None:
    with httpx.Client(timeout=30.0) as transport:  # closed here, not by the garbage collector
        client = cohere_sdk.ClientV2(api_key="x", base_url=instant_server, httpx_client=transport)
        reply = client.rerank(model="rerank-v3.5", query=QUERY, documents=PASSAGES, top_n=2)
        assert [result.index for result in reply.results] == nim_order(http, QUERY, PASSAGES)[:2]
        assert all(0.0 < result.relevance_score < 1.0 for result in reply.results)
        assert reply.meta is not None
        assert reply.meta.billed_units is not None
        assert reply.meta.billed_units.search_units == 1
        with pytest.raises(cohere_sdk.BadRequestError):
            client.rerank(model="rerank-v3.5", query=QUERY, documents=[])
