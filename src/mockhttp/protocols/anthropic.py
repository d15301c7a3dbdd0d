"""Anthropic Messages on the wire: the `message` body, its event stream and its error envelope.

One content block per segment of the plan: `thinking` (with its signature), `text`, then a
`tool_use` block per call. In a stream, every token is one frame; the events that open and
close blocks travel with the token they precede or follow, so the first frame (with
`message_start`) is due at TTFT and the frame counting stays one token per frame.
"""

from collections.abc import Iterator
from typing import Any

import msgspec

from mockcore.errors import ErrorInfo, located_message
from mockcore.plan import ChoicePlan, GenerationPlan, Segment
from mockcore.protocols.anthropic import stop_reason, thinking_signature
from mockhttp.protocols.sse import event_head, named_event

_encode = msgspec.json.encode
# Anthropic's error `type` for each status it answers with.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_DELTA_HEAD = event_head("content_block_delta")


def anthropic_error(status: int, info: ErrorInfo) -> bytes:
    """`{"type": "error", "error": {"type": ..., "message": ...}}`."""
    error_type = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")  # noqa: PLR2004
    return _encode({"type": "error", "error": {"type": error_type, "message": located_message(info)}})


def _usage(plan: GenerationPlan, output_tokens: int) -> dict[str, int]:
    """Anthropic counts the prompt in three parts: uncached, written to the cache, read from it."""
    usage = plan.usage
    return {
        "input_tokens": usage.uncached_prompt_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": output_tokens,
    }


def _block(choice: ChoicePlan, segment: Segment) -> dict[str, Any]:
    if segment.kind == "reasoning":
        return {
            "type": "thinking",
            "thinking": segment.pieces.text,
            "signature": thinking_signature(choice.digest),
        }
    if segment.kind == "content":
        return {"type": "text", "text": segment.pieces.text}
    call = segment.call
    assert call is not None  # noqa: S101 - a tool_call segment always has its call
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments_object}


def message_body(plan: GenerationPlan, message_id: str, _created: int) -> bytes:
    """The non-streamed `message` object."""
    choice = plan.choices[0]
    return _encode(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [_block(choice, segment) for segment in choice.segments()],
            "stop_reason": stop_reason(choice.finish_reason, choice.stop_sequence),
            "stop_sequence": choice.stop_sequence,
            "usage": _usage(plan, plan.usage.completion_tokens),
        }
    )


def _start_block(segment: Segment, index: int) -> bytes:
    if segment.kind == "reasoning":
        block: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
    elif segment.kind == "content":
        block = {"type": "text", "text": ""}
    else:
        call = segment.call
        assert call is not None  # noqa: S101 - a tool_call segment always has its call
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
    return named_event(
        "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
    )


def _stop_block(choice: ChoicePlan, segment: Segment, index: int) -> bytes:
    closing = b""
    if segment.kind == "reasoning":
        signature = {"type": "signature_delta", "signature": thinking_signature(choice.digest)}
        closing = named_event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": signature}
        )
    return closing + named_event("content_block_stop", {"type": "content_block_stop", "index": index})


_DELTA_FIELDS = {
    "reasoning": (b'"thinking_delta","thinking":'),
    "content": (b'"text_delta","text":'),
    "tool_call": (b'"input_json_delta","partial_json":'),
}


def message_events(plan: GenerationPlan, message_id: str, _created: int) -> Iterator[tuple[int, bytes]]:
    """(event index, frame): one frame per token, the block and message events riding along."""
    choice = plan.choices[0]
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": _usage(plan, 1),
        },
    }
    pending = named_event("message_start", start) + named_event("ping", {"type": "ping"})
    for index, segment in enumerate(choice.segments()):
        pending += _start_block(segment, index)
        head = (
            _DELTA_HEAD
            + b'{"type":"content_block_delta","index":'
            + str(index).encode()
            + b',"delta":{"type":'
        )
        head += _DELTA_FIELDS[segment.kind]
        for offset, piece in enumerate(segment.pieces):
            frame = head + _encode(piece) + b"}}\n\n"
            if pending:
                frame = pending + frame
                pending = b""
            yield segment.start + offset, frame
        pending = _stop_block(choice, segment, index)
    delta = {
        "type": "message_delta",
        "delta": {
            "stop_reason": stop_reason(choice.finish_reason, choice.stop_sequence),
            "stop_sequence": choice.stop_sequence,
        },
        "usage": {"output_tokens": plan.usage.completion_tokens},
    }
    tail = (
        pending + named_event("message_delta", delta) + named_event("message_stop", {"type": "message_stop"})
    )
    yield max(plan.event_count - 1, 0), tail
