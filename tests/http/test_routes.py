"""SPEC sections 2 and 7: the non-inference routes and the retrieval routes, in process."""

import base64
import math
import struct
from importlib.metadata import version
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from mockcore import EmbeddingPlan, RankingPlan, Settings, count_tokens, predict
from mockhttp import create_app

INSTANT = Settings(ttft=0.0, itl=0.0)  # the settings of the `app_client` fixture

PASSAGES = [
    {"text": "The Eiffel Tower is in Paris."},
    {"text": "Bananas are yellow."},
    {"text": "Paris is the capital of France."},
    {"text": "Bananas are yellow."},
    {"text": ""},
]


def test_health_reports_healthy_and_every_setting(app_client: TestClient[Litestar]) -> None:
    response = app_client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "healthy"
    assert set(body["config"]) == set(Settings.__struct_fields__)
    assert body["config"] == msgspec.to_builtins(INSTANT)


def test_health_shows_the_effective_settings_not_the_defaults() -> None:
    settings = Settings(ttft=12.5, itl=0.5, error_rate=3.0, random_seed=11, dcgm_gpu_name="b200")
    with TestClient(create_app(settings)) as client:
        config = client.get("/health").json()["config"]
    assert (config["ttft"], config["itl"], config["error_rate"], config["random_seed"]) == (
        12.5,
        0.5,
        3.0,
        11,
    )
    assert config["dcgm_gpu_name"] == "b200"


def test_root_names_the_server_its_version_and_config(app_client: TestClient[Litestar]) -> None:
    body = app_client.get("/").json()
    assert set(body) == {"message", "version", "config"}
    assert body["message"] == "AIPerf Mock Server"
    assert body["version"] == version("aiperf-mock-server")
    assert body["config"] == msgspec.to_builtins(INSTANT)


def test_models_lists_model_cards(app_client: TestClient[Litestar]) -> None:
    body = app_client.get("/v1/models").json()
    assert set(body) == {"object", "data"}
    assert body["object"] == "list"
    assert body["data"], "at least one advertised model"
    for card in body["data"]:
        assert set(card) == {"id", "object", "created", "owned_by"}
        assert card["object"] == "model"
        assert isinstance(card["id"], str)
        assert card["id"]
        assert isinstance(card["created"], int)
        assert isinstance(card["owned_by"], str)


def ranking_payload(passages: list[dict[str, str]]) -> dict[str, Any]:
    return {"model": "nvidia/nv-rerankqa-mistral-4b-v3", "query": {"text": "What is the capital of France?"},
            "passages": passages}  # fmt: skip


def test_ranking_sorts_passages_by_relevance_and_matches_the_prediction(
    app_client: TestClient[Litestar],
) -> None:
    payload = ranking_payload(PASSAGES)
    response = app_client.post("/v1/ranking", json=payload)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"rankings", "usage"}
    rankings = body["rankings"]
    assert sorted(item["index"] for item in rankings) == list(range(len(PASSAGES)))
    for item in rankings:
        assert set(item) == {"index", "logit", "relevance_score"}
        assert item["relevance_score"] == pytest.approx(1 / (1 + math.exp(-item["logit"])), rel=1e-12)
    ordering = [(-item["relevance_score"], item["index"]) for item in rankings]
    assert ordering == sorted(ordering), "best first; ties keep index order"
    prediction = predict("ranking", payload, INSTANT)
    assert isinstance(prediction.plan, RankingPlan)
    assert rankings == [msgspec.to_builtins(ranking) for ranking in prediction.plan.rankings]
    texts = [payload["query"]["text"]] + [passage["text"] for passage in PASSAGES]
    assert body["usage"] == {
        "prompt_tokens": sum(count_tokens(text) for text in texts),
        "total_tokens": sum(count_tokens(text) for text in texts),
    }


def test_identical_passages_score_identically_and_keep_index_order(app_client: TestClient[Litestar]) -> None:
    rankings = app_client.post("/v1/ranking", json=ranking_payload(PASSAGES)).json()["rankings"]
    twins = [item for item in rankings if item["index"] in (1, 3)]
    assert twins[0]["relevance_score"] == twins[1]["relevance_score"]
    assert [item["index"] for item in twins] == [1, 3]


def test_a_passage_scores_the_same_whatever_its_neighbours(app_client: TestClient[Litestar]) -> None:
    alone = app_client.post("/v1/ranking", json=ranking_payload(PASSAGES[2:3])).json()["rankings"][0]
    crowd = app_client.post("/v1/ranking", json=ranking_payload(PASSAGES)).json()["rankings"]
    assert next(item for item in crowd if item["index"] == 2)["logit"] == alone["logit"]


def decode_base64_floats(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.mark.parametrize("dimensions", [None, 3, 768])
def test_base64_embeddings_hold_the_same_floats_as_the_float_list(
    app_client: TestClient[Litestar], dimensions: int | None
) -> None:
    payload: dict[str, Any] = {"model": "e5", "input": ["first text", "second text", "ünïcödé"]}
    if dimensions is not None:
        payload["dimensions"] = dimensions
    as_floats = app_client.post("/v1/embeddings", json=payload | {"encoding_format": "float"}).json()
    as_base64 = app_client.post("/v1/embeddings", json=payload | {"encoding_format": "base64"}).json()
    default = app_client.post("/v1/embeddings", json=payload).json()
    assert default == as_floats, "the HTTP default is float"
    for float_item, base64_item in zip(as_floats["data"], as_base64["data"], strict=True):
        assert isinstance(base64_item["embedding"], str)
        assert decode_base64_floats(base64_item["embedding"]) == float_item["embedding"]
        assert len(float_item["embedding"]) == (dimensions or 768)
        assert math.fsum(value * value for value in float_item["embedding"]) == pytest.approx(1.0, abs=1e-5)
    assert as_floats["usage"] == as_base64["usage"]


def test_embeddings_response_shape_matches_the_prediction(app_client: TestClient[Litestar]) -> None:
    payload = {"model": "e5", "input": "a single text", "dimensions": 8}
    body = app_client.post("/v1/embeddings", json=payload).json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list"
    assert body["model"] == "e5"
    assert [set(item) for item in body["data"]] == [{"object", "index", "embedding"}]
    assert body["data"][0]["object"] == "embedding"
    prediction = predict("embeddings", payload, INSTANT)
    assert isinstance(prediction.plan, EmbeddingPlan)
    assert body["data"][0]["embedding"] == list(prediction.plan.vectors[0])
    assert body["usage"] == {"prompt_tokens": count_tokens("a single text"), "total_tokens": 4}


def test_unknown_request_fields_are_ignored(app_client: TestClient[Litestar]) -> None:
    payload = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.2,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "user": "someone",
        "logit_bias": {"50256": -100},
        "something_new": {"nested": [1, 2, 3]},
    }
    assert app_client.post("/v1/chat/completions", json=payload).status_code == 200


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/admin/config", {"GET", "PATCH"}),
        ("/v1/videos", {"GET", "POST"}),
        ("/v1/videos/video_1", {"GET", "DELETE"}),
    ],
)
def test_options_lists_every_method_of_a_path(path: str, methods: set[str]) -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, admin_key="k"))) as client:
        allowed = client.options(path).headers["allow"]
    assert {method.strip() for method in allowed.split(",")} == {*methods, "OPTIONS"}
