"""SPEC section 10: `mockcore.predict`, the offline answer to a request payload."""

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import chat_payloads, routed_payloads

from mockcore import (
    EmbeddingPlan,
    GenerationPlan,
    Prediction,
    RankingPlan,
    Route,
    Settings,
    plan_request,
    predict,
)

CHAT = {"model": "mock-model", "messages": [{"role": "user", "content": "Hello, mock server!"}]}


@given(routed_payloads())
def test_a_prediction_carries_the_plan_of_the_servers_own_code_path(
    request: tuple[Route, dict[str, Any]],
) -> None:
    route, payload = request
    settings = Settings(ttft=7.5, itl=1.25)
    prediction = predict(route, payload, settings)
    assert prediction == Prediction(
        status_code=200, plan=plan_request(route, msgspec.json.encode(payload), settings)
    )


@given(routed_payloads())
def test_a_payload_as_bytes_is_predicted_like_the_same_payload_as_a_mapping(
    request: tuple[Route, dict[str, Any]],
) -> None:
    route, payload = request
    assert predict(route, msgspec.json.encode(payload)) == predict(route, payload)


@given(routed_payloads())
def test_without_settings_the_server_defaults_apply(request: tuple[Route, dict[str, Any]]) -> None:
    route, payload = request
    assert predict(route, payload) == predict(route, payload, Settings())


@pytest.mark.parametrize(
    ("route", "plan_type"),
    [
        ("chat", GenerationPlan),
        ("completions", GenerationPlan),
        ("embeddings", EmbeddingPlan),
        ("ranking", RankingPlan),
    ],
)
def test_each_route_is_planned_with_its_own_kind_of_plan(route: Route, plan_type: type) -> None:
    payloads: dict[Route, dict[str, Any]] = {
        "chat": CHAT,
        "completions": {"model": "m", "prompt": "hi"},
        "embeddings": {"model": "m", "input": "hi"},
        "ranking": {"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}]},
    }
    assert isinstance(predict(route, payloads[route]).plan, plan_type)


def test_an_invalid_request_is_a_400_with_an_error_and_no_plan() -> None:
    prediction = predict("chat", {"model": "m", "messages": []})
    assert prediction.status_code == 400
    assert prediction.plan is None
    assert prediction.fault is None
    assert prediction.error is not None


@given(chat_payloads())
def test_the_plan_echoes_the_model_name(payload: dict[str, Any]) -> None:
    plan = predict("chat", payload).plan
    assert isinstance(plan, GenerationPlan)
    assert plan.model == payload["model"]
    assert plan.endpoint == "chat"


@given(chat_payloads())
def test_usage_is_included_in_a_stream_only_when_asked(payload: dict[str, Any]) -> None:
    plan = predict("chat", payload).plan
    assert isinstance(plan, GenerationPlan)
    asked = (payload.get("stream_options") or {}).get("include_usage") is True
    assert plan.stream is (payload.get("stream") is True)
    assert plan.include_usage is (plan.stream and asked)


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_the_sequence_number_decides_only_the_fault(first: int, second: int) -> None:
    settings = Settings(error_rate=50, random_seed=42)
    plans = {
        prediction.plan
        for prediction in (
            predict("chat", CHAT, settings, sequence_number=first),
            predict("chat", CHAT, settings, sequence_number=second),
            predict("chat", CHAT),
        )
        if prediction.plan is not None
    }
    assert len(plans) == 1


@given(routed_payloads())
def test_a_prediction_encodes_to_json(request: tuple[Route, dict[str, Any]]) -> None:
    route, payload = request
    decoded = msgspec.json.decode(msgspec.json.encode(predict(route, payload)))
    assert decoded["status_code"] == 200
    assert decoded["plan"]["usage"]["prompt_tokens"] >= 0
