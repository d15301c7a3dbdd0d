"""OpenAI Responses on the wire: the `response` object and its typed event stream.

One output item per segment of the plan: a `reasoning` item (reasoning models), a `message`
item with one `output_text` part, then a `function_call` item per call. Every event carries
its `sequence_number`. In a stream each token is one frame; the lifecycle and item events
travel with the token they precede or follow, so the first frame is due at TTFT.
"""

from collections.abc import Iterator
from typing import Any

import msgspec

from mockcore.plan import GenerationPlan, Segment
from mockcore.protocols.responses import response_status
from mockhttp.protocols.sse import event_head, named_event

_encode = msgspec.json.encode
_ITEM_PREFIX = {"reasoning": "rs_", "content": "msg_", "tool_call": "fc_"}
_DELTA_EVENT = {
    "reasoning": "response.reasoning_text.delta",
    "content": "response.output_text.delta",
    "tool_call": "response.function_call_arguments.delta",
}


def _item_id(response_id: str, segment: Segment, output_index: int) -> str:
    return f"{_ITEM_PREFIX[segment.kind]}{response_id.removeprefix('resp_')[:24]}{output_index:04x}"


def _usage(plan: GenerationPlan) -> dict[str, Any]:
    usage = plan.usage
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens if usage.engine_cached else 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens or 0},
        "total_tokens": usage.total_tokens,
    }


def _item(segment: Segment, item_id: str, *, done: bool) -> dict[str, Any]:
    """An output item, as added (empty, in progress) or as done (whole)."""
    text = segment.pieces.text if done else ""
    status = "completed" if done else "in_progress"
    if segment.kind == "reasoning":
        content = [{"type": "reasoning_text", "text": text}] if done else []
        return {"type": "reasoning", "id": item_id, "summary": [], "content": content, "status": status}
    if segment.kind == "content":
        parts = [_part(segment, done=True)] if done else []
        return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": parts}
    call = segment.call
    assert call is not None  # noqa: S101 - a tool_call segment always has its call
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.id,
        "name": call.name,
        "arguments": text,
        "status": status,
    }


def _part(segment: Segment, *, done: bool) -> dict[str, Any]:
    text = segment.pieces.text if done else ""
    if segment.kind == "reasoning":
        return {"type": "reasoning_text", "text": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _response(
    plan: GenerationPlan, response_id: str, created: int, *, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    choice = plan.choices[0]
    finished = status != "in_progress"
    incomplete = finished and response_status(choice) == "incomplete"
    body: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": plan.model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(plan) if finished else None,
        "metadata": {},
    }
    if plan.echo:
        body.update(plan.echo)
    return body


def response_body(plan: GenerationPlan, response_id: str, created: int) -> bytes:
    """The non-streamed `response` object; `output_text` is the message text, as the SDK sums it."""
    choice = plan.choices[0]
    output = [
        _item(segment, _item_id(response_id, segment, index), done=True)
        for index, segment in enumerate(choice.segments())
    ]
    body = _response(plan, response_id, created, status=response_status(choice), output=output)
    body["output_text"] = choice.content.text
    return _encode(body)


class _Sequence:
    """Numbers the events of one stream (`sequence_number` counts from 0)."""

    __slots__ = ("next",)

    def __init__(self) -> None:
        self.next = 0

    def event(self, name: str, payload: dict[str, Any]) -> bytes:
        frame = named_event(name, {"type": name, "sequence_number": self.next, **payload})
        self.next += 1
        return frame

    def take(self) -> int:
        number = self.next
        self.next += 1
        return number


def _open_item(numbers: _Sequence, segment: Segment, item_id: str, output_index: int) -> bytes:
    frames = numbers.event(
        "response.output_item.added",
        {"output_index": output_index, "item": _item(segment, item_id, done=False)},
    )
    if segment.kind != "tool_call":
        frames += numbers.event(
            "response.content_part.added",
            {
                "item_id": item_id,
                "output_index": output_index,
                "content_index": 0,
                "part": _part(segment, done=False),
            },
        )
    return frames


def _close_item(numbers: _Sequence, segment: Segment, item_id: str, output_index: int) -> bytes:
    where = {"item_id": item_id, "output_index": output_index}
    text = segment.pieces.text
    if segment.kind == "tool_call":
        call = segment.call
        assert call is not None  # noqa: S101 - a tool_call segment always has its call
        frames = numbers.event(
            "response.function_call_arguments.done", {**where, "name": call.name, "arguments": text}
        )
    else:
        if segment.kind == "reasoning":
            frames = numbers.event(
                "response.reasoning_text.done", {**where, "content_index": 0, "text": text}
            )
        else:
            frames = numbers.event(
                "response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []}
            )
        frames += numbers.event(
            "response.content_part.done", {**where, "content_index": 0, "part": _part(segment, done=True)}
        )
    return frames + numbers.event(
        "response.output_item.done",
        {"output_index": output_index, "item": _item(segment, item_id, done=True)},
    )


def _delta_heads(segment: Segment, item_id: str, output_index: int) -> tuple[bytes, bytes]:
    """The bytes around a delta event's sequence number: (before it, after it up to the delta)."""
    name = _DELTA_EVENT[segment.kind]
    before = event_head(name) + b'{"type":"' + name.encode() + b'","sequence_number":'
    after = b',"item_id":' + _encode(item_id) + b',"output_index":' + str(output_index).encode()
    if segment.kind != "tool_call":
        after += b',"content_index":0'
    return before, after + b',"delta":'


def response_events(plan: GenerationPlan, response_id: str, created: int) -> Iterator[tuple[int, bytes]]:
    """(event index, frame): one frame per token, lifecycle and item events riding along."""
    choice = plan.choices[0]
    numbers = _Sequence()
    in_progress = _response(plan, response_id, created, status="in_progress", output=[])
    pending = numbers.event("response.created", {"response": in_progress})
    pending += numbers.event("response.in_progress", {"response": in_progress})
    done_items: list[dict[str, Any]] = []
    for output_index, segment in enumerate(choice.segments()):
        item_id = _item_id(response_id, segment, output_index)
        pending += _open_item(numbers, segment, item_id, output_index)
        before, after = _delta_heads(segment, item_id, output_index)
        closing = b',"logprobs":[]}\n\n' if segment.kind == "content" else b"}\n\n"
        for offset, piece in enumerate(segment.pieces):
            frame = before + str(numbers.take()).encode() + after + _encode(piece) + closing
            if pending:
                frame = pending + frame
                pending = b""
            yield segment.start + offset, frame
        pending = _close_item(numbers, segment, item_id, output_index)
        done_items.append(_item(segment, item_id, done=True))
    status = response_status(choice)
    final = _response(plan, response_id, created, status=status, output=done_items)
    pending += numbers.event(f"response.{status}", {"response": final})
    yield max(plan.event_count - 1, 0), pending
