"""The request payloads of the OpenAI-compatible routes, as strict msgspec Structs.

These types define what a valid request is, so they belong to the core: the server decodes
its raw bodies with the decoders below, and `predict` decodes a payload through the very same
ones. Fields follow the order of the OpenAI reference; unknown fields are ignored, as a real
server ignores `temperature`, `tools`, `user` and the like.
"""

from typing import Annotated, Any, Literal

import msgspec

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
ChatRole = Literal["system", "developer", "user", "assistant", "tool", "function"]
EncodingFormat = Literal["float", "base64"]

TokenId = Annotated[int, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
MAX_MODEL_NAME_CHARS = 256
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MODEL_NAME_CHARS)]


class ContentPart(msgspec.Struct, kw_only=True):
    """One part of a multi-part message; only `text` parts carry prompt text."""

    type: str
    text: str | None = None


class ChatMessage(msgspec.Struct, kw_only=True):
    """A chat message; `content` may be absent or null (an assistant turn with tool calls)."""

    role: ChatRole
    content: str | list[ContentPart] | None = None


class StreamOptions(msgspec.Struct, kw_only=True):
    """`stream_options` of chat and completion requests."""

    include_usage: bool | None = None
    continuous_usage_stats: bool | None = None


class ChatCompletionRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/chat/completions`."""

    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    model: ModelName
    max_completion_tokens: PositiveInt | None = None
    max_tokens: PositiveInt | None = None
    reasoning_effort: ReasoningEffort | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # vLLM sampling extensions
    min_tokens: NonNegativeInt | None = None
    ignore_eos: bool | None = None


# A prompt is a string, a list of strings, a list of token ids or a list of token-id lists.
# msgspec allows one array-like type per union, so the elements are checked by the planner.
PromptElement = str | TokenId | list[TokenId]
Prompt = str | Annotated[list[PromptElement], msgspec.Meta(min_length=1)]


class CompletionRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/completions`."""

    model: ModelName
    prompt: Prompt
    max_tokens: PositiveInt | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    # vLLM sampling extensions
    min_tokens: NonNegativeInt | None = None
    ignore_eos: bool | None = None


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/embeddings`."""

    input: Prompt
    model: ModelName
    encoding_format: EncodingFormat = "float"
    dimensions: Annotated[int, msgspec.Meta(ge=1, le=768)] | None = None


class RankingText(msgspec.Struct, kw_only=True):
    """A query or passage of a ranking request."""

    text: str


class RankingRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/ranking` (the NVIDIA NIM reranking shape)."""

    model: ModelName
    query: RankingText
    passages: Annotated[list[RankingText], msgspec.Meta(min_length=1)]


InferenceRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest | RankingRequest

Route = Literal["chat", "completions", "embeddings", "ranking"]

REQUEST_TYPES: dict[Route, type[Any]] = {
    "chat": ChatCompletionRequest,
    "completions": CompletionRequest,
    "embeddings": EmbeddingRequest,
    "ranking": RankingRequest,
}
