"""Response bodies of the OpenAI wire protocol, as dumb msgspec Structs.

Absent fields use `UNSET` (always omitted); fields OpenAI sends as explicit nulls are
`None` defaults, which msgspec writes out.
"""

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from mockcore.errors import ErrorInfo


class CompletionTokensDetails(msgspec.Struct, kw_only=True):
    """Breakdown of completion tokens (reasoning models only)."""

    reasoning_tokens: int


class PromptTokensDetails(msgspec.Struct, kw_only=True):
    """Breakdown of prompt tokens: those the engine's prefix cache served (`--engine` only)."""

    cached_tokens: int


class UsageBody(msgspec.Struct, kw_only=True):
    """`usage` of every inference response."""

    prompt_tokens: int
    completion_tokens: int | UnsetType = UNSET
    total_tokens: int
    completion_tokens_details: CompletionTokensDetails | UnsetType = UNSET
    prompt_tokens_details: PromptTokensDetails | UnsetType = UNSET


class FunctionCallBody(msgspec.Struct, kw_only=True):
    """The called function and its arguments, JSON text."""

    name: str
    arguments: str


class ToolCallBody(msgspec.Struct, kw_only=True):
    """One tool call of an assistant message."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCallBody


class AssistantMessage(msgspec.Struct, kw_only=True):
    """The message of a non-streaming chat choice; vLLM names the reasoning twice."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    reasoning: str | UnsetType = UNSET
    reasoning_content: str | UnsetType = UNSET
    tool_calls: list[ToolCallBody] | UnsetType = UNSET


class TopLogprobBody(msgspec.Struct, kw_only=True):
    """An alternative token of chat log-probabilities."""

    token: str
    logprob: float
    bytes: list[int]


class TokenLogprobBody(msgspec.Struct, kw_only=True):
    """One generated token of chat log-probabilities, with its alternatives."""

    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[TopLogprobBody]


class ChatLogprobs(msgspec.Struct, kw_only=True):
    """`choices[].logprobs` of chat: one entry per content token."""

    content: list[TokenLogprobBody]
    refusal: None = None


class TextLogprobs(msgspec.Struct, kw_only=True):
    """`choices[].logprobs` of completions: parallel lists, as the legacy API has them."""

    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]] | None
    text_offset: list[int]


class ChatChoice(msgspec.Struct, kw_only=True):
    """One choice of a chat completion; `stop_reason` (vLLM) names the stop string that ended it."""

    index: int
    message: AssistantMessage
    logprobs: ChatLogprobs | None = None
    finish_reason: str
    stop_reason: str | UnsetType = UNSET


class ChatCompletionBody(msgspec.Struct, kw_only=True):
    """`chat.completion` object."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: UsageBody


class TextChoice(msgspec.Struct, kw_only=True):
    """One choice of a text completion."""

    index: int
    text: str
    logprobs: TextLogprobs | None = None
    finish_reason: str
    stop_reason: str | UnsetType = UNSET


class TextCompletionBody(msgspec.Struct, kw_only=True):
    """`text_completion` object."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[TextChoice]
    usage: UsageBody


class EmbeddingItem(msgspec.Struct, kw_only=True):
    """One vector: an array of floats, or base64 of little-endian float32."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: tuple[float, ...] | str


class EmbeddingListBody(msgspec.Struct, kw_only=True):
    """Response of `/v1/embeddings`."""

    object: Literal["list"] = "list"
    data: list[EmbeddingItem]
    model: str
    usage: UsageBody


class RankingItem(msgspec.Struct, kw_only=True):
    """One passage's ranking."""

    index: int
    logit: float
    relevance_score: float


class RankingBody(msgspec.Struct, kw_only=True):
    """Response of `/v1/ranking`."""

    rankings: list[RankingItem]
    usage: UsageBody


class TeiRank(msgspec.Struct, kw_only=True):
    """One entry of TEI's `/rerank` answer (a bare JSON list of these)."""

    index: int
    score: float
    text: str | UnsetType = UNSET


class TeiErrorBody(msgspec.Struct, kw_only=True):
    """TEI's error shape."""

    error: str
    error_type: str


class CohereResult(msgspec.Struct, kw_only=True):
    """One result of Cohere's `/v2/rerank`; `document` only with `return_documents`."""

    index: int
    relevance_score: float
    document: dict[str, Any] | UnsetType = UNSET


class CohereApiVersion(msgspec.Struct, kw_only=True):
    """`meta.api_version`."""

    version: str = "2"
    is_experimental: bool = False


class CohereBilledUnits(msgspec.Struct, kw_only=True):
    """`meta.billed_units`."""

    search_units: int


class CohereMeta(msgspec.Struct, kw_only=True):
    """`meta` of a Cohere answer."""

    api_version: CohereApiVersion
    billed_units: CohereBilledUnits


class CohereRerankBody(msgspec.Struct, kw_only=True):
    """Response of Cohere's `/v2/rerank`."""

    id: str
    results: list[CohereResult]
    meta: CohereMeta


class CohereErrorBody(msgspec.Struct, kw_only=True):
    """Cohere's error shape."""

    message: str


class ModelCard(msgspec.Struct, kw_only=True):
    """One entry of `/v1/models`."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelListBody(msgspec.Struct, kw_only=True):
    """Response of `/v1/models`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(msgspec.Struct, kw_only=True):
    """The OpenAI error envelope."""

    error: ErrorInfo
