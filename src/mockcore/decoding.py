"""Raw request bytes to a validated request Struct: one typed decoder per route, built once."""

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from mockcore.errors import RequestError, error_from_malformed_json, error_from_validation
from mockcore.protocols.anthropic import MessagesRequest
from mockcore.protocols.responses import ResponsesRequest
from mockcore.protocols.tgi import GenerateRequest
from mockcore.requests import REQUEST_TYPES, InferenceRequest, Route

T = TypeVar("T")
AnyRequest = InferenceRequest | ResponsesRequest | MessagesRequest | GenerateRequest
ROUTE_REQUEST_TYPES: dict[Route, type[Any]] = {
    **REQUEST_TYPES,
    "responses": ResponsesRequest,
    "messages": MessagesRequest,
    "generate": GenerateRequest,
    "generate_stream": GenerateRequest,
}
_DECODERS: dict[Route, msgspec.json.Decoder[Any]] = {
    route: msgspec.json.Decoder(request_type) for route, request_type in ROUTE_REQUEST_TYPES.items()
}


def decode_strictly(
    decoder: "msgspec.json.Decoder[T]",
    body: bytes,
    explain: Callable[[msgspec.ValidationError], RequestError] = error_from_validation,
) -> T:
    """Decode `body` strictly (`"5"` is not an int); raise `RequestError` naming the field.

    `explain` words a validation error (a route may add the accepted values, say).
    """
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise explain(exc) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        # msgspec lets invalid UTF-8 inside a string through as UnicodeDecodeError.
        raise error_from_malformed_json(exc) from None
    except RecursionError:
        # msgspec recurses once per nesting level, even through an unknown field it skips.
        raise RequestError(
            "The JSON body of your request is nested too deeply. The request body must be a JSON object.",
            None,
        ) from None


def decode_request(route: Route, body: bytes) -> AnyRequest:
    """The request of `route` in `body`, decoded strictly (`decode_strictly`)."""
    request: AnyRequest = decode_strictly(_DECODERS[route], body)
    return request
