"""Plans for the embeddings and ranking routes; both answer after TTFT alone."""

from mockcore.plan import EmbeddingPlan, Ranking, RankingPlan, Usage
from mockcore.prompts import batch_prompts
from mockcore.requests import EmbeddingRequest, RankingRequest
from mockcore.settings import Settings
from mockcore.timing import Schedule
from mockcore.tokenizer import count_tokens
from mockcore.vectors import EMBEDDING_DIMENSIONS, embedding_vector, ranking_logit, sigmoid


def _first_token_offset_s(settings: Settings) -> float:
    return Schedule(ttft_ms=settings.ttft, itl_ms=settings.itl).first_token_offset_s


def plan_embeddings(request: EmbeddingRequest, settings: Settings) -> EmbeddingPlan:
    """One unit vector per input, a pure function of the input."""
    inputs = batch_prompts(request.input, "input")
    dimensions = request.dimensions or EMBEDDING_DIMENSIONS
    prompt_tokens = sum(view.token_count for view in inputs)
    return EmbeddingPlan(
        model=request.model,
        encoding_format=request.encoding_format,
        vectors=tuple(embedding_vector(view.digest, dimensions) for view in inputs),
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=0),
        response_offset_s=_first_token_offset_s(settings),
    )


def plan_ranking(request: RankingRequest, settings: Settings) -> RankingPlan:
    """Score every passage against the query and sort, best first (stable for ties)."""
    query = request.query.text
    scored = []
    for index, passage in enumerate(request.passages):
        logit = ranking_logit(query, passage.text)
        scored.append(Ranking(index=index, logit=logit, relevance_score=sigmoid(logit)))
    scored.sort(key=lambda ranking: -ranking.relevance_score)
    prompt_tokens = count_tokens(query) + sum(count_tokens(passage.text) for passage in request.passages)
    return RankingPlan(
        model=request.model,
        rankings=tuple(scored),
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=0),
        response_offset_s=_first_token_offset_s(settings),
    )
