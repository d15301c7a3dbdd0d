"""OpenAI Responses (`POST /v1/responses`): request types and their generation command.

`input` is a string or a list of items: messages (string content or `input_text` parts),
earlier `function_call` items and their `function_call_output`. Items are read with one
lenient Struct (a message item may omit its `type`), then checked here, naming the field.
"""

from typing import Annotated, Any, Literal

import msgspec

from mockcore.digest import digest_fields
from mockcore.errors import RequestError
from mockcore.generation import GenerationCommand, OutputFormat, ToolChoice, ToolSpec
from mockcore.generation.tools import tool_choice_of
from mockcore.plan import ChoicePlan
from mockcore.prompts import PromptView
from mockcore.reasoning import is_reasoning_model, reasoning_budget
from mockcore.requests import MAX_TOOLS, ModelName, ReasoningEffort
from mockcore.tokenizer import count_tokens

MIN_OUTPUT_TOKENS = 16
EMPTY_PARAMETERS: dict[str, object] = {"type": "object", "properties": {}}
_TEXT_PART_TYPES = frozenset({"input_text", "output_text", "text"})
_MESSAGE_ROLES = frozenset({"user", "assistant", "system", "developer"})


class InputPart(msgspec.Struct, kw_only=True):
    """A part of a message item; `input_text` and `output_text` parts carry text."""

    type: str
    text: str | None = None


class InputItem(msgspec.Struct, kw_only=True):
    """One `input` item: a message, a `function_call` or a `function_call_output`."""

    type: str = "message"
    role: str | None = None
    content: str | list[InputPart] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | list[InputPart] | None = None


class ReasoningOptions(msgspec.Struct, kw_only=True):
    """`reasoning`: the effort a reasoning model spends."""

    effort: ReasoningEffort | None = None
    summary: str | None = None


class ResponsesTool(msgspec.Struct, kw_only=True):
    """A tool; only `function` tools can be called by this server (others are accepted and unused)."""

    type: str
    name: Annotated[str, msgspec.Meta(pattern="^[a-zA-Z0-9_-]{1,64}$")] | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class NamedFunctionChoice(msgspec.Struct, kw_only=True):
    """`{"type": "function", "name": ...}`."""

    type: Literal["function"]
    name: str


class TextFormat(msgspec.Struct, kw_only=True):
    """`text.format`: text, any JSON object, or JSON valid against `schema`."""

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class TextOptions(msgspec.Struct, kw_only=True):
    """`text`: the output format."""

    format: TextFormat | None = None


class ResponsesRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/responses`."""

    model: ModelName
    input: str | list[InputItem]
    instructions: str | None = None
    max_output_tokens: Annotated[int, msgspec.Meta(ge=MIN_OUTPUT_TOKENS)] | None = None
    reasoning: ReasoningOptions | None = None
    tools: Annotated[list[ResponsesTool], msgspec.Meta(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunctionChoice | None = None
    text: TextOptions | None = None
    stream: bool | None = None
    parallel_tool_calls: bool | None = None


def _part_texts(parts: str | list[InputPart] | None, param: str) -> list[str]:
    if parts is None:
        return []
    if isinstance(parts, str):
        return [parts]
    texts = []
    for index, part in enumerate(parts):
        if part.type not in _TEXT_PART_TYPES:
            continue
        if part.text is None:
            raise RequestError(
                f"A part of type `{part.type}` needs a `text` string.", f"{param}[{index}].text"
            )
        texts.append(part.text)
    return texts


def _item_records(item: InputItem, index: int) -> list[tuple[str, str]]:
    """The (role, text) records of one input item."""
    param = f"input[{index}]"
    if item.type == "message":
        if item.role not in _MESSAGE_ROLES:
            raise RequestError(
                f"`{param}.role` must be one of user, assistant, system or developer.", f"{param}.role"
            )
        texts = _part_texts(item.content, f"{param}.content")
        return [(item.role, text) for text in texts or [""]]
    if item.type == "function_call":
        if item.name is None or item.arguments is None or item.call_id is None:
            raise RequestError(
                "A `function_call` item needs `call_id`, `name` and `arguments`.", f"{param}.call_id"
            )
        return [("assistant", item.name), ("assistant", item.arguments)]
    if item.type == "function_call_output":
        if item.call_id is None or item.output is None:
            raise RequestError(
                "A `function_call_output` item needs `call_id` and `output`.", f"{param}.output"
            )
        return [("tool", text) for text in _part_texts(item.output, f"{param}.output") or [""]]
    if item.type == "reasoning":
        return []
    raise RequestError(f"Input items of type `{item.type}` are not supported.", f"{param}.type")


def responses_prompt(request: ResponsesRequest) -> PromptView:
    """The prompt: the instructions, then every input item in order."""
    records: list[tuple[str, str]] = []
    if request.instructions is not None:
        records.append(("developer", request.instructions))
    if isinstance(request.input, str):
        records.append(("user", request.input))
    else:
        for index, item in enumerate(request.input):
            records.extend(_item_records(item, index))
    texts = tuple(text for _, text in records if text)
    return PromptView(
        texts=texts, token_count=sum(count_tokens(text) for text in texts), digest=digest_fields(records)
    )


def _tools(request: ResponsesRequest) -> tuple[ToolSpec, ...]:
    specs = []
    for index, tool in enumerate(request.tools or ()):
        if tool.type != "function":
            continue
        if tool.name is None:
            raise RequestError("A `function` tool needs a `name`.", f"tools[{index}].name")
        parameters = tool.parameters if tool.parameters is not None else EMPTY_PARAMETERS
        specs.append(ToolSpec(name=tool.name, parameters=parameters, param=f"tools[{index}].parameters"))
    return tuple(specs)


def _tool_choice(request: ResponsesRequest, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    option = request.tool_choice
    if option is None or isinstance(option, str):
        return tool_choice_of(option, None, tools)
    return tool_choice_of("named", option.name, tools)


def _output_format(request: ResponsesRequest) -> OutputFormat | None:
    text_format = request.text.format if request.text is not None else None
    if text_format is None or text_format.type == "text":
        return None
    if text_format.type == "json_object":
        return OutputFormat(kind="json_object", param="text.format")
    if text_format.schema is None:
        raise RequestError("`text.format` of type `json_schema` needs a `schema`.", "text.format.schema")
    return OutputFormat(kind="json_schema", schema=text_format.schema, param="text.format.schema")


def _ends_with_tool_output(request: ResponsesRequest) -> bool:
    return (
        not isinstance(request.input, str)
        and bool(request.input)
        and request.input[-1].type == "function_call_output"
    )


def echoed_fields(request: ResponsesRequest) -> dict[str, Any]:
    """What the `response` object repeats of its request, as JSON values."""
    text_format = request.text.format if request.text is not None else None
    reasoning = request.reasoning or ReasoningOptions()
    return {
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "reasoning": {"effort": reasoning.effort, "summary": reasoning.summary},
        "text": {"format": msgspec.to_builtins(text_format) if text_format else {"type": "text"}},
        "tool_choice": msgspec.to_builtins(request.tool_choice) if request.tool_choice else "auto",
        "tools": msgspec.to_builtins(request.tools or []),
    }


def responses_command(request: ResponsesRequest) -> GenerationCommand:
    """A Responses request in neutral terms; reasoning models reason as they do in chat."""
    effort = request.reasoning.effort if request.reasoning is not None else None
    tools = _tools(request)
    return GenerationCommand(
        endpoint="responses",
        model=request.model,
        prompts=(responses_prompt(request),),
        limit=request.max_output_tokens,
        limit_param="max_output_tokens",
        reasoning_wanted=reasoning_budget(request.model, effort),
        reasons=is_reasoning_model(request.model),
        stream=bool(request.stream),
        tools=tools,
        tool_choice=_tool_choice(request, tools),
        tool_result_last=_ends_with_tool_output(request),
        output_format=_output_format(request),
        echo=echoed_fields(request),
    )


def response_status(choice: ChoicePlan) -> Literal["completed", "incomplete"]:
    """A finished response is `incomplete` when the limit cut it (reason `max_output_tokens`)."""
    return "incomplete" if choice.finish_reason == "length" else "completed"
