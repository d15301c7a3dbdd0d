"""Which renderer draws a generation plan, and which envelope carries a route's errors.

A plan says its protocol (`GenerationPlan.endpoint`); a route says how its errors look. The
SageMaker routes speak chat inside, so they share chat's renderers and envelope.
"""

from collections.abc import Callable, Iterator
from typing import NamedTuple

from mockcore.errors import ErrorInfo
from mockcore.plan import GenerationEndpoint, GenerationPlan
from mockcore.requests import Route
from mockhttp.protocols.anthropic import anthropic_error, message_body, message_events
from mockhttp.protocols.responses import response_body, response_events
from mockhttp.protocols.tgi import generate_body, generate_events, tgi_error, tgi_status
from mockhttp.render_json import error_body, generation_body
from mockhttp.render_sse import stream_events

BodyRenderer = Callable[[GenerationPlan, str, int], bytes]
EventRenderer = Callable[[GenerationPlan, str, int], Iterator[tuple[int, bytes]]]
ErrorRenderer = Callable[[int, ErrorInfo], tuple[int, bytes]]


class WireFormat(NamedTuple):
    """A protocol's renderers and the prefix of its response ids."""

    body: BodyRenderer
    events: EventRenderer
    id_prefix: str


WIRE_FORMATS: dict[GenerationEndpoint, WireFormat] = {
    "chat": WireFormat(generation_body, stream_events, "chatcmpl-"),
    "completions": WireFormat(generation_body, stream_events, "cmpl-"),
    "responses": WireFormat(response_body, response_events, "resp_"),
    "messages": WireFormat(message_body, message_events, "msg_"),
    "generate": WireFormat(generate_body, generate_events, ""),
}


def openai_error(status: int, info: ErrorInfo) -> tuple[int, bytes]:
    """`{"error": {message, type, param, code}}`."""
    return status, error_body(info)


def _anthropic_error(status: int, info: ErrorInfo) -> tuple[int, bytes]:
    return status, anthropic_error(status, info)


def _tgi_error(status: int, info: ErrorInfo) -> tuple[int, bytes]:
    return tgi_status(status), tgi_error(status, info)


def error_renderer(route: Route) -> ErrorRenderer:
    """The envelope of `route`'s errors: Anthropic's, TGI's, or OpenAI's for the rest."""
    if route == "messages":
        return _anthropic_error
    if route in {"generate", "generate_stream"}:
        return _tgi_error
    return openai_error
