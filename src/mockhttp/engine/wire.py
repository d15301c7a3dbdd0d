"""Messages between the workers and the engine process: length-prefixed MessagePack arrays.

Worker -> engine: `["a", id, prompt_tokens, output_tokens, block_hashes, streaming, arrival_s]`
admit (arrival_s: when the worker admitted it, on the shared monotonic clock),
`["c", id]` cancel, `["s", id]` stats.
Engine -> worker: `["ok", id]` admitted, `["no", id, reason, message]` refused,
`["t", at, tokens]` the step ending at `at` sampled a token of each request in `tokens`
(`[id, cached_tokens, queue_s, final]`; a ticket reads the prefix hit and queue time of its
first token; a request that does not stream is told only its first and last token),
`["s", id, stats]` the stats asked for.
"""

import asyncio
import struct
from typing import Any

import msgspec

_LENGTH = struct.Struct("<I")
_encode = msgspec.msgpack.encode
_decode = msgspec.msgpack.decode


def frame(message: list[Any]) -> bytes:
    """One message, framed."""
    body = _encode(message)
    return _LENGTH.pack(len(body)) + body


async def read_message(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next message, or None when the other side closed."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        (length,) = _LENGTH.unpack(head)
        body = await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message: list[Any] = _decode(body)
    return message
