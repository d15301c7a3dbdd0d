"""One entry point from raw request bytes to a plan, shared by the server and `predict`.

The order is the server's: decode, check and plan (a 400 takes no sequence number), then,
once request number n is drawn, the fault (if any) and the latency terms that depend on n
and on the load (`admitted_schedule`).
"""

from functools import lru_cache

import msgspec

from mockcore.decoding import AnyRequest, decode_request
from mockcore.digest import digest_texts
from mockcore.faults import FaultContext, FaultKind, FaultMix, InjectedFault, draw_fault, fault_of_kind
from mockcore.faults import fault_position as _fault_position
from mockcore.faults import parse_fault_mix as _parse_fault_mix
from mockcore.generation import GenerationCommand
from mockcore.generation.planner import plan_generation, shape_input_tokens
from mockcore.limits import check_limits
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import EmbeddingPlan, GenerationPlan, RankingProtocol, ResponsePlan
from mockcore.planner import chat_command, completion_command
from mockcore.protocols.anthropic import MessagesRequest, messages_command
from mockcore.protocols.responses import ResponsesRequest, responses_command
from mockcore.protocols.tgi import GenerateRequest, generate_command
from mockcore.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    RankingRequest,
    Route,
)
from mockcore.retrieval import plan_embeddings, plan_ranking
from mockcore.settings import Settings
from mockcore.timing import LatencyShape, Schedule, shaped_schedule

FORCED_CAUSE = "X-Mock-Fault"
# Where each protocol carries its prompt, for the message of a `context_length` fault.
_PROMPT_PARAMS = {
    "chat": "messages",
    "completions": "prompt",
    "responses": "input",
    "messages": "messages",
    "generate": "inputs",
}


def plan_request(
    route: Route,
    body: bytes,
    settings: Settings,
    *,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
    stream: bool | None = None,
) -> ResponsePlan:
    """Decode, validate and plan; raises `RequestError` for anything the server answers 400.

    Every check happens here, before a sequence number is drawn, so invalid requests never
    shift the fault sequence. `shape` (see `mockcore.generation.planner.latency_shape`) adds
    the prompt- and output-length terms to TTFT and ITL; None keeps them constant. `stream`
    True or False overrides what a generation request's body says.
    """
    request = decode_request(route, body)
    check_limits(request, settings)
    if isinstance(request, EmbeddingRequest):
        return plan_embeddings(request, settings, overrides)
    if isinstance(request, RankingRequest):
        return plan_ranking(request, settings, overrides)
    command = generation_command(route, request, settings)
    if stream is not None and stream != command.stream:
        command = msgspec.structs.replace(command, stream=stream)
    return plan_generation(command, settings, shape, overrides)


def generation_command(route: Route, request: AnyRequest, settings: Settings) -> GenerationCommand:
    """The protocol-neutral command of a chat-like request, whichever protocol it came in."""
    if isinstance(request, ChatCompletionRequest):
        return chat_command(request)
    if isinstance(request, CompletionRequest):
        return completion_command(request)
    if isinstance(request, ResponsesRequest):
        return responses_command(request)
    if isinstance(request, MessagesRequest):
        return messages_command(request)
    if isinstance(request, GenerateRequest):
        return generate_command(
            request,
            stream=route == "generate_stream" or bool(request.stream),
            model=settings.default_model,
            max_output_tokens=settings.max_output_tokens,
        )
    raise AssertionError(f"no planner for {type(request).__name__}")  # pragma: no cover


def faults_enabled(settings: Settings) -> bool:
    """Whether any request can fail by draw; without faults n matters only for jitter and headers."""
    return settings.error_rate > 0


def needs_sequence_number(settings: Settings) -> bool:
    """Whether request number n decides anything for every request: a fault draw, or jitter.

    A request that forces a fault (`X-Mock-Fault`) draws one whatever this says.
    """
    return settings.error_rate > 0 or settings.ttft_jitter_cv > 0 or settings.itl_jitter_cv > 0


@lru_cache(maxsize=16)
def fault_mix(text: str) -> FaultMix:
    """The parsed `--fault-mix` (validated when the Settings were built)."""
    return _parse_fault_mix(text)


# The field that holds what a ranking protocol ranks: NIM's passages, TEI's texts, Cohere's documents.
_RANKED_PARAMS: dict[RankingProtocol, str] = {"nim": "passages", "tei": "texts", "cohere": "documents"}


def fault_context(plan: ResponsePlan | None) -> FaultContext:
    """What a fault's message says about the request: model, prompt and output tokens."""
    if plan is None:
        return FaultContext()
    if isinstance(plan, GenerationPlan):
        param = _PROMPT_PARAMS[plan.endpoint]
        return FaultContext(
            model=plan.model,
            prompt_tokens=plan.usage.prompt_tokens,
            output_tokens=plan.max_tokens,
            prompt_param=param,
        )
    param = "input" if isinstance(plan, EmbeddingPlan) else _RANKED_PARAMS[plan.protocol]
    return FaultContext(model=plan.model, prompt_tokens=plan.usage.prompt_tokens, prompt_param=param)


def fault_for(
    settings: Settings,
    seed: int,
    sequence_number: int,
    plan: ResponsePlan | None = None,
    *,
    forced: FaultKind | None = None,
) -> InjectedFault | None:
    """Whether valid inference request `sequence_number` fails, and how (SPEC section 9).

    `forced` (the request's `X-Mock-Fault`) wins over the draw.
    """
    if forced is not None:
        return fault_of_kind(
            forced,
            sequence_number,
            cause=FORCED_CAUSE,
            position=_fault_position(seed, sequence_number),
            delay_s=settings.fault_delay_seconds,
            context=fault_context(plan),
        )
    if not faults_enabled(settings):
        return None
    return draw_fault(
        seed,
        sequence_number,
        settings.error_rate,
        fault_mix(settings.fault_mix),
        delay_s=settings.fault_delay_seconds,
        context=fault_context(plan),
    )


def admitted_schedule(
    plan: GenerationPlan, shape: LatencyShape, *, in_flight: int, seed: int, sequence_number: int
) -> Schedule:
    """The schedule with every term of the shape: load (`in_flight`, itself included) and jitter.

    The jitter is drawn from (seed, n, the prompt's digest), so a seeded run gives each
    request number the same latencies whatever the worker count.
    """
    jitter_digest = digest_texts(
        (str(seed), str(sequence_number), plan.prompt_digest.hex()), person=b"jitter"
    )
    return shaped_schedule(
        shape,
        input_tokens=shape_input_tokens(plan.choices),
        output_tokens=plan.event_count,
        in_flight=in_flight,
        jitter_digest=jitter_digest,
    )
