"""Anthropic Messages (`POST /v1/messages`): request types and their generation command.

`max_tokens` is required and includes the thinking; `thinking.budget_tokens` must be at
least 1024 and below `max_tokens`, as Anthropic checks. A thinking model uses a quarter of
its budget (a model rarely spends all of it), so the thinking length follows the budget.
"""

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from mockcore.digest import derived_bytes, derived_u64, digest_fields
from mockcore.errors import RequestError
from mockcore.generation import GenerationCommand, ToolChoice, ToolSpec
from mockcore.generation.tools import tool_choice_of
from mockcore.plan import CachePoint
from mockcore.prompts import PromptView
from mockcore.requests import MAX_STOP_STRINGS, MAX_TOOLS, ModelName, PositiveInt, StopString
from mockcore.tokenizer import count_tokens

if TYPE_CHECKING:
    from mockcore.generation.command import ToolMode

MIN_THINKING_BUDGET = 1024
MIN_CACHEABLE_TOKENS = 1024
MAX_CACHE_BREAKPOINTS = 4
DEFAULT_CACHE_TTL_S = 300.0
LONG_CACHE_TTL_S = 3600.0
_CACHE_KEY_SALT = b"prompt-cache"
THINKING_SHARE = 4
EMPTY_INPUT_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


class CacheControl(msgspec.Struct, kw_only=True):
    """`cache_control`: marks the end of a prompt prefix to cache."""

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class TextBlock(msgspec.Struct, kw_only=True, tag="text", tag_field="type"):
    """A text block."""

    text: str
    cache_control: CacheControl | None = None


class ImageBlock(msgspec.Struct, kw_only=True, tag="image", tag_field="type"):
    """An image block: it counts as no prompt text."""

    source: dict[str, Any]
    cache_control: CacheControl | None = None


class DocumentBlock(msgspec.Struct, kw_only=True, tag="document", tag_field="type"):
    """A document block: its text, when it has a text source, is prompt text."""

    source: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolUseBlock(msgspec.Struct, kw_only=True, tag="tool_use", tag_field="type"):
    """An earlier assistant turn's tool call."""

    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolResultBlock(msgspec.Struct, kw_only=True, tag="tool_result", tag_field="type"):
    """A tool's result, sent back in a user turn."""

    tool_use_id: str
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(msgspec.Struct, kw_only=True, tag="thinking", tag_field="type"):
    """Earlier thinking, sent back with its signature."""

    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(msgspec.Struct, kw_only=True, tag="redacted_thinking", tag_field="type"):
    """Earlier thinking the client cannot read."""

    data: str


ContentBlock = (
    TextBlock
    | ImageBlock
    | DocumentBlock
    | ToolUseBlock
    | ToolResultBlock
    | ThinkingBlock
    | RedactedThinkingBlock
)


class SystemBlock(msgspec.Struct, kw_only=True):
    """A text block of the system prompt (its `type` is required, as in content blocks)."""

    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None


class AnthropicMessage(msgspec.Struct, kw_only=True):
    """One turn: a string or a list of blocks."""

    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class ThinkingConfig(msgspec.Struct, kw_only=True):
    """`thinking`: enabled with a budget, or disabled."""

    type: Literal["enabled", "disabled", "adaptive"]
    budget_tokens: int | None = None


class AnthropicTool(msgspec.Struct, kw_only=True):
    """A client tool; `input_schema` is the JSON schema of its `input`."""

    name: Annotated[str, msgspec.Meta(pattern="^[a-zA-Z0-9_-]{1,128}$")]
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None
    cache_control: CacheControl | None = None


class AnthropicToolChoice(msgspec.Struct, kw_only=True):
    """`tool_choice`: auto, any (some tool), a named tool, or none."""

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MessagesRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/messages`."""

    model: ModelName
    messages: Annotated[list[AnthropicMessage], msgspec.Meta(min_length=1)]
    max_tokens: PositiveInt
    system: str | list[SystemBlock] | None = None
    stop_sequences: Annotated[list[StopString], msgspec.Meta(max_length=MAX_STOP_STRINGS)] | None = None
    stream: bool | None = None
    thinking: ThinkingConfig | None = None
    tools: Annotated[list[AnthropicTool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
    tool_choice: AnthropicToolChoice | None = None


def _block_texts(block: ContentBlock) -> Iterator[str]:
    """The prompt text of one block."""
    if isinstance(block, TextBlock):
        yield block.text
    elif isinstance(block, ToolUseBlock):
        yield block.name
        yield msgspec.json.encode(block.input).decode()
    elif isinstance(block, ToolResultBlock):
        if isinstance(block.content, str):
            yield block.content
        elif block.content is not None:
            yield from (part.text for part in block.content if isinstance(part, TextBlock))
    elif isinstance(block, ThinkingBlock):
        yield block.thinking
    elif isinstance(block, DocumentBlock) and block.source.get("type") == "text":
        data = block.source.get("data")
        if isinstance(data, str):
            yield data


Marked = tuple[str, list[str], CacheControl | None]


def _system_blocks(request: MessagesRequest) -> Iterator[Marked]:
    if isinstance(request.system, str):
        yield "system", [request.system], None
    elif request.system is not None:
        for block in request.system:
            yield "system", [block.text], block.cache_control


def _message_blocks(message: AnthropicMessage) -> Iterator[Marked]:
    """A message's blocks; a message without any text still counts once, as an empty text."""
    if isinstance(message.content, str):
        yield message.role, [message.content], None
        return
    any_text = False
    for block in message.content:
        texts = list(_block_texts(block))
        any_text = any_text or bool(texts)
        yield message.role, texts, getattr(block, "cache_control", None)
    if not any_text:
        yield message.role, [""], None


def marked_blocks(request: MessagesRequest) -> Iterator[Marked]:
    """(role, texts, cache_control) of every block of the prompt in order: the system prompt first."""
    yield from _system_blocks(request)
    for message in request.messages:
        yield from _message_blocks(message)


def prompt_records(request: MessagesRequest) -> list[tuple[str, str]]:
    """Every (role, text) of the prompt in order."""
    return [(role, text) for role, texts, _ in marked_blocks(request) for text in texts]


def cache_points(request: MessagesRequest) -> tuple[CachePoint, ...]:
    """The prefixes that end at a `cache_control` block and are long enough to cache.

    Anthropic caches a prefix of at least 1024 tokens, at most four breakpoints per request;
    the key is the prefix's digest, so the same prefix has the same key in every request.
    """
    records: list[tuple[str, str]] = []
    tokens = 0
    # Tools come first in the cached prefix; their breakpoints count toward the four.
    marks = sum(tool.cache_control is not None for tool in request.tools or ())
    points: list[CachePoint] = []
    for role, texts, control in marked_blocks(request):
        records.extend((role, text) for text in texts)
        tokens += sum(count_tokens(text) for text in texts)
        if control is None:
            continue
        marks += 1
        if marks > MAX_CACHE_BREAKPOINTS:
            raise RequestError(
                f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided.", "messages"
            )
        if tokens >= MIN_CACHEABLE_TOKENS:
            key = derived_u64(digest_fields(records), _CACHE_KEY_SALT) or 1
            ttl_s = LONG_CACHE_TTL_S if control.ttl == "1h" else DEFAULT_CACHE_TTL_S
            points.append(CachePoint(key=key, tokens=tokens, ttl_s=ttl_s))
    if marks > MAX_CACHE_BREAKPOINTS:
        raise RequestError(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided.", "tools"
        )
    return tuple(points)


def messages_prompt(request: MessagesRequest) -> PromptView:
    """The prompt: all texts in order, counted and hashed like chat's."""
    records = prompt_records(request)
    texts = tuple(text for _, text in records if text)
    return PromptView(
        texts=texts, token_count=sum(count_tokens(text) for text in texts), digest=digest_fields(records)
    )


def thinking_tokens(request: MessagesRequest) -> int:
    """The thinking a request buys: a quarter of `budget_tokens`; 0 when thinking is off."""
    thinking = request.thinking
    if thinking is None or thinking.type == "disabled":
        return 0
    if thinking.type == "adaptive":
        return min(request.max_tokens, MIN_THINKING_BUDGET) // THINKING_SHARE
    budget = thinking.budget_tokens
    if budget is None:
        raise RequestError("thinking.budget_tokens: Field required", "thinking.budget_tokens")
    if budget < MIN_THINKING_BUDGET:
        raise RequestError(
            f"thinking.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}",
            "thinking.budget_tokens",
        )
    if budget >= request.max_tokens:
        raise RequestError(
            "`max_tokens` must be greater than `thinking.budget_tokens`.", "thinking.budget_tokens"
        )
    return budget // THINKING_SHARE


def _tools(request: MessagesRequest) -> tuple[ToolSpec, ...]:
    return tuple(
        ToolSpec(
            name=tool.name,
            parameters=tool.input_schema if tool.input_schema is not None else EMPTY_INPUT_SCHEMA,
            param=f"tools.{index}.input_schema",
        )
        for index, tool in enumerate(request.tools or ())
        if tool.type in {None, "custom"}
    )


def _tool_choice(request: MessagesRequest, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    """Anthropic's `any` is a required call, `tool` a named one."""
    choice = request.tool_choice
    if choice is None:
        return tool_choice_of(None, None, tools)
    if choice.type == "tool" and choice.name is None:
        raise RequestError("tool_choice.name: Field required", "tool_choice.name")
    modes: dict[str, ToolMode] = {"auto": "auto", "none": "none", "any": "required", "tool": "named"}
    return tool_choice_of(modes[choice.type], choice.name, tools)


def _ends_with_tool_result(request: MessagesRequest) -> bool:
    last = request.messages[-1]
    return (
        last.role == "user"
        and not isinstance(last.content, str)
        and any(isinstance(block, ToolResultBlock) for block in last.content)
    )


def messages_command(request: MessagesRequest) -> GenerationCommand:
    """A Messages request in neutral terms."""
    thinking = thinking_tokens(request)
    tools = _tools(request)
    choice = request.tool_choice
    if thinking and choice is not None and choice.type in {"any", "tool"}:
        raise RequestError(
            "Thinking may not be enabled when tool_choice forces tool use.", "tool_choice.type"
        )
    return GenerationCommand(
        endpoint="messages",
        model=request.model,
        prompts=(messages_prompt(request),),
        limit=request.max_tokens,
        limit_param="max_tokens",
        reasoning_wanted=thinking,
        reasons=request.thinking is not None and request.thinking.type != "disabled",
        stream=bool(request.stream),
        stop=tuple(request.stop_sequences or ()),
        tools=tools,
        tool_choice=_tool_choice(request, tools),
        tool_result_last=_ends_with_tool_result(request),
        cache_points=cache_points(request),
    )


_SIGNATURE_SALT = b"thinking-sig"
_SIGNATURE_BYTES = 48


def thinking_signature(choice_digest: bytes) -> str:
    """The signature of a thinking block: stable for the choice, so `predict` knows it."""
    return base64.b64encode(derived_bytes(choice_digest, _SIGNATURE_SALT, _SIGNATURE_BYTES)).decode("ascii")


def stop_reason(finish_reason: str, stop_sequence: str | None) -> str:
    """Anthropic's name for why a choice ended."""
    if stop_sequence is not None:
        return "stop_sequence"
    return {"length": "max_tokens", "tool_calls": "tool_use"}.get(finish_reason, "end_turn")
