"""The OpenAPI 3.1 document of the server, generated from the Structs that do the work.

Request schemas come from `mockcore.requests` (the types the decoder enforces) and response
schemas from `mockhttp.responses` (the types the renderer encodes), so the document cannot
drift from the behaviour. Served at `/openapi.json`; fuzzers (schemathesis) read it.
"""

from typing import Any, get_args

import msgspec

from mockcore.media.image_requests import ImageSizeName, OutputFormat, RequestedQuality
from mockcore.media.image_requests import ResponseFormat as ImageResponseFormat
from mockcore.media.transcription_request import ResponseFormat as TranscriptionFormat
from mockcore.media.video import VIDEO_SECONDS, VIDEO_SIZES
from mockcore.protocols.anthropic import MessagesRequest
from mockcore.protocols.responses import ResponsesRequest
from mockcore.protocols.tgi import GenerateRequest
from mockcore.replica import ReplicaIdentity
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
# The bodies of the other protocols are rendered from plain values; their schemas say what
# every answer has, and leave the rest open.
_RESPONSE_OBJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "response"},
        "status": {"enum": ["completed", "incomplete"]},
        "output": {"type": "array", "items": {"type": "object"}},
        "usage": {"type": "object"},
    },
    "required": ["id", "object", "status", "output", "usage"],
}
_MESSAGE_OBJECT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "type": {"const": "message"},
        "role": {"const": "assistant"},
        "content": {"type": "array", "items": {"type": "object"}},
        "stop_reason": {"enum": ["end_turn", "max_tokens", "stop_sequence", "tool_use"]},
        "usage": {"type": "object"},
    },
    "required": ["id", "type", "role", "content", "stop_reason", "usage"],
}
_TGI_OBJECT = {
    "type": "object",
    "properties": {"generated_text": {"type": "string"}, "details": {"type": "object"}},
    "required": ["generated_text"],
}
_ANTHROPIC_ERROR = {
    "type": "object",
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
            "required": ["type", "message"],
        },
    },
    "required": ["type", "error"],
}
_TGI_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "error_type": {"type": "string"}},
    "required": ["error", "error_type"],
}
_EVENTSTREAM = {"application/vnd.amazon.eventstream": {"schema": {"type": "string", "format": "binary"}}}
_ANTHROPIC_VERSION = {
    "name": "anthropic-version",
    "in": "header",
    "required": True,
    "schema": {"type": "string"},
    "description": "Required, as Anthropic requires it; any value is accepted.",
}
_ENDPOINT_NAME = {"name": "endpoint_name", "in": "path", "required": True, "schema": {"type": "string"}}
_TYPES: list[type[Any]] = [
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    RankingRequest,
    ResponsesRequest,
    MessagesRequest,
    GenerateRequest,
    ChatCompletionBody,
    TextCompletionBody,
    EmbeddingListBody,
    RankingBody,
    ModelListBody,
    ErrorBody,
    ReplicaIdentity,
]


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _inference_operation(
    summary: str,
    request: dict[str, Any],
    response: dict[str, Any] | None,
    *,
    streams: bool,
    error: dict[str, Any] | None = None,
    invalid_status: str = "400",
    parameters: list[dict[str, Any]] | None = None,
    stream_content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One POST operation.

    `error` is the protocol's envelope (OpenAI's by default), sent with `invalid_status` for
    an invalid request (TGI says 422).
    """
    ok_content = _json_content(response) if response is not None else {}
    if streams:
        # Before OpenAPI 3.2 (`itemSchema`), tools read the schema of an event stream as the
        # schema of one event: `data` carries a compact JSON chunk, or `[DONE]` at the end.
        ok_content["text/event-stream"] = {"schema": _SSE_EVENT}
    if stream_content is not None:
        ok_content.update(stream_content)
    envelope = error if error is not None else {"$ref": _REF.format(name="ErrorBody")}
    errors = {
        (invalid_status if status == "400" else status): {
            "description": description,
            "content": _json_content(envelope),
        }
        for status, description in _ERROR_STATUSES.items()
    }
    operation: dict[str, Any] = {
        "summary": summary,
        "requestBody": {"required": True, "content": _json_content(request)},
        "responses": {"200": {"description": "The answer.", "content": ok_content}, **errors},
    }
    if parameters:
        operation["parameters"] = parameters
    return {"post": operation}


def _get_operation(summary: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": {"200": {"description": summary, "content": content}}}}


# -- the multipart media routes ---------------------------------------------------------------
# A form's fields are text on the wire; the enums are the core's own value sets.
_FILE: dict[str, Any] = {"type": "string", "format": "binary"}
_MEDIA_ANSWER = {"type": "object"}  # each route's JSON answer: see docs/api.md


def _choices(literal: Any) -> dict[str, Any]:
    """A text field that takes one of a Literal's values."""
    return {"type": "string", "enum": list(get_args(literal))}


def _form_operation(
    summary: str, fields: dict[str, dict[str, Any]], required: list[str], answers: dict[str, Any]
) -> dict[str, Any]:
    """One POST operation whose body is a multipart form (an upload)."""
    form = {"type": "object", "properties": fields, "required": required}
    envelope = _json_content({"$ref": _REF.format(name="ErrorBody")})
    errors = {
        "400": {
            "description": "A missing or invalid field, or a file that does not decode.",
            "content": envelope,
        },
        "401": {"description": _ERROR_STATUSES["401"], "content": envelope},
        "413": {"description": "The upload is over --media-max-upload-bytes.", "content": envelope},
        "501": {"description": "The server lacks the media extra (Pillow, PyAV).", "content": envelope},
    }
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": form}}},
            "responses": {"200": {"description": "The answer.", "content": answers}, **errors},
        }
    }


def _media_operations() -> dict[str, Any]:
    """The multipart routes: image edits, audio transcription and translation, video jobs."""
    image_edit = _form_operation(
        "Image edit",
        {
            "image": _FILE,
            "mask": _FILE,
            "prompt": {"type": "string", "minLength": 1},
            "model": {"type": "string"},
            "n": {"type": "string", "pattern": "^([1-9]|10)?$"},  # empty: the default, 1
            "size": _choices(ImageSizeName),
            "quality": _choices(RequestedQuality),
            "response_format": _choices(ImageResponseFormat),
            "output_format": _choices(OutputFormat),
        },
        ["image", "prompt"],
        {**_json_content(_MEDIA_ANSWER), "text/event-stream": {"schema": _SSE_EVENT}},
    )
    audio_fields: dict[str, dict[str, Any]] = {
        "file": _FILE,
        "model": {"type": "string", "minLength": 1},
        "prompt": {"type": "string"},
        "response_format": _choices(TranscriptionFormat),
    }
    audio_answers = {
        **_json_content(_MEDIA_ANSWER),
        "text/plain": {"schema": {"type": "string"}},
        "text/vtt": {"schema": {"type": "string"}},
        "text/event-stream": {"schema": _SSE_EVENT},
    }
    video = _form_operation(
        "Video generation job",
        {
            "prompt": {"type": "string", "minLength": 1, "maxLength": 32000},
            "model": {"type": "string"},
            "seconds": {"type": "string", "enum": [str(seconds) for seconds in VIDEO_SECONDS]},
            "size": {"type": "string", "enum": list(VIDEO_SIZES)},
        },
        ["prompt"],
        _json_content(_MEDIA_ANSWER),
    )
    return {
        "/v1/images/edits": image_edit,
        "/v1/audio/transcriptions": _form_operation(
            "Audio transcription", audio_fields, ["file", "model"], audio_answers
        ),
        "/v1/audio/translations": _form_operation(
            "Audio translation (English text)", audio_fields, ["file", "model"], audio_answers
        ),
        "/v1/videos": {
            **video,
            "get": {
                "summary": "Video jobs, newest first (OpenAI's page: limit, after, order)",
                "responses": {
                    "200": {"description": "A page of jobs.", "content": _json_content(_MEDIA_ANSWER)}
                },
            },
        },
    }


def openapi_document(version: str) -> dict[str, Any]:
    """The whole document, as plain values ready for JSON."""
    schemas, components = msgspec.json.schema_components(_TYPES, ref_template=_REF)
    (
        chat,
        completion,
        embedding,
        ranking,
        responses,
        messages,
        generate,
        chat_body,
        text_body,
        embedding_body,
        ranking_body,
        models,
        _,
        replica,
    ) = schemas
    # An embeddings request needs `input` or `messages` (`mockcore.retrieval`): a rule across
    # two fields, which the Struct leaves to the planner and the document states here.
    components["EmbeddingRequest"]["anyOf"] = [
        {"required": ["input"]},
        {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
    ]
    config_object = {"type": "object", "additionalProperties": True}
    metrics_text = {"text/plain": {"schema": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "aiperf-mock-server", "version": version},
        "paths": {
            "/v1/chat/completions": _inference_operation("Chat completion", chat, chat_body, streams=True),
            **_media_operations(),
            "/v1/completions": _inference_operation("Text completion", completion, text_body, streams=True),
            "/v1/embeddings": _inference_operation("Embeddings", embedding, embedding_body, streams=False),
            "/v1/ranking": _inference_operation("Passage ranking", ranking, ranking_body, streams=False),
            "/v1/responses": _inference_operation(
                "OpenAI Responses", responses, _RESPONSE_OBJECT, streams=True
            ),
            "/v1/messages": _inference_operation(
                "Anthropic Messages",
                messages,
                _MESSAGE_OBJECT,
                streams=True,
                error=_ANTHROPIC_ERROR,
                parameters=[_ANTHROPIC_VERSION],
            ),
            "/generate": _inference_operation(
                "Hugging Face TGI generate",
                generate,
                _TGI_OBJECT,
                streams=False,
                error=_TGI_ERROR,
                invalid_status="422",
            ),
            "/generate_stream": _inference_operation(
                "Hugging Face TGI generate_stream",
                generate,
                None,
                streams=True,
                error=_TGI_ERROR,
                invalid_status="422",
            ),
            "/endpoints/{endpoint_name}/invocations": _inference_operation(
                "SageMaker invocation (a chat completion)",
                chat,
                chat_body,
                streams=False,
                parameters=[_ENDPOINT_NAME],
            ),
            "/endpoints/{endpoint_name}/invocations-response-stream": _inference_operation(
                "SageMaker streamed invocation (the chat stream in event-stream frames)",
                chat,
                None,
                streams=False,
                parameters=[_ENDPOINT_NAME],
                stream_content=_EVENTSTREAM,
            ),
            "/v1/models": _get_operation("Advertised models", _json_content(models)),
            "/health": _get_operation(
                "Health and configuration",
                _json_content(
                    {
                        "type": "object",
                        "properties": {
                            "status": {"const": "healthy"},
                            "config": config_object,
                            "replica": replica,
                        },
                        "required": ["status", "config", "replica"],
                    }
                ),
            ),
            "/": {
                **_get_operation(
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
                **_inference_operation(
                    "Hugging Face TGI compatibility route: /generate, or /generate_stream with "
                    '"stream": true',
                    generate,
                    _TGI_OBJECT,
                    streams=True,
                    error=_TGI_ERROR,
                    invalid_status="422",
                ),
            },
            "/dcgm1/metrics": _get_operation("Simulated dcgm-exporter, instance 1", metrics_text),
            "/dcgm2/metrics": _get_operation("Simulated dcgm-exporter, instance 2", metrics_text),
        },
        "components": {"schemas": components},
    }
