"""SageMaker's routes on a real server: the same chat answers, in SageMaker's own framing.

`POST /endpoints/{name}/invocations` answers the chat body a chat request gets;
`POST /endpoints/{name}/invocations-response-stream` sends the chat SSE stream cut into AWS
event-stream `PayloadPart` frames. The frames are read back with botocore, the SageMaker
runtime client's own decoder and parser, and compared byte for byte (ids and timestamps
masked) with what `/v1/chat/completions` streams for the same body.
"""

import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.eventstream import EventStreamBuffer, EventStreamMessage
from tests.http.test_eventstream import sagemaker_events

pytestmark = pytest.mark.e2e

ENDPOINT = "my-endpoint"
MESSAGES: list[Any] = [
    {"role": "user", "content": "Tell me a long story about a lighthouse keeper and a storm."}
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city", "days"],
        },
    },
}
BODIES: dict[str, dict[str, Any]] = {
    "plain": {"model": "m", "messages": MESSAGES, "max_tokens": 24},
    "usage": {
        "model": "m",
        "messages": MESSAGES,
        "max_tokens": 24,
        "stream_options": {"include_usage": True},
    },
    "reasoning": {"model": "openai/gpt-oss-20b", "messages": MESSAGES, "max_tokens": 40},
    "tools": {"model": "m", "messages": MESSAGES, "tools": [WEATHER_TOOL], "tool_choice": "required"},
    "n=2": {"model": "m", "messages": MESSAGES, "max_tokens": 8, "n": 2},
}
PAYLOAD_PART_HEADERS = {
    ":event-type": "PayloadPart",
    ":content-type": "application/octet-stream",
    ":message-type": "event",
}
OPERATION = (
    botocore.session.get_session()
    .get_service_model("sagemaker-runtime")
    .operation_model("InvokeEndpointWithResponseStream")
)
_ID = re.compile(rb'"id":"chatcmpl-[0-9A-Za-z]+"')
_CREATED = re.compile(rb'"created":\d+')


def masked(body: bytes) -> bytes:
    """`body` with the response ids and timestamps, which depend on the moment, blanked."""
    return _CREATED.sub(b'"created":0', _ID.sub(b'"id":"chatcmpl-x"', body))


@pytest.fixture(scope="module")
def http(instant_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=instant_server, timeout=30.0) as client:
        yield client


def chat_stream(http: httpx.Client, body: dict[str, Any]) -> bytes:
    response = http.post("/v1/chat/completions", json=body | {"stream": True})
    assert response.status_code == 200
    return response.content


def sagemaker_stream(http: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    response = http.post(f"/endpoints/{ENDPOINT}/invocations-response-stream", json=body)
    assert response.status_code == 200, response.text
    return response


def frames(stream: bytes) -> Iterator[bytes]:
    """The raw frames of an event stream, cut by the total length each prelude gives."""
    offset = 0
    while offset < len(stream):
        (total,) = struct.unpack_from(">I", stream, offset)
        assert total >= 16
        yield stream[offset : offset + total]
        offset += total
    assert offset == len(stream), "no partial frame at the end"


def decode(stream: bytes) -> list[EventStreamMessage]:
    """Every message, through botocore's decoder (which checks both CRCs of every frame)."""
    buffer = EventStreamBuffer()
    buffer.add_data(stream)
    return list(buffer)


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_invocations_answer_the_chat_body(http: httpx.Client, body: dict[str, Any]) -> None:
    invoked = http.post(f"/endpoints/{ENDPOINT}/invocations", json=body)
    chat = http.post("/v1/chat/completions", json=body)
    assert invoked.status_code == chat.status_code == 200
    assert invoked.headers["content-type"].startswith("application/json")
    assert masked(invoked.content) == masked(chat.content)
    assert invoked.json()["object"] == "chat.completion"


def test_invocations_do_not_stream_even_when_the_body_asks(http: httpx.Client) -> None:
    body = BODIES["plain"] | {"stream": True}
    invoked = http.post(f"/endpoints/{ENDPOINT}/invocations", json=body)
    assert invoked.status_code == 200
    assert invoked.json()["object"] == "chat.completion"
    assert masked(invoked.content) == masked(http.post("/v1/chat/completions", json=BODIES["plain"]).content)


def test_any_endpoint_name_is_served(http: httpx.Client) -> None:
    for name in ("a", "llama-3-70b-prod", "Endpoint-2024-01-01-12-00-00"):
        response = http.post(f"/endpoints/{name}/invocations", json=BODIES["plain"])
        assert response.status_code == 200


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_the_response_stream_carries_the_chat_stream_in_payload_parts(
    http: httpx.Client, body: dict[str, Any]
) -> None:
    response = sagemaker_stream(http, body | {"stream": True})
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    assert response.headers["x-amzn-sagemaker-content-type"] == "text/event-stream"
    messages = decode(response.content)
    assert messages
    assert all(message.headers == PAYLOAD_PART_HEADERS for message in messages)
    carried = b"".join(message.payload for message in messages)
    assert carried.startswith(b"data: {")
    assert carried.endswith(b"data: [DONE]\n\n")
    assert masked(carried) == masked(chat_stream(http, body))


def test_the_response_stream_streams_without_stream_in_the_body(http: httpx.Client) -> None:
    body = BODIES["usage"]
    assert "stream" not in body
    messages = decode(sagemaker_stream(http, body).content)
    carried = b"".join(message.payload for message in messages)
    # The route streams whatever the body says, so the body's stream options hold as well.
    assert b'"usage":' in carried, "stream_options.include_usage was honoured"
    assert masked(carried) == masked(chat_stream(http, body))


def test_boto3s_parser_reads_back_the_same_bytes(http: httpx.Client) -> None:
    body = BODIES["reasoning"] | {"stream": True}
    stream = sagemaker_stream(http, body).content
    events = list(sagemaker_events(stream))
    assert events
    assert all(set(event) == {"PayloadPart"} for event in events)
    carried = b"".join(event["PayloadPart"]["Bytes"] for event in events)
    assert carried == b"".join(message.payload for message in decode(stream))
    assert masked(carried) == masked(chat_stream(http, body))


def test_every_frame_has_valid_crcs(http: httpx.Client) -> None:
    stream = sagemaker_stream(http, BODIES["tools"] | {"stream": True}).content
    count = 0
    for frame in frames(stream):
        total, headers_length, prelude_crc = struct.unpack_from(">III", frame)
        assert total == len(frame)
        assert prelude_crc == zlib.crc32(frame[:8])
        assert struct.unpack(">I", frame[-4:])[0] == zlib.crc32(frame[:-4])
        assert 12 + headers_length + 4 <= total
        count += 1
    assert count == len(decode(stream))


def test_one_payload_part_is_one_sse_event(http: httpx.Client) -> None:
    """SageMaker clients split the carried bytes on frames: each holds whole SSE events."""
    messages = decode(sagemaker_stream(http, BODIES["usage"]).content)
    for message in messages:
        assert message.payload.endswith(b"\n\n")
        assert message.payload.startswith(b"data: ")
