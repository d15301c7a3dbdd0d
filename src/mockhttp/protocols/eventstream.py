"""AWS event-stream frames, for SageMaker's `POST /endpoints/{name}/invocations-response-stream`.

SageMaker carries a model's streamed bytes (here: the same Server-Sent Events as a chat stream)
inside binary event-stream messages, one `PayloadPart` event per chunk. A message is, big-endian:

    total length u32 | headers length u32 | prelude CRC32 | headers | payload | message CRC32

where each CRC32 covers every byte before it. botocore's `eventstream.py` is the reference
decoder; the limits below are the stricter ones of the AWS C runtime (`aws-c-event-stream`).
"""

import struct
import zlib
from collections.abc import Sequence

import msgspec

EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MAX_HEADERS_BYTES = 128 * 1024
MAX_HEADER_NAME_BYTES = 127
MAX_HEADER_VALUE_BYTES = 32767
# A PayloadPart's payload is kept far below the message cap: decoders buffer a whole message
# before handing it over (botocore by repeated `bytes +=`, quadratic in the frame size).
MAX_PAYLOAD_PART_BYTES = 1024 * 1024

_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_STRING_VALUE = struct.Struct(">BH")  # value type 7 (string), then the value's length
_STRING_TYPE = 7
_FRAMING_BYTES = _PRELUDE.size + 2 * _CRC.size


def _encode_headers(headers: Sequence[tuple[str, str]]) -> bytes:
    parts: list[bytes] = []
    for name, value in headers:
        name_bytes, value_bytes = name.encode(), value.encode()
        if len(name_bytes) > MAX_HEADER_NAME_BYTES or len(value_bytes) > MAX_HEADER_VALUE_BYTES:
            raise ValueError(f"event-stream header {name!r} is too long")
        parts += (
            bytes((len(name_bytes),)),
            name_bytes,
            _STRING_VALUE.pack(_STRING_TYPE, len(value_bytes)),
            value_bytes,
        )
    header_block = b"".join(parts)
    if len(header_block) > MAX_HEADERS_BYTES:
        raise ValueError(f"event-stream headers of {len(header_block)} bytes exceed {MAX_HEADERS_BYTES}")
    return header_block


def _frame(header_block: bytes, payload: bytes) -> bytes:
    """Frame pre-encoded headers and a payload, chaining the CRC so the payload is copied once."""
    total_length = _FRAMING_BYTES + len(header_block) + len(payload)
    if total_length > MAX_MESSAGE_BYTES:
        raise ValueError(f"event-stream message of {total_length} bytes exceeds {MAX_MESSAGE_BYTES}")
    prelude = _PRELUDE.pack(total_length, len(header_block))
    prelude += _CRC.pack(zlib.crc32(prelude))
    message_crc = zlib.crc32(payload, zlib.crc32(header_block, zlib.crc32(prelude)))
    return b"".join((prelude, header_block, payload, _CRC.pack(message_crc)))


def encode_message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message with string-valued headers.

    Raises:
        ValueError: a header, the header block or the message exceeds the spec's limits.
    """
    return _frame(_encode_headers(headers), payload)


# Every PayloadPart carries the same headers: encoded once, as the hot path frames every SSE chunk.
_PAYLOAD_PART_HEADERS = _encode_headers(
    (
        (":event-type", "PayloadPart"),
        (":content-type", "application/octet-stream"),
        (":message-type", "event"),
    )
)


def payload_part(chunk: bytes) -> bytes:
    """A SageMaker `PayloadPart` event carrying all of `chunk`: the hot path, one frame per SSE chunk.

    Raises:
        ValueError: `chunk` does not fit in one 16 MiB message; `payload_parts` splits it.
    """
    return _frame(_PAYLOAD_PART_HEADERS, chunk)


def payload_parts(chunk: bytes) -> bytes:
    """`chunk` as consecutive PayloadPart events of at most `MAX_PAYLOAD_PART_BYTES` each.

    An empty chunk still gives one (empty) event, so every chunk shows on the wire.
    """
    if len(chunk) <= MAX_PAYLOAD_PART_BYTES:
        return _frame(_PAYLOAD_PART_HEADERS, chunk)
    return b"".join(
        _frame(_PAYLOAD_PART_HEADERS, chunk[start : start + MAX_PAYLOAD_PART_BYTES])
        for start in range(0, len(chunk), MAX_PAYLOAD_PART_BYTES)
    )


def exception_event(exception_type: str, message: str) -> bytes:
    """A modelled exception (e.g. `ModelStreamError`) for a stream that breaks after its headers went out.

    The payload's key is `Message`, the member name of SageMaker's exception shapes: botocore
    reads only that key into the error it raises.
    """
    headers = (
        (":message-type", "exception"),
        (":exception-type", exception_type),
        (":content-type", "application/json"),
    )
    return encode_message(headers, msgspec.json.encode({"Message": message}))
