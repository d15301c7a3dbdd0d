"""Tool calls: whether the model calls one, which, and with what arguments.

The decision is a rule, not a coin: `auto` calls a tool unless the conversation has just
received a tool's result (then the model answers in text), `required` always calls, a named
choice calls that function, `none` never does. Which tool `auto` and `required` pick, the
call id and the arguments are drawn from the choice's digest, and the arguments always
validate against the tool's JSON schema.
"""

from mockcore.digest import derived_bytes, derived_u64
from mockcore.errors import RequestError
from mockcore.generation.command import AUTO_TOOL_CHOICE, GenerationCommand, ToolChoice, ToolMode, ToolSpec
from mockcore.structured import synthesize_json

_TOOL_SALT = b"tool-pick"
_CALL_ID_SALT = b"tool-call-id"
_ARGUMENTS_SALT = b"tool-arguments"


def tool_choice_of(mode: ToolMode | None, name: str | None, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    """A protocol's tool choice in neutral terms; asking for a call without tools is a 400."""
    if mode is None or mode == "auto":
        return AUTO_TOOL_CHOICE
    if mode == "none":
        return ToolChoice(mode="none")
    if not tools:
        raise RequestError("`tool_choice` asks for a tool call but the request has no tools.", "tool_choice")
    return ToolChoice(mode=mode, name=name if mode == "named" else None)


def chosen_tool(command: GenerationCommand, digest: bytes) -> ToolSpec | None:
    """The tool this choice calls, or None when it answers in text."""
    tools = command.tools
    choice = command.tool_choice
    if not tools or choice.mode == "none":
        return None
    if choice.mode == "named":
        for tool in tools:
            if tool.name == choice.name:
                return tool
        raise RequestError(f"tool_choice names `{choice.name}`, which is not in `tools`.", "tool_choice")
    if choice.mode == "auto" and command.tool_result_last:
        return None
    return tools[derived_u64(digest, _TOOL_SALT) % len(tools)]


def call_id(digest: bytes, prefix: str = "call_") -> str:
    """A stable id for the call (24 hex digits), so that `predict` knows it too."""
    return prefix + derived_bytes(digest, _CALL_ID_SALT, 12).hex()


def call_arguments(tool: ToolSpec, digest: bytes) -> str:
    """The arguments as compact JSON text valid against the tool's schema."""
    return synthesize_json(tool.parameters, digest + _ARGUMENTS_SALT, param=tool.param)
