r"""Named Server-Sent Events (`event: <name>\ndata: <json>\n\n`), as Anthropic and Responses send them."""

import msgspec

_encode = msgspec.json.encode


def named_event(name: str, payload: object) -> bytes:
    """One event; `payload` is encoded as compact JSON."""
    return b"event: " + name.encode() + b"\ndata: " + _encode(payload) + b"\n\n"


def event_head(name: str) -> bytes:
    """The bytes before an event's JSON, for events spliced by hand on the hot path."""
    return b"event: " + name.encode() + b"\ndata: "
