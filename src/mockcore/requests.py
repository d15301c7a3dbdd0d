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


class FunctionCall(msgspec.Struct, kw_only=True):
    """The function an earlier assistant turn called, and its arguments as JSON text."""

    name: str
    arguments: str = ""


class MessageToolCall(msgspec.Struct, kw_only=True):
    """A tool call of an earlier assistant turn (it is part of the prompt)."""

    id: str | None = None
    type: str = "function"
    function: FunctionCall


class ChatMessage(msgspec.Struct, kw_only=True):
    """A chat message; `content` may be absent or null (an assistant turn with tool calls)."""

    role: ChatRole
    content: str | list[ContentPart] | None = None
    tool_calls: list[MessageToolCall] | None = None


MAX_TOOLS = 128
MAX_STOP_STRINGS = 16
MAX_SAMPLES = 128
MAX_TOP_LOGPROBS = 20
ToolName = Annotated[str, msgspec.Meta(pattern="^[a-zA-Z0-9_-]{1,64}$")]
StopString = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Stop = StopString | Annotated[list[StopString], msgspec.Meta(max_length=MAX_STOP_STRINGS)]
SampleCount = Annotated[int, msgspec.Meta(ge=1, le=MAX_SAMPLES)]
TopLogprobs = Annotated[int, msgspec.Meta(ge=0, le=MAX_TOP_LOGPROBS)]
JsonSchema = dict[str, Any]


class FunctionDefinition(msgspec.Struct, kw_only=True):
    """A function the model may call; `parameters` is the JSON schema of its arguments."""

    name: ToolName
    description: str | None = None
    parameters: JsonSchema | None = None
    strict: bool | None = None


class ChatTool(msgspec.Struct, kw_only=True):
    """One entry of `tools`."""

    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(msgspec.Struct, kw_only=True):
    """The function a named `tool_choice` forces."""

    name: ToolName


class NamedToolChoice(msgspec.Struct, kw_only=True):
    """`{"type": "function", "function": {"name": ...}}`."""

    type: Literal["function"]
    function: NamedFunction


ToolChoiceOption = Literal["none", "auto", "required"] | NamedToolChoice


class JsonSchemaFormat(msgspec.Struct, kw_only=True):
    """`response_format.json_schema`: the schema the content must validate against."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    description: str | None = None
    schema: JsonSchema | None = None
    strict: bool | None = None


class ResponseFormat(msgspec.Struct, kw_only=True):
    """`response_format`: plain text, any JSON object, or JSON valid against a schema."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


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
    n: SampleCount | None = None
    seed: int | None = None
    stop: Stop | None = None
    logprobs: bool | None = None
    top_logprobs: TopLogprobs | None = None
    tools: Annotated[list[ChatTool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
    tool_choice: ToolChoiceOption | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
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
    n: SampleCount | None = None
    seed: int | None = None
    stop: Stop | None = None
    logprobs: TopLogprobs | None = None
    # vLLM sampling extensions
    min_tokens: NonNegativeInt | None = None
    ignore_eos: bool | None = None


class EmbeddingImageUrl(msgspec.Struct, kw_only=True):
    """`image_url` of a chat-embeddings content part: a data URL or a link."""

    url: str


class EmbeddingContentPart(msgspec.Struct, kw_only=True):
    """One part of a chat-embeddings message: `text`, or an `image_url` (vLLM's multimodal form)."""

    type: str
    text: str | None = None
    image_url: EmbeddingImageUrl | None = None


class EmbeddingMessage(msgspec.Struct, kw_only=True):
    """A message of a chat-style embeddings request (what aiperf's `chat_embeddings` sends)."""

    role: ChatRole
    content: str | list[EmbeddingContentPart] | None = None


# NIM's `input_type`: asymmetric models embed a query and a passage differently.
EmbeddingInputType = Literal["query", "passage"]
# NIM's `truncate`: which end of an input longer than the model's context to drop.
EmbeddingTruncate = Literal["NONE", "START", "END"]


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/embeddings`: OpenAI's `input`, or vLLM's chat form `messages`; NIM's extensions.

    One of `input` and `messages` is needed (`input` wins over both, as in vLLM; the planner
    checks). An absent `input` is the empty list, which JSON cannot spell here (a list needs
    one element), so the request limits count it as nothing.
    """

    input: Prompt = msgspec.field(default_factory=list)
    model: ModelName
    encoding_format: EncodingFormat = "float"
    dimensions: Annotated[int, msgspec.Meta(ge=1, le=768)] | None = None
    input_type: EmbeddingInputType | None = None
    truncate: EmbeddingTruncate | None = None
    messages: Annotated[list[EmbeddingMessage], msgspec.Meta(min_length=1)] | None = None


class RankingText(msgspec.Struct, kw_only=True):
    """A query or passage of a ranking request."""

    text: str


class RankingRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/ranking` (the NVIDIA NIM reranking shape)."""

    model: ModelName
    query: RankingText
    passages: Annotated[list[RankingText], msgspec.Meta(min_length=1)]


InferenceRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest | RankingRequest

Route = Literal[
    "chat",
    "completions",
    "embeddings",
    "ranking",
    "responses",
    "messages",
    "generate",
    "generate_stream",
    "tei_rerank",
    "cohere_rerank",
]

# The OpenAI routes' request types; `mockcore.decoding.ROUTE_REQUEST_TYPES` has those of every
# route `mockcore.service` plans (the rerank routes' are in `mockcore.rerank`).
REQUEST_TYPES: dict[Route, type[Any]] = {
    "chat": ChatCompletionRequest,
    "completions": CompletionRequest,
    "embeddings": EmbeddingRequest,
    "ranking": RankingRequest,
}
