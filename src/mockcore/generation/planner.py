"""A `GenerationCommand` to a `GenerationPlan`: the single place where generated output is decided.

Per prompt, `samples` choices; per choice: its digest (the prompt's, or with the sample
index and seed folded in), its length budget (SPEC section 4), then what fills it: a tool
call, structured JSON, or the prompt's pieces cycled from a drawn offset; finally the stop
strings cut the content.
"""

import msgspec

from mockcore.budget import natural_length, plan_budget
from mockcore.digest import derived_u64, digest_texts
from mockcore.engine.config import BLOCK_SIZE_TOKENS
from mockcore.engine.prefix import text_block_hashes
from mockcore.errors import RequestError
from mockcore.generation.command import GenerationCommand, OutputFormat
from mockcore.generation.stop import cut_at_stop
from mockcore.generation.tools import call_arguments, call_id, chosen_tool
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import NO_PIECES, ChoicePlan, GenerationPlan, PieceCycle, ToolCallPlan, Usage
from mockcore.prompts import PromptView
from mockcore.settings import Settings
from mockcore.structured import synthesize_json
from mockcore.timing import LatencyShape, Schedule, shaped_schedule
from mockcore.tokenizer import TextPieces, split_tokens
from mockcore.vocabulary import FALLBACK_PIECES

_CONTENT_OFFSET_SALT = b"content-offset"
_REASONING_OFFSET_SALT = b"reasoning-offset"
_STRUCTURED_SALT = b"structured"
_PAD_PIECE = " "
# Each protocol's spelling of a tool call's id.
_CALL_ID_PREFIX = {"messages": "toolu_"}


def cycle_pieces(digest: bytes, pieces: TextPieces, salt: bytes, count: int) -> PieceCycle:
    """`count` pieces cycling through `pieces` from an offset drawn from `digest`.

    A prompt without text (empty, or token ids) cycles through the built-in passage. Fewer
    pieces than the prompt has are read out as they come (the cycle holds just those): an
    answer of 16 tokens makes 16 of a long prompt's pieces, not all of them.
    """
    if count == 0:
        return NO_PIECES
    if not pieces:
        return PieceCycle(
            source=FALLBACK_PIECES, offset=derived_u64(digest, salt) % len(FALLBACK_PIECES), count=count
        )
    offset = derived_u64(digest, salt) % len(pieces)
    if count < len(pieces):
        return PieceCycle(source=pieces.window(offset, count), offset=0, count=count)
    return PieceCycle(source=pieces.all(), offset=offset, count=count)


def _prompt_blocks(pieces: TextPieces, settings: Settings) -> tuple[int, ...]:
    """The prefix-block hashes of the (first) prompt, when an engine with prefix caching reads them."""
    if settings.engine is None or not settings.enable_prefix_caching or not pieces:
        return ()
    return text_block_hashes(pieces.all(), BLOCK_SIZE_TOKENS)


def fixed_pieces(pieces: tuple[str, ...], count: int) -> PieceCycle:
    """The first `count` of `pieces`, padded with spaces past their end (JSON allows trailing blanks)."""
    if count > len(pieces):
        pieces = pieces + (_PAD_PIECE,) * (count - len(pieces))
    return PieceCycle(source=pieces, offset=0, count=count) if count else NO_PIECES


def sample_digest(prompt_digest: bytes, sample: int, seed: int | None) -> bytes:
    """The choice's draw: the prompt's own for the first sample without a seed, else folded."""
    if sample == 0 and seed is None:
        return prompt_digest
    return digest_texts((prompt_digest.hex(), str(sample), str(seed)), person=b"sample")


_VALIDATION_DIGEST = b"schema-check"


def check_schemas(command: GenerationCommand) -> None:
    """Every tool's schema and the output schema must be satisfiable, used by this answer or not.

    Otherwise whether a request is refused would depend on which tool its prompt happens to
    pick; a schema the synthesis can satisfy once it can satisfy for any draw.
    """
    for tool in command.tools:
        synthesize_json(tool.parameters, _VALIDATION_DIGEST, param=tool.param)
    output = command.output_format
    if output is not None and output.kind == "json_schema":
        synthesize_json(output.schema, _VALIDATION_DIGEST, param=output.param)


def check_min_tokens(command: GenerationCommand) -> None:
    """`min_tokens` above the limit is a 400, as vLLM answers it."""
    if command.limit is not None and command.min_tokens > command.limit:
        raise RequestError(
            f"min_tokens ({command.min_tokens}) must be less than or equal to "
            f"{command.limit_param} ({command.limit}).",
            "min_tokens",
        )


def _structured_text(output: OutputFormat, digest: bytes, text_pieces: PieceCycle) -> str:
    """The JSON of a structured answer: the schema's, or an object holding the natural text."""
    if output.kind == "json_schema":
        return synthesize_json(output.schema, digest + _STRUCTURED_SALT, param=output.param)
    return synthesize_json(
        {"type": "object", "properties": {"answer": {"const": text_pieces.text}}, "required": ["answer"]},
        digest,
        param=output.param,
    )


def _tool_choice_plan(
    command: GenerationCommand, index: int, prompt: PromptView, digest: bytes, reasoning: PieceCycle
) -> ChoicePlan | None:
    """The choice as a tool call, or None when this choice answers in text."""
    tool = chosen_tool(command, digest)
    if tool is None:
        return None
    pieces = split_tokens(call_arguments(tool, digest))
    room = len(pieces) if command.limit is None else command.limit - len(reasoning)
    count = min(len(pieces), room)
    call = ToolCallPlan(
        id=call_id(digest, _CALL_ID_PREFIX.get(command.endpoint, "call_")),
        name=tool.name,
        arguments=PieceCycle(source=pieces, offset=0, count=count),
    )
    return ChoicePlan(
        index=index,
        prompt_tokens=prompt.token_count,
        reasoning=reasoning,
        content=NO_PIECES,
        finish_reason="tool_calls" if count == len(pieces) else "length",
        tool_calls=(call,) if count else (),
        digest=digest,
    )


def plan_choice(
    command: GenerationCommand, index: int, prompt: PromptView, pieces: TextPieces, sample: int
) -> ChoicePlan:
    """One choice of `prompt` (sample `sample` of it)."""
    digest = sample_digest(prompt.digest, sample, command.seed)
    natural = natural_length(prompt.token_count, digest)
    reasoning_tokens = command.reasoning_wanted
    if command.limit is not None:
        reasoning_tokens = min(reasoning_tokens, command.limit)
    reasoning = cycle_pieces(digest, pieces, _REASONING_OFFSET_SALT, reasoning_tokens)
    if command.tools:
        tool_plan = _tool_choice_plan(command, index, prompt, digest, reasoning)
        if tool_plan is not None:
            return tool_plan
    structured: tuple[str, ...] | None = None
    if command.output_format is not None:
        natural_text = cycle_pieces(digest, pieces, _CONTENT_OFFSET_SALT, natural)
        structured = split_tokens(_structured_text(command.output_format, digest, natural_text))
        natural = len(structured)
    budget = plan_budget(
        natural_tokens=natural,
        reasoning_wanted=command.reasoning_wanted,
        limit=command.limit,
        min_tokens=command.min_tokens,
        ignore_eos=command.ignore_eos,
    )
    if structured is None:
        content = cycle_pieces(digest, pieces, _CONTENT_OFFSET_SALT, budget.content_tokens)
    else:
        content = fixed_pieces(structured, budget.content_tokens)
    choice = ChoicePlan(
        index=index,
        prompt_tokens=prompt.token_count,
        reasoning=reasoning,
        content=content,
        finish_reason=budget.finish_reason,
        digest=digest,
    )
    if not command.stop:
        return choice
    cut = cut_at_stop(content, command.stop, keep=command.keep_stop)
    if cut is None:
        return choice
    return ChoicePlan(
        index=index,
        prompt_tokens=prompt.token_count,
        reasoning=reasoning,
        content=cut.content,
        finish_reason="stop",
        stop_sequence=cut.sequence,
        digest=digest,
    )


def latency_shape(settings: Settings) -> LatencyShape:
    """The latency options of `settings` as one value."""
    return LatencyShape(
        ttft_ms=settings.ttft,
        itl_ms=settings.itl,
        ttft_per_isl_token_ms=settings.ttft_per_isl_token_ms,
        ttft_concurrency_quad_ms=settings.ttft_concurrency_quad_ms,
        itl_per_osl_token_ms=settings.itl_per_osl_token_ms,
        itl_concurrency_lin_ms=settings.itl_concurrency_lin_ms,
        ttft_jitter_cv=settings.ttft_jitter_cv,
        itl_jitter_cv=settings.itl_jitter_cv,
    )


def shape_input_tokens(choices: tuple[ChoicePlan, ...]) -> int:
    """The ISL of the latency shape: the longest prompt of a batch (they prefill side by side)."""
    return max(choice.prompt_tokens for choice in choices)


def _schedule(
    choices: tuple[ChoicePlan, ...],
    shape: LatencyShape | None,
    overrides: RequestOverrides,
    settings: Settings,
) -> Schedule:
    """The schedule before admission: the prompt and output terms of the shape, or the headers' values.

    The load and jitter terms need the request's admission (`mockcore.service.admitted_schedule`).
    """
    if overrides is not NO_OVERRIDES and overrides.timing_forced:
        return Schedule(
            ttft_ms=settings.ttft if overrides.ttft_ms is None else overrides.ttft_ms,
            itl_ms=settings.itl if overrides.itl_ms is None else overrides.itl_ms,
        )
    if shape is None:
        return Schedule(ttft_ms=settings.ttft, itl_ms=settings.itl)
    return shaped_schedule(
        shape,
        input_tokens=shape_input_tokens(choices),
        output_tokens=max(choice.token_count for choice in choices),
    )


def _apply_overrides(command: GenerationCommand, overrides: RequestOverrides) -> GenerationCommand:
    """`X-Mock-Output-Tokens: n` makes the limit n, min_tokens n and ignores the end of text."""
    if overrides.output_tokens is None:
        return command
    tokens = overrides.output_tokens
    return msgspec.structs.replace(command, limit=tokens, min_tokens=tokens, ignore_eos=True)


def plan_generation(
    command: GenerationCommand,
    settings: Settings,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
) -> GenerationPlan:
    """Plan every choice of `command` and the schedule they share.

    `shape` None keeps the constant TTFT and ITL of `settings` (the fast path of a server
    whose latency shape is all zeros).
    """
    if overrides is not NO_OVERRIDES:
        command = _apply_overrides(command, overrides)
    check_min_tokens(command)
    if command.tools or command.output_format is not None:
        check_schemas(command)
    prompts = command.prompts
    prompt_blocks: tuple[int, ...] = ()
    if len(prompts) == 1 and command.samples == 1:  # nearly every request: no loops
        prompt = prompts[0]
        pieces = prompt.pieces()
        # Before the choice: what the engine's prefix hashes cut, the choice's window slices.
        prompt_blocks = _prompt_blocks(pieces, settings)
        planned: tuple[ChoicePlan, ...] = (plan_choice(command, 0, prompt, pieces, 0),)
        prompt_tokens = prompt.token_count
    else:
        choices: list[ChoicePlan] = []
        for index, prompt in enumerate(prompts):
            pieces = prompt.pieces()
            if index == 0:
                prompt_blocks = _prompt_blocks(pieces, settings)
            for sample in range(command.samples):
                choices.append(plan_choice(command, len(choices), prompt, pieces, sample))
        planned = tuple(choices)
        prompt_tokens = sum(prompt.token_count for prompt in prompts)
    completion_tokens = 0
    reasoning_tokens = 0
    for choice in planned:
        completion_tokens += choice.token_count
        reasoning_tokens += len(choice.reasoning)
    usage = Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        reasoning_tokens=reasoning_tokens if command.reasons else None,
    )
    plan = GenerationPlan(
        endpoint=command.endpoint,
        model=command.model,
        stream=command.stream,
        include_usage=command.stream and command.include_usage,
        reasons=command.reasons,
        choices=planned,
        usage=usage,
        schedule=_schedule(planned, shape, overrides, settings),
        max_tokens=command.limit if command.limit is not None else settings.max_output_tokens,
        prompt_digest=prompts[0].digest if prompts else b"",
        prompt_blocks=prompt_blocks,
    )
    if (
        command.logprobs is None
        and not command.continuous_usage
        and not command.cache_points
        and not command.echo
    ):
        return plan
    return msgspec.structs.replace(
        plan,
        echo=command.echo,
        logprobs=command.logprobs,
        continuous_usage=command.stream and command.continuous_usage,
        cache_points=command.cache_points,
    )
