"""Requests to response plans: the single place where output is decided."""

from mockcore.budget import TokenBudget, natural_length, plan_budget
from mockcore.digest import derived_u64
from mockcore.errors import RequestError
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import NO_PIECES, ChoicePlan, GenerationEndpoint, GenerationPlan, PieceCycle, Usage
from mockcore.prompts import PromptView, batch_prompts, chat_prompt
from mockcore.reasoning import is_reasoning_model, reasoning_budget
from mockcore.requests import ChatCompletionRequest, CompletionRequest, StreamOptions
from mockcore.settings import Settings
from mockcore.timing import LatencyShape, Schedule, shaped_schedule
from mockcore.vocabulary import FALLBACK_PIECES

_CONTENT_OFFSET_SALT = b"content-offset"
_REASONING_OFFSET_SALT = b"reasoning-offset"


def cycle_pieces(prompt: PromptView, pieces: tuple[str, ...], salt: bytes, count: int) -> PieceCycle:
    """`count` pieces cycling through the prompt's `pieces` from an offset drawn from h.

    A prompt without text (empty, or token ids) cycles through the built-in passage.
    """
    if count == 0:
        return NO_PIECES
    source = pieces or FALLBACK_PIECES
    offset = derived_u64(prompt.digest, salt) % len(source)
    return PieceCycle(source=source, offset=offset, count=count)


def _check_min_tokens(min_tokens: int, limit: int | None, limit_param: str) -> None:
    if limit is not None and min_tokens > limit:
        raise RequestError(
            f"min_tokens ({min_tokens}) must be less than or equal to {limit_param} ({limit}).",
            "min_tokens",
        )


def _plan_choice(index: int, prompt: PromptView, budget: TokenBudget) -> ChoicePlan:
    pieces = prompt.pieces()
    return ChoicePlan(
        index=index,
        prompt_tokens=prompt.token_count,
        reasoning=cycle_pieces(prompt, pieces, _REASONING_OFFSET_SALT, budget.reasoning_tokens),
        content=cycle_pieces(prompt, pieces, _CONTENT_OFFSET_SALT, budget.content_tokens),
        finish_reason=budget.finish_reason,
    )


def _length_rules(
    limit: int | None, min_tokens: int | None, ignore_eos: bool | None, overrides: RequestOverrides
) -> tuple[int | None, int, bool]:
    """(limit, min_tokens, ignore_eos) of a request; `X-Mock-Output-Tokens: n` makes them (n, n, True)."""
    if overrides.output_tokens is not None:
        return overrides.output_tokens, overrides.output_tokens, True
    return limit, min_tokens or 0, bool(ignore_eos)


def _include_usage(stream: bool, options: StreamOptions | None) -> bool:
    return stream and options is not None and bool(options.include_usage)


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


def shape_input_tokens(choices: tuple[ChoicePlan, ...]) -> int:
    """The ISL of the latency shape: the longest prompt of a batch (they prefill side by side)."""
    return max(choice.prompt_tokens for choice in choices)


def _generation_plan(
    *,
    endpoint: GenerationEndpoint,
    model: str,
    stream: bool,
    include_usage: bool,
    reasons: bool,
    choices: tuple[ChoicePlan, ...],
    limit: int | None,
    settings: Settings,
    shape: LatencyShape | None,
    overrides: RequestOverrides,
    prompt_digest: bytes,
) -> GenerationPlan:
    generated = sum(choice.token_count for choice in choices)
    usage = Usage(
        prompt_tokens=sum(choice.prompt_tokens for choice in choices),
        completion_tokens=generated,
        reasoning_tokens=sum(len(choice.reasoning) for choice in choices) if reasons else None,
    )
    return GenerationPlan(
        endpoint=endpoint,
        model=model,
        stream=stream,
        include_usage=include_usage,
        reasons=reasons,
        choices=choices,
        usage=usage,
        schedule=_schedule(choices, shape, overrides, settings),
        max_tokens=limit if limit is not None else settings.max_output_tokens,
        prompt_digest=prompt_digest,
    )


def plan_chat(
    request: ChatCompletionRequest,
    settings: Settings,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
) -> GenerationPlan:
    """Plan a chat completion (SPEC sections 3, 4 and 6).

    `shape` None keeps the constant TTFT and ITL of `settings` (the fast path of a server
    whose latency shape is all zeros).
    """
    limit_param = "max_completion_tokens" if request.max_completion_tokens is not None else "max_tokens"
    requested = (
        request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    )
    limit, min_tokens, ignore_eos = _length_rules(
        requested, request.min_tokens, request.ignore_eos, overrides
    )
    _check_min_tokens(min_tokens, limit, limit_param)
    prompt = chat_prompt(request.messages)
    budget = plan_budget(
        natural_tokens=natural_length(prompt.token_count, prompt.digest),
        reasoning_wanted=reasoning_budget(request.model, request.reasoning_effort),
        limit=limit,
        min_tokens=min_tokens,
        ignore_eos=ignore_eos,
    )
    stream = bool(request.stream)
    return _generation_plan(
        endpoint="chat",
        model=request.model,
        stream=stream,
        include_usage=_include_usage(stream, request.stream_options),
        reasons=is_reasoning_model(request.model),
        choices=(_plan_choice(0, prompt, budget),),
        limit=limit,
        settings=settings,
        shape=shape,
        overrides=overrides,
        prompt_digest=prompt.digest,
    )


def plan_completion(
    request: CompletionRequest,
    settings: Settings,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
) -> GenerationPlan:
    """Plan a text completion; each prompt of a batch is planned on its own."""
    limit, min_tokens, ignore_eos = _length_rules(
        request.max_tokens, request.min_tokens, request.ignore_eos, overrides
    )
    _check_min_tokens(min_tokens, limit, "max_tokens")
    prompts = batch_prompts(request.prompt, "prompt")
    choices = tuple(
        _plan_choice(
            index,
            prompt,
            plan_budget(
                natural_tokens=natural_length(prompt.token_count, prompt.digest),
                reasoning_wanted=0,
                limit=limit,
                min_tokens=min_tokens,
                ignore_eos=ignore_eos,
            ),
        )
        for index, prompt in enumerate(prompts)
    )
    stream = bool(request.stream)
    return _generation_plan(
        endpoint="completions",
        model=request.model,
        stream=stream,
        include_usage=_include_usage(stream, request.stream_options),
        reasons=False,
        choices=choices,
        limit=limit,
        settings=settings,
        shape=shape,
        overrides=overrides,
        prompt_digest=prompts[0].digest if prompts else b"",
    )
