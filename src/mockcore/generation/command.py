"""The protocol-neutral generation request: what the planner needs, whatever the wire."""

from typing import Any, Literal

import msgspec

from mockcore.plan import CachePoint, GenerationEndpoint
from mockcore.prompts import PromptView

ToolMode = Literal["none", "auto", "required", "named"]


class ToolSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A function the model may call: its name and the JSON schema of its arguments.

    `param` is where the schema sits in the request, for the error that names it.
    """

    name: str
    parameters: object
    param: str


class ToolChoice(msgspec.Struct, frozen=True, kw_only=True):
    """`auto` calls a tool unless the conversation just got a tool's result; `named` calls `name`."""

    mode: ToolMode
    name: str | None = None


AUTO_TOOL_CHOICE = ToolChoice(mode="auto")


class OutputFormat(msgspec.Struct, frozen=True, kw_only=True):
    """Structured output: any JSON object, or JSON valid against `schema`."""

    kind: Literal["json_object", "json_schema"]
    schema: object = None
    param: str = "response_format"


class GenerationCommand(msgspec.Struct, frozen=True, kw_only=True):
    """One generation request in protocol-neutral terms.

    `prompts` holds one view per prompt (a completions batch has several); `samples` choices
    are planned per prompt (`n`). `limit` is the request's output limit (None: none asked),
    `limit_param` the name the protocol gives it. `tool_result_last` says the conversation
    ends with a tool's result, so that `auto` answers in text instead of calling again.
    `include_usage` and `continuous_usage` are what the request asks for; they apply when the
    answer streams (a route may stream a body that does not say so). `keep_stop` keeps the
    stop string at the end of the output (TGI) instead of cutting before it. `echo` holds
    request fields a protocol repeats in its answer (Responses).
    """

    endpoint: GenerationEndpoint
    model: str
    prompts: tuple[PromptView, ...]
    limit: int | None
    limit_param: str = "max_tokens"
    min_tokens: int = 0
    ignore_eos: bool = False
    reasoning_wanted: int = 0
    reasons: bool = False
    stream: bool = False
    include_usage: bool = False
    continuous_usage: bool = False
    samples: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    keep_stop: bool = False
    logprobs: int | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = AUTO_TOOL_CHOICE
    tool_result_last: bool = False
    output_format: OutputFormat | None = None
    cache_points: tuple[CachePoint, ...] = ()
    echo: dict[str, Any] | None = None
