"""SageMaker response streams: event-stream frames read back by botocore's own decoder and parser."""

import json
from collections.abc import Iterator

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer, EventStreamMessage
from botocore.exceptions import EventStreamError
from botocore.parsers import create_parser
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import texts

from mockhttp.protocols.eventstream import (
    EVENTSTREAM_CONTENT_TYPE,
    MAX_HEADER_NAME_BYTES,
    MAX_HEADER_VALUE_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_PAYLOAD_PART_BYTES,
    encode_message,
    exception_event,
    payload_part,
    payload_parts,
)

PAYLOAD_PART_HEADERS = {
    ":event-type": "PayloadPart",
    ":content-type": "application/octet-stream",
    ":message-type": "event",
}
SSE_CHUNK = b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[]}\n\n'
OPERATION = (
    botocore.session.get_session()
    .get_service_model("sagemaker-runtime")
    .operation_model("InvokeEndpointWithResponseStream")
)


def decode(stream: bytes, read_size: int = 64 * 1024) -> list[EventStreamMessage]:
    """Every message in `stream`, fed to botocore's decoder `read_size` bytes at a time."""
    buffer = EventStreamBuffer()
    messages = []
    for start in range(0, len(stream), read_size):
        buffer.add_data(stream[start : start + read_size])
        messages.extend(buffer)
    assert sum(message.prelude.total_length for message in messages) == len(stream), "no partial message"
    return messages


class RawStream:
    """The urllib3 response botocore's EventStream reads, in reads of 64 KiB like urllib3's default."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self) -> Iterator[bytes]:
        for start in range(0, len(self._body), 64 * 1024):
            yield self._body[start : start + 64 * 1024]

    def close(self) -> None:
        pass


def sagemaker_events(body: bytes) -> Iterator[dict[str, object]]:
    """Parse `body` as boto3's `invoke_endpoint_with_response_stream` does its response's `Body`."""
    response = {
        "status_code": 200,
        "headers": {"content-type": EVENTSTREAM_CONTENT_TYPE},
        "body": RawStream(body),
        "context": {"operation_name": OPERATION.name},
    }
    return iter(create_parser("rest-json").parse(response, OPERATION.output_shape)["Body"])


# Small chunks like SSE events, and chunks around and beyond the split size (tiled, to draw fast).
byte_chunks = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda tile, size: (tile * (size // len(tile) + 1))[:size],
        st.binary(min_size=1, max_size=64),
        st.integers(MAX_PAYLOAD_PART_BYTES - 2, 2 * MAX_PAYLOAD_PART_BYTES + 2),
    ),
)


def test_a_payload_part_decodes_to_its_chunk_and_sagemaker_headers() -> None:
    (message,) = decode(payload_part(SSE_CHUNK))
    assert message.headers == PAYLOAD_PART_HEADERS
    assert message.payload == SSE_CHUNK


def test_botocore_sagemaker_client_reads_payload_parts_back() -> None:
    chunks = [SSE_CHUNK, b"", b"data: [DONE]\n\n"]
    events = list(sagemaker_events(b"".join(payload_part(chunk) for chunk in chunks)))
    assert events == [{"PayloadPart": {"Bytes": chunk}} for chunk in chunks]


@given(chunks=st.lists(byte_chunks, max_size=4), read_size=st.integers(1, 70_000))
def test_any_chunks_decode_back_to_the_same_bytes(chunks: list[bytes], read_size: int) -> None:
    stream = b"".join(payload_parts(chunk) for chunk in chunks)
    # At most 200 reads: botocore's buffer copies itself on every read, quadratic in the reads.
    messages = decode(stream, read_size=max(read_size, len(stream) // 200))
    assert b"".join(message.payload for message in messages) == b"".join(chunks)
    assert all(message.headers == PAYLOAD_PART_HEADERS for message in messages)
    assert all(len(message.payload) <= MAX_PAYLOAD_PART_BYTES for message in messages)
    assert len(messages) >= len(chunks), "every chunk, even an empty one, shows as an event"


def test_a_chunk_that_fits_is_exactly_one_payload_part() -> None:
    chunk = bytes(MAX_PAYLOAD_PART_BYTES)
    assert payload_parts(chunk) == payload_part(chunk)
    assert payload_parts(b"") == payload_part(b"")


def test_a_chunk_over_the_message_cap_is_split_into_frames_within_it() -> None:
    chunk = bytes(range(256)) * (MAX_MESSAGE_BYTES // 256) + b"!"
    with pytest.raises(ValueError, match="exceeds"):
        payload_part(chunk)
    messages = decode(payload_parts(chunk), read_size=MAX_MESSAGE_BYTES)
    assert len(messages) == 17
    assert all(message.prelude.total_length <= MAX_MESSAGE_BYTES for message in messages)
    assert b"".join(message.payload for message in messages) == chunk


@given(
    chunks=st.lists(st.binary(max_size=200), min_size=1, max_size=4),
    position=st.floats(0, 1, exclude_max=True),
    flip=st.integers(1, 255),
)
def test_botocore_detects_any_corrupted_byte(chunks: list[bytes], position: float, flip: int) -> None:
    stream = bytearray(b"".join(payload_parts(chunk) for chunk in chunks))
    stream[int(position * len(stream))] ^= flip
    with pytest.raises(ChecksumMismatch):
        decode(bytes(stream))


headers_lists = st.dictionaries(
    texts(min_size=1, max_size=MAX_HEADER_NAME_BYTES // 4), texts(max_size=60), max_size=5
).map(lambda headers: list(headers.items()))


@given(headers=headers_lists, payload=st.binary(max_size=500))
def test_any_string_headers_and_payload_decode_back(headers: list[tuple[str, str]], payload: bytes) -> None:
    (message,) = decode(encode_message(headers, payload))
    assert message.headers == dict(headers)
    assert message.payload == payload


@pytest.mark.parametrize(
    "headers",
    [
        [("n" * (MAX_HEADER_NAME_BYTES + 1), "v")],
        [("name", "v" * (MAX_HEADER_VALUE_BYTES + 1))],
        [(f"h{index}", "v" * MAX_HEADER_VALUE_BYTES) for index in range(5)],  # 160 KiB of headers
    ],
    ids=["name", "value", "header-block"],
)
def test_headers_over_the_spec_limits_are_refused(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match=r"too long|exceed"):
        encode_message(headers, b"")


def test_an_exception_event_decodes_as_a_modelled_exception() -> None:
    (message,) = decode(exception_event("ModelStreamError", "the model stopped"))
    assert message.headers == {
        ":message-type": "exception",
        ":exception-type": "ModelStreamError",
        ":content-type": "application/json",
    }
    assert json.loads(message.payload) == {"Message": "the model stopped"}


def test_botocore_sagemaker_client_raises_the_exception_after_the_parts_before_it() -> None:
    events = sagemaker_events(
        payload_part(SSE_CHUNK) + exception_event("ModelStreamError", "the model stopped")
    )
    assert next(events) == {"PayloadPart": {"Bytes": SSE_CHUNK}}
    with pytest.raises(EventStreamError) as raised:
        next(events)
    assert raised.value.response["Error"] == {"Code": "ModelStreamError", "Message": "the model stopped"}
