"""The OpenAPI 3.1 document of the server, generated from the Structs that do the work.

Request schemas come from `mockcore.requests` (the types the decoder enforces) and response
schemas from `mockhttp.responses` (the types the renderer encodes), so the document cannot
drift from the behaviour. Served at `/openapi.json`; fuzzers (schemathesis) read it.
"""

from typing import Any

import msgspec

from mockcore.requests import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, RankingRequest
from mockhttp.responses import (
    ChatCompletionBody,
    EmbeddingListBody,
    ErrorBody,
    ModelListBody,
    RankingBody,
    TextCompletionBody,
)

OPENAPI_PATH = "/openapi.json"
_REF = "#/components/schemas/{name}"
_ERROR_STATUSES = {
    "400": "Invalid request: malformed JSON, a wrong type, a missing field, a value out of range or a "
    "malformed `X-Mock-*` header; or an injected `context_length` fault.",
    "401": "Missing or wrong API key (only when the server runs with `--api-key`); or an injected "
    "`auth` fault.",
    "404": "An injected `not_found` fault.",
    "413": "The request body is over the size limit.",
    "429": "Too many concurrent streams on this worker, or an injected `rate_limit` fault; retry after "
    "`Retry-After` seconds.",
    "500": "An injected fault (`--error-rate`).",
    "503": "The model is still loading (`--inference-ready-delay-seconds`), or an injected `unavailable` "
    "fault; retry after `Retry-After` seconds.",
}
_SSE_EVENT = {
    "type": "object",
    "properties": {"data": {"type": "string"}},
    "required": ["data"],
}
_TYPES: list[type[Any]] = [
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    RankingRequest,
    ChatCompletionBody,
    TextCompletionBody,
    EmbeddingListBody,
    RankingBody,
    ModelListBody,
    ErrorBody,
]


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _inference_operation(
    summary: str, request: dict[str, Any], response: dict[str, Any], *, streams: bool
) -> dict[str, Any]:
    ok_content = _json_content(response)
    if streams:
        # Before OpenAPI 3.2 (`itemSchema`), tools read the schema of an event stream as the
        # schema of one event: `data` carries a compact JSON chunk, or `[DONE]` at the end.
        ok_content["text/event-stream"] = {"schema": _SSE_EVENT}
    errors = {
        status: {
            "description": description,
            "content": _json_content({"$ref": _REF.format(name="ErrorBody")}),
        }
        for status, description in _ERROR_STATUSES.items()
    }
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": _json_content(request)},
            "responses": {"200": {"description": "The answer.", "content": ok_content}, **errors},
        }
    }


def _get_operation(summary: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": {"description": summary, "content": content}}}}


def openapi_document(version: str) -> dict[str, Any]:
    """The whole document, as plain values ready for JSON."""
    schemas, components = msgspec.json.schema_components(_TYPES, ref_template=_REF)
    (chat, completion, embedding, ranking, chat_body, text_body, embedding_body, ranking_body, models, _) = (
        schemas
    )
    config_object = {"type": "object", "additionalProperties": True}
    metrics_text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "aiperf-mock-server", "version": version},
        "paths": {
            "/v1/chat/completions": _inference_operation("Chat completion", chat, chat_body, streams=True),
            "/v1/completions": _inference_operation("Text completion", completion, text_body, streams=True),
            "/v1/embeddings": _inference_operation("Embeddings", embedding, embedding_body, streams=False),
            "/v1/ranking": _inference_operation("Passage ranking", ranking, ranking_body, streams=False),
            "/v1/models": _get_operation("Advertised models", _json_content(models)),
            "/health": _get_operation(
                "Health and configuration",
                _json_content(
                    {
                        "type": "object",
                        "properties": {"status": {"const": "healthy"}, "config": config_object},
                        "required": ["status", "config"],
                    }
                ),
            ),
            "/": _get_operation(
                "Server information",
                _json_content(
                    {
                        "type": "object",
                        "properties": {
                            "message": {"type": "string"},
                            "version": {"type": "string"},
                            "config": config_object,
                        },
                        "required": ["message", "version", "config"],
                    }
                ),
            ),
            "/dcgm1/metrics": _get_operation("Simulated dcgm-exporter, instance 1", metrics_text),
            "/dcgm2/metrics": _get_operation("Simulated dcgm-exporter, instance 2", metrics_text),
        },
        "components": {"schemas": components},
    }
