"""The retrieval routes under arbitrary JSON: never a 5xx, always the route's own error envelope.

Hypothesis throws arbitrary JSON at the bodies of TEI's `/rerank`, Cohere's `/v2/rerank`,
NIM image retrieval (`/v1/infer`, `/v1/image/infer`), SOLIDO RAG (`/rag/api/prompt`) and the
chat form of `/v1/embeddings`, as a whole body and into any field of a valid one. Nothing may
answer 5xx or log an error; a 4xx is exactly TEI's `{"error", "error_type"}`, Cohere's
`{"message"}`, or OpenAI's envelope on the others. Runs in process.
"""

import base64
import io
import json
from typing import Any, Literal

import httpx
from hypothesis import given
from hypothesis import strategies as st
from litestar.testing import TestClient
from PIL import Image
from tests.robustness.conftest import ErrorLog, assert_envelope
from tests.robustness.test_bad_input import Path, json_values, replaced

Envelope = Literal["openai", "tei", "cohere"]


def _png_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 120, 30)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


# A valid body of every route, with every field filled in.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "/rerank": {
        "query": "q",
        "texts": ["a", "b"],
        "raw_scores": False,
        "return_text": True,
        "truncate": True,
        "truncation_direction": "Right",
    },
    "/v2/rerank": {
        "model": "m",
        "query": "q",
        "documents": ["a", {"text": "b", "id": 1}],
        "top_n": 1,
        "return_documents": True,
        "max_tokens_per_doc": 10,
        "rank_fields": ["text"],
    },
    "/v1/infer": {"input": [{"type": "image_url", "url": _png_url()}], "model": "m"},
    "/v1/image/infer": {"input": [{"type": "image_url", "url": _png_url()}]},
    "/rag/api/prompt": {
        "query": ["q"],
        "filters": {"family": "Solido"},
        "inference_model": "m",
        "stream": False,
        "max_tokens": 3,
        "top_k": 2,
    },
    "/v1/embeddings": {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}],
            }
        ],
        "input_type": "query",
        "truncate": "END",
        "encoding_format": "float",
        "dimensions": 4,
    },
}
ENVELOPES: dict[str, Envelope] = {"/rerank": "tei", "/v2/rerank": "cohere"}


def _places(value: Any, path: Path = ()) -> list[Path]:
    """Every place in a JSON value (each member and element, at every depth)."""
    places: list[Path] = [path] if path else []
    if isinstance(value, dict):
        for key, member in value.items():
            places += _places(member, (*path, key))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            places += _places(element, (*path, index))
    return places


FIELD_PLACES = [(route, place) for route, body in VALID_BODIES.items() for place in _places(body)]


def assert_route_answer(response: httpx.Response, route: str, error_log: ErrorLog) -> None:
    """No 5xx and nothing logged; an error in the route's envelope; a 200 that parses."""
    assert response.status_code < 500, response.text[:500]
    assert error_log.records == []
    if response.status_code < 400:
        if response.headers["content-type"].startswith("text/event-stream"):
            assert response.text.endswith("\n\n")
        else:
            assert isinstance(response.json(), dict | list)
        return
    body = response.json()
    envelope = ENVELOPES.get(route, "openai")
    if envelope == "tei":
        assert set(body) == {"error", "error_type"}, body
        assert body["error"]
        assert body["error_type"] in {"validation", "empty"}, body
    elif envelope == "cohere":
        assert set(body) == {"message"}, body
        assert body["message"].startswith("invalid request: "), body
    else:
        assert_envelope(response)


def test_the_valid_bodies_are_served(in_process: TestClient[Any]) -> None:
    for route, body in VALID_BODIES.items():
        response = in_process.post(route, json=body)
        assert response.status_code == 200, (route, response.text[:500])


@given(route=st.sampled_from(list(VALID_BODIES)), value=json_values)
def test_arbitrary_json_as_a_retrieval_body_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, route: str, value: Any
) -> None:
    response = in_process.post(route, content=json.dumps(value).encode())
    assert_route_answer(response, route, error_log)


@given(place=st.sampled_from(FIELD_PLACES), value=json_values)
def test_arbitrary_json_in_any_field_of_a_retrieval_body_never_gets_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, place: tuple[str, Path], value: Any
) -> None:
    route, where = place
    body = replaced(VALID_BODIES[route], where, value)
    response = in_process.post(route, content=json.dumps(body).encode())
    assert_route_answer(response, route, error_log)


@given(data=st.binary(max_size=300), media_type=st.sampled_from(["image/png", "image/jpeg"]))
def test_arbitrary_bytes_as_an_image_are_a_400_never_a_5xx(
    in_process: TestClient[Any], error_log: ErrorLog, data: bytes, media_type: str
) -> None:
    # Half the cases start like a real PNG or JPEG, so the header readers see plausible input.
    for prefix in (b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xc0"):
        url = f"data:{media_type};base64," + base64.b64encode(prefix + data).decode()
        response = in_process.post("/v1/infer", json={"input": [{"type": "image_url", "url": url}]})
        assert_route_answer(response, "/v1/infer", error_log)
        assert response.status_code in {200, 400}
