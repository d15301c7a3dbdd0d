"""One entry point from raw request bytes to a plan, shared by the server and `predict`."""

from mockcore.decoding import decode_request
from mockcore.faults import InjectedFault, draw_fault
from mockcore.limits import check_limits
from mockcore.plan import ResponsePlan
from mockcore.planner import plan_chat, plan_completion
from mockcore.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    RankingRequest,
    Route,
)
from mockcore.retrieval import plan_embeddings, plan_ranking
from mockcore.settings import Settings


def plan_request(route: Route, body: bytes, settings: Settings) -> ResponsePlan:
    """Decode, validate and plan; raises `RequestError` for anything the server answers 400.

    Every check happens here, before a sequence number is drawn, so invalid requests never
    shift the fault sequence.
    """
    request = decode_request(route, body)
    check_limits(request, settings)
    if isinstance(request, ChatCompletionRequest):
        return plan_chat(request, settings)
    if isinstance(request, CompletionRequest):
        return plan_completion(request, settings)
    if isinstance(request, EmbeddingRequest):
        return plan_embeddings(request, settings)
    if isinstance(request, RankingRequest):
        return plan_ranking(request, settings)
    raise AssertionError(f"no planner for {type(request).__name__}")  # pragma: no cover


def faults_enabled(settings: Settings) -> bool:
    """Whether any request can fail; without faults the sequence number n is never needed."""
    return settings.error_rate > 0


def fault_for(settings: Settings, seed: int, sequence_number: int) -> InjectedFault | None:
    """Whether valid inference request number `sequence_number` fails (SPEC section 9)."""
    if not faults_enabled(settings):
        return None
    return draw_fault(seed, sequence_number, settings.error_rate)
