"""Hugging Face TGI (`POST /generate`, `POST /generate_stream`): request types and their command.

TGI's own default applies: without `max_new_tokens` a request generates at most 100 tokens.
`details` asks for the per-token list (with `top_n_tokens` alternatives each).
"""

from typing import Annotated

import msgspec

from mockcore.generation import GenerationCommand
from mockcore.plan import ChoicePlan
from mockcore.prompts import text_prompt
from mockcore.requests import MAX_STOP_STRINGS, PositiveInt, StopString

DEFAULT_MAX_NEW_TOKENS = 100


class GenerateParameters(msgspec.Struct, kw_only=True):
    """`parameters` of a TGI request (sampling fields this server does not use are ignored)."""

    max_new_tokens: PositiveInt | None = None
    details: bool | None = None
    stop: Annotated[list[StopString], msgspec.Meta(max_length=MAX_STOP_STRINGS)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0)] | None = None
    top_n_tokens: Annotated[int, msgspec.Meta(ge=0, le=5)] | None = None
    decoder_input_details: bool | None = None
    return_full_text: bool | None = None


class GenerateRequest(msgspec.Struct, kw_only=True):
    """`POST /generate` and `POST /generate_stream`."""

    inputs: Annotated[str, msgspec.Meta(min_length=1)]
    parameters: GenerateParameters | None = None
    stream: bool | None = None


def generate_command(
    request: GenerateRequest, *, stream: bool, model: str, max_output_tokens: int
) -> GenerationCommand:
    """A TGI request in neutral terms; `stream` says whether it streams (the route, or the body on `/`).

    A stop string stays at the end of the text, as TGI keeps the token that completed it.
    `model` names the served model (TGI requests name none); the default limit is TGI's,
    or `max_output_tokens` when the server's own cap is lower.
    """
    parameters = request.parameters or GenerateParameters()
    limit = parameters.max_new_tokens
    if limit is None:
        limit = min(DEFAULT_MAX_NEW_TOKENS, max_output_tokens)
    return GenerationCommand(
        endpoint="generate",
        model=model,
        prompts=(text_prompt(request.inputs),),
        limit=limit,
        limit_param="parameters.max_new_tokens",
        stream=stream,
        seed=parameters.seed,
        stop=tuple(parameters.stop or ()),
        keep_stop=True,
        logprobs=(parameters.top_n_tokens or 0) if parameters.details else None,
    )


def finish_reason(choice: ChoicePlan) -> str:
    """TGI's name for why a choice ended: a stop string, the limit, or the end of text."""
    if choice.stop_sequence is not None:
        return "stop_sequence"
    return "length" if choice.finish_reason == "length" else "eos_token"
