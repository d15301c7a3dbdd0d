"""Protocol-neutral generation: what every chat-like route asks for, and how a choice is planned.

Each wire protocol (OpenAI chat and completions, Responses, Anthropic Messages, TGI) turns
its request into one `GenerationCommand`; `plan_generation` turns that into the
`GenerationPlan` every renderer draws from. Tool calls, structured output, stop strings,
samples (`n`, `seed`) and log-probabilities are decided here, once, for all of them.
"""

from mockcore.generation.command import (
    AUTO_TOOL_CHOICE,
    GenerationCommand,
    OutputFormat,
    ToolChoice,
    ToolSpec,
)
from mockcore.generation.logprobs import TokenLogprob, token_id, token_logprob
from mockcore.generation.planner import plan_generation

__all__ = [
    "AUTO_TOOL_CHOICE",
    "GenerationCommand",
    "OutputFormat",
    "TokenLogprob",
    "ToolChoice",
    "ToolSpec",
    "plan_generation",
    "token_id",
    "token_logprob",
]
