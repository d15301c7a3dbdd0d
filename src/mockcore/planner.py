"""OpenAI chat and completions requests to generation commands.

Only the translation lives here: which field is the limit, how `tools`, `tool_choice`,
`response_format`, `n`, `stop` and `logprobs` read. What is generated is decided by
`mockcore.generation`, the same for every protocol.
"""

import msgspec

from mockcore.errors import RequestError
from mockcore.generation import (
    GenerationCommand,
    OutputFormat,
    ToolChoice,
    ToolSpec,
)
from mockcore.generation.tools import tool_choice_of
from mockcore.prompts import batch_prompts, chat_prompt
from mockcore.reasoning import effort_tokens, is_reasoning_model
from mockcore.requests import (
    ChatCompletionRequest,
    ChatTool,
    CompletionRequest,
    ResponseFormat,
    Stop,
    StreamOptions,
    ToolChoiceOption,
)

EMPTY_PARAMETERS: dict[str, object] = {"type": "object", "properties": {}}
_TOOL_RESULT_ROLES = ("tool", "function")


def include_usage(options: StreamOptions | None) -> bool:
    """`stream_options.include_usage`: a usage chunk ends the stream."""
    return options is not None and bool(options.include_usage)


def continuous_usage(options: StreamOptions | None) -> bool:
    """`stream_options.continuous_usage_stats` (vLLM): usage on every chunk of a stream."""
    return options is not None and bool(options.continuous_usage_stats)


def stop_strings(stop: Stop | None) -> tuple[str, ...]:
    """`stop` as a tuple, whether it came as one string or a list."""
    if stop is None:
        return ()
    return (stop,) if isinstance(stop, str) else tuple(stop)


def chat_tools(tools: list[ChatTool] | None) -> tuple[ToolSpec, ...]:
    """The function tools with the place of each schema, for errors that name it."""
    return tuple(
        ToolSpec(
            name=tool.function.name,
            parameters=tool.function.parameters if tool.function.parameters is not None else EMPTY_PARAMETERS,
            param=f"tools[{index}].function.parameters",
        )
        for index, tool in enumerate(tools or ())
    )


def chat_tool_choice(option: ToolChoiceOption | None, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    """`tool_choice`: a mode, or `{"type": "function", "function": {"name": ...}}`."""
    if option is None or isinstance(option, str):
        return tool_choice_of(option, None, tools)
    return tool_choice_of("named", option.function.name, tools)


def chat_output_format(response_format: ResponseFormat | None) -> OutputFormat | None:
    """`response_format`: None for text."""
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return OutputFormat(kind="json_object")
    if response_format.json_schema is None:
        raise RequestError(
            "`response_format` of type `json_schema` needs a `json_schema` object.",
            "response_format.json_schema",
        )
    schema = response_format.json_schema.schema
    return OutputFormat(
        kind="json_schema",
        schema=schema if schema is not None else {},
        param="response_format.json_schema.schema",
    )


# The chat fields only the full translation reads: `plain_chat` checks each of them, so a new
# field must be added here and there (tests/core/test_planner.py holds the two together).
CHAT_OPTION_FIELDS = (
    "tools",
    "tool_choice",
    "stop",
    "n",
    "seed",
    "logprobs",
    "top_logprobs",
    "response_format",
    "stream_options",
)


def plain_chat(request: ChatCompletionRequest) -> bool:
    """A chat request that uses none of `CHAT_OPTION_FIELDS`.

    Nearly every benchmark request is one: it skips the translation of the rest (measurable
    on the s1 benchmark). Written out rather than looped over the names: it runs per request.
    """
    return (
        request.tools is None
        and request.tool_choice is None
        and request.stop is None
        and request.n is None
        and request.seed is None
        and request.logprobs is None
        and request.top_logprobs is None
        and request.response_format is None
        and request.stream_options is None
    )


def chat_command(request: ChatCompletionRequest) -> GenerationCommand:
    """A chat request in neutral terms (SPEC sections 3, 4 and 6)."""
    limit_param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    limit = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    model = request.model
    reasons = is_reasoning_model(model)
    reasoning_wanted = effort_tokens(request.reasoning_effort) if reasons else 0
    command = GenerationCommand(
        endpoint="chat",
        model=model,
        prompts=(chat_prompt(request.messages),),
        limit=limit,
        limit_param=limit_param,
        min_tokens=request.min_tokens or 0,
        ignore_eos=bool(request.ignore_eos),
        reasoning_wanted=reasoning_wanted,
        reasons=reasons,
        stream=bool(request.stream),
    )
    if plain_chat(request):
        return command
    if request.top_logprobs is not None and not request.logprobs:
        raise RequestError("`top_logprobs` needs `logprobs` set to true.", "top_logprobs")
    tools = chat_tools(request.tools)
    return msgspec.structs.replace(
        command,
        include_usage=include_usage(request.stream_options),
        continuous_usage=continuous_usage(request.stream_options),
        samples=request.n or 1,
        seed=request.seed,
        stop=stop_strings(request.stop),
        logprobs=(request.top_logprobs or 0) if request.logprobs else None,
        tools=tools,
        tool_choice=chat_tool_choice(request.tool_choice, tools),
        tool_result_last=request.messages[-1].role in _TOOL_RESULT_ROLES,
        output_format=chat_output_format(request.response_format),
    )


def completion_command(request: CompletionRequest) -> GenerationCommand:
    """A completions request in neutral terms; each prompt of a batch is planned on its own."""
    return GenerationCommand(
        endpoint="completions",
        model=request.model,
        prompts=batch_prompts(request.prompt, "prompt"),
        limit=request.max_tokens,
        min_tokens=request.min_tokens or 0,
        ignore_eos=bool(request.ignore_eos),
        stream=bool(request.stream),
        include_usage=include_usage(request.stream_options),
        continuous_usage=continuous_usage(request.stream_options),
        samples=request.n or 1,
        seed=request.seed,
        stop=stop_strings(request.stop),
        logprobs=request.logprobs,
    )
