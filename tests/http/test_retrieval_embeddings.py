"""`/v1/embeddings` with what NIM's and vLLM's clients send: `input_type`, `truncate`, `messages`.

aiperf's `nim_embeddings` adds NIM's `input_type` and `truncate` (through `--extra-inputs`) to
an OpenAI body; its `chat_embeddings` sends a chat body (`messages`, text and image parts)
to the same path and reads an OpenAI embeddings list back.
"""

from typing import Any

import httpx
import openai
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.http.conftest import INSTANT

from mockcore import Settings, predict
from mockcore.prompts import text_prompt
from mockcore.vectors import embedding_vector
from mockhttp import create_app

TEXT = "The food was delicious and the waiter was friendly."
IMAGE = "data:image/png;base64,iVBORw0KGgo="


def embed(client: TestClient[Litestar] | httpx.Client, **fields: Any) -> list[list[float]]:
    response = client.post("/v1/embeddings", json={"model": "nv-embedqa-e5-v5"} | fields)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    return [item["embedding"] for item in body["data"]]


def chat_messages(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def test_without_input_type_a_text_keeps_the_vector_openai_clients_always_got(
    app_client: TestClient[Litestar],
) -> None:
    original = list(embedding_vector(text_prompt(TEXT).digest))
    assert embed(app_client, input=TEXT) == [original]
    assert embed(app_client, input=TEXT, truncate="END") == [original]


def test_a_query_and_a_passage_of_the_same_text_embed_differently_and_each_deterministically(
    app_client: TestClient[Litestar],
) -> None:
    plain = embed(app_client, input=[TEXT])
    query = embed(app_client, input=[TEXT], input_type="query")
    passage = embed(app_client, input=[TEXT], input_type="passage", truncate="NONE")
    assert len({str(plain), str(query), str(passage)}) == 3
    assert embed(app_client, input=[TEXT], input_type="query", truncate="START") == query
    assert all(abs(sum(value * value for value in vector) - 1.0) < 1e-5 for vector in (*query, *passage))


def test_the_openai_sdk_sends_nim_fields_through_extra_body(openai_client: openai.OpenAI) -> None:
    created = openai_client.embeddings.create(
        model="nvidia/nv-embedqa-e5-v5",
        input=["What is the capital of France?", "Paris is the capital of France."],
        extra_body={"input_type": "passage", "truncate": "END"},
    )
    assert [item.index for item in created.data] == [0, 1]
    assert all(len(item.embedding) == 768 for item in created.data)
    again = openai_client.embeddings.create(
        model="nvidia/nv-embedqa-e5-v5",
        input=["What is the capital of France?", "Paris is the capital of France."],
        extra_body={"input_type": "passage", "truncate": "END"},
    )
    assert [item.embedding for item in again.data] == [item.embedding for item in created.data]


def test_a_chat_body_gets_one_vector_for_the_whole_conversation(http: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "Represent the image for retrieval."},
        {"role": "user", "content": [text_part(TEXT), image_part(IMAGE)]},
    ]
    vectors = embed(http, messages=messages, stream=False)
    assert len(vectors) == 1
    assert len(vectors[0]) == 768
    assert embed(http, messages=messages) == vectors


def test_the_image_of_a_chat_body_is_part_of_what_its_vector_is_a_function_of(
    app_client: TestClient[Litestar],
) -> None:
    with_image = embed(app_client, messages=chat_messages(text_part(TEXT), image_part(IMAGE)))
    other_image = embed(app_client, messages=chat_messages(text_part(TEXT), image_part(IMAGE + "AA")))
    text_only = embed(app_client, messages=chat_messages(text_part(TEXT)))
    assert len({str(with_image), str(other_image), str(text_only)}) == 3


def test_a_chat_body_is_predicted_and_counts_its_text_tokens(app_client: TestClient[Litestar]) -> None:
    payload = {
        "model": "vlm2vec",
        "messages": chat_messages(text_part("four"), image_part(IMAGE), text_part("eight ch")),
        "input_type": "query",
        "dimensions": 8,
    }
    body = app_client.post("/v1/embeddings", json=payload).json()
    prediction = predict("embeddings", payload, INSTANT)
    assert prediction.status_code == 200
    assert prediction.plan is not None
    assert [item["embedding"] for item in body["data"]] == [
        list(vector) for vector in prediction.plan.vectors
    ]
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


BAD_BODIES = [
    ("no input and no messages", {}, "input"),
    ("input_type not NIM's", {"input": "x", "input_type": "document"}, "input_type"),
    ("truncate not NIM's", {"input": "x", "truncate": "BOTH"}, "truncate"),
    ("truncate in lower case", {"input": "x", "truncate": "end"}, "truncate"),
    ("empty messages", {"messages": []}, "messages"),
    ("a role chat does not know", {"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    (
        "a text part without text",
        {"messages": chat_messages({"type": "text"})},
        "messages[0].content[0].text",
    ),
    (
        "an image part without image_url",
        {"messages": chat_messages({"type": "image_url"})},
        "messages[0].content[0].image_url",
    ),
    (
        "an image_url without url",
        {"messages": chat_messages({"type": "image_url", "image_url": {}})},
        "messages[0].content[0].image_url.url",
    ),
]


@pytest.mark.parametrize(
    ("fields", "param"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_bad_nim_or_chat_fields_get_a_400_naming_the_field(
    app_client: TestClient[Litestar], fields: dict[str, Any], param: str
) -> None:
    response = app_client.post("/v1/embeddings", json={"model": "m"} | fields)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error


def test_a_body_with_input_and_messages_is_embedded_by_its_input_as_vllm_does(
    app_client: TestClient[Litestar],
) -> None:
    both = embed(app_client, input=[TEXT], messages=chat_messages(text_part("other")))
    assert both == embed(app_client, input=[TEXT])


def test_the_chat_form_obeys_the_request_limits() -> None:
    with TestClient(
        create_app(Settings(ttft=0.0, itl=0.0, max_request_items=2, max_prompt_chars=10))
    ) as client:
        too_many = client.post("/v1/embeddings", json={"model": "m", "messages": [{"role": "user"}] * 3})
        too_long = client.post(
            "/v1/embeddings", json={"model": "m", "messages": chat_messages(text_part("x" * 11))}
        )
    assert (too_many.status_code, too_many.json()["error"]["param"]) == (400, "messages")
    assert (too_long.status_code, too_long.json()["error"]["param"]) == (400, "messages")
