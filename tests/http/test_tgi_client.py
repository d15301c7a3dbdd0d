"""`POST /generate` and `POST /generate_stream` through `huggingface_hub.InferenceClient`.

Benchmarks of Text Generation Inference servers drive them with the Hub's client; pointed at
the mock's TGI routes it must parse every answer and stream event into its own types, raise
its own errors, and see the text `mockcore.predict` says, with TGI's finish reasons.
"""

import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import ValidationError
from tests.http.conftest import INSTANT

from mockcore import GenerationPlan, Route, predict

pytestmark = pytest.mark.e2e

PROMPT = "Tell me a long story about a lighthouse keeper, a storm at sea and a lost ship."


@pytest.fixture(scope="module")
def generate(instant_server: str) -> InferenceClient:
    """The client posting to `/generate` (the model URL is the route, as for any TGI URL)."""
    return InferenceClient(model=f"{instant_server}/generate", timeout=30.0)


@pytest.fixture(scope="module")
def generate_stream(instant_server: str) -> InferenceClient:
    return InferenceClient(model=f"{instant_server}/generate_stream", timeout=30.0)


@pytest.fixture(autouse=True)
def no_warnings() -> Iterator[None]:
    """The client warns when it decides a server is not TGI: it must never decide so here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def plan_for(parameters: dict[str, Any], *, stream: bool = False) -> GenerationPlan:
    """What the instant server answers to `PROMPT` with `parameters`."""
    route: Route = "generate_stream" if stream else "generate"
    prediction = predict(route, {"inputs": PROMPT, "parameters": parameters}, INSTANT)
    assert prediction.status_code == 200, prediction.error
    assert isinstance(prediction.plan, GenerationPlan)
    return prediction.plan


def test_generate_answers_the_predicted_text(generate: InferenceClient) -> None:
    text = generate.text_generation(PROMPT, max_new_tokens=12)
    assert text == plan_for({"max_new_tokens": 12}).choices[0].content_text != ""


def test_without_max_new_tokens_tgis_default_of_100_applies(generate: InferenceClient) -> None:
    output = generate.text_generation(PROMPT, details=True)
    plan = plan_for({"details": True})
    assert output.generated_text == plan.choices[0].content_text
    assert output.details is not None
    assert output.details.generated_tokens == len(plan.choices[0].content) <= 100


def test_details_report_a_length_finish_and_every_token(generate: InferenceClient) -> None:
    output = generate.text_generation(PROMPT, max_new_tokens=7, details=True)
    details = output.details
    assert details is not None
    assert details.finish_reason == "length"
    assert details.generated_tokens == 7
    assert len(details.tokens) == 7
    assert "".join(token.text for token in details.tokens) == output.generated_text
    assert output.generated_text == plan_for({"max_new_tokens": 7, "details": True}).choices[0].content_text
    assert all(token.logprob <= 0 and not token.special for token in details.tokens)


def test_a_natural_end_is_an_eos_token_finish(generate: InferenceClient) -> None:
    plan = plan_for({"max_new_tokens": 4000, "details": True})
    assert plan.choices[0].finish_reason == "stop"
    output = generate.text_generation(PROMPT, max_new_tokens=4000, details=True)
    assert output.details is not None
    assert output.details.finish_reason == "eos_token"
    assert output.details.generated_tokens == len(plan.choices[0].content) < 4000
    assert output.generated_text == plan.choices[0].content_text


def field(token: Any, name: str) -> Any:
    """A token's field: the client leaves the lists nested in `top_tokens` as plain dicts."""
    return token[name] if isinstance(token, dict) else getattr(token, name)


def test_top_n_tokens_gives_alternatives_for_every_token(generate: InferenceClient) -> None:
    output = generate.text_generation(PROMPT, max_new_tokens=5, details=True, top_n_tokens=3)
    details = output.details
    assert details is not None
    assert details.top_tokens is not None
    assert len(details.top_tokens) == 5
    for token, alternatives in zip(details.tokens, details.top_tokens, strict=True):
        assert len(alternatives) == 3
        assert field(alternatives[0], "text") == token.text
        logprobs = [field(alternative, "logprob") for alternative in alternatives]
        assert logprobs == sorted(logprobs, reverse=True)
        assert all(isinstance(field(alternative, "id"), int) for alternative in alternatives)


def tgi_stop(parameters: dict[str, Any], first: int, count: int) -> tuple[str, list[str]]:
    """A stop string of `count` whole tokens from token `first` of the unstopped answer, and
    the tokens TGI sends with it: TGI checks after every token whether the output so far
    *ends with* a stop string, and keeps the token that completed it.
    """
    pieces = list(plan_for(parameters).choices[0].content)
    stop = "".join(pieces[first : first + count])
    for end in range(1, len(pieces) + 1):
        if "".join(pieces[:end]).endswith(stop):
            return stop, pieces[:end]
    raise AssertionError("the stop string is taken from the answer")


def test_a_stop_sequence_ends_the_text_with_it_as_tgi_does(generate: InferenceClient) -> None:
    stop, expected = tgi_stop({"max_new_tokens": 60}, first=5, count=2)
    output = generate.text_generation(PROMPT, max_new_tokens=60, details=True, stop=[stop])
    assert output.details is not None
    assert output.details.finish_reason == "stop_sequence"
    assert output.generated_text == "".join(expected)
    assert output.generated_text.endswith(stop)
    assert output.details.generated_tokens == len(expected)
    assert [token.text for token in output.details.tokens] == expected


def test_a_stream_of_tokens_concatenates_to_the_generated_text(generate_stream: InferenceClient) -> None:
    tokens = list(generate_stream.text_generation(PROMPT, max_new_tokens=12, stream=True))
    assert all(isinstance(token, str) for token in tokens)
    assert len(tokens) == 12
    assert "".join(tokens) == plan_for({"max_new_tokens": 12}, stream=True).choices[0].content_text


def test_a_detailed_stream_ends_with_the_text_and_details(generate_stream: InferenceClient) -> None:
    events = list(generate_stream.text_generation(PROMPT, max_new_tokens=9, stream=True, details=True))
    assert [event.index for event in events] == list(range(9))
    assert all(event.generated_text is None and event.details is None for event in events[:-1])
    last = events[-1]
    text = "".join(event.token.text for event in events)
    assert last.generated_text == text == plan_for({"max_new_tokens": 9}, stream=True).choices[0].content_text
    assert last.details is not None
    assert last.details.finish_reason == "length"
    assert last.details.generated_tokens == 9


def test_a_streamed_answer_is_the_plain_answer(
    generate: InferenceClient, generate_stream: InferenceClient
) -> None:
    plain = generate.text_generation(PROMPT, max_new_tokens=4000, details=True)
    events = list(generate_stream.text_generation(PROMPT, max_new_tokens=4000, stream=True, details=True))
    assert events[-1].generated_text == plain.generated_text
    assert events[-1].details is not None
    assert plain.details is not None
    assert events[-1].details.finish_reason == plain.details.finish_reason == "eos_token"
    assert events[-1].details.generated_tokens == plain.details.generated_tokens
    assert [(event.token.id, event.token.text, event.token.logprob) for event in events] == [
        (token.id, token.text, token.logprob) for token in plain.details.tokens
    ]


def test_a_stop_sequence_streams_as_its_own_finish(generate_stream: InferenceClient) -> None:
    stop, expected = tgi_stop({"max_new_tokens": 60}, first=5, count=2)
    events = list(
        generate_stream.text_generation(PROMPT, max_new_tokens=60, stream=True, details=True, stop=[stop])
    )
    assert events[-1].details is not None
    assert events[-1].details.finish_reason == "stop_sequence"
    assert events[-1].generated_text == "".join(event.token.text for event in events)
    assert [event.token.text for event in events] == expected


@pytest.mark.parametrize("route", ["generate", "generate_stream"])
def test_a_validation_error_is_tgis_422(instant_server: str, route: str) -> None:
    response = httpx.post(
        f"{instant_server}/{route}",
        json={"inputs": PROMPT, "parameters": {"max_new_tokens": 0}},
        timeout=30.0,
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "error_type"}
    assert body["error_type"] == "validation"
    assert isinstance(body["error"], str)
    assert body["error"]


def test_the_client_raises_its_validation_error(generate: InferenceClient) -> None:
    with pytest.raises(ValidationError):
        generate.text_generation(PROMPT, max_new_tokens=0)


def test_a_body_without_inputs_is_a_validation_error(instant_server: str) -> None:
    response = httpx.post(f"{instant_server}/generate", json={"parameters": {}}, timeout=30.0)
    assert response.status_code == 422
    assert response.json()["error_type"] == "validation"


@pytest.mark.parametrize("stream", [False, True])
def test_the_client_pointed_at_the_server_itself_posts_to_tgis_root_route(
    instant_server: str, stream: bool
) -> None:
    client = InferenceClient(model=instant_server, timeout=30.0)
    expected = plan_for({"max_new_tokens": 12}, stream=stream).choices[0].content_text
    if stream:
        text = "".join(client.text_generation(PROMPT, max_new_tokens=12, stream=True))
    else:
        text = client.text_generation(PROMPT, max_new_tokens=12)
    assert text == expected


def test_get_on_the_root_is_still_the_server_information(instant_server: str) -> None:
    answer = httpx.get(f"{instant_server}/", timeout=10.0)
    assert answer.status_code == 200
    assert answer.json()["message"] == "AIPerf Mock Server"
