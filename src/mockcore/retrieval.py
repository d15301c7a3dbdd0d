"""Plans for the embeddings and ranking routes.

Each answers after base + per-item x items milliseconds (`--embedding-base-latency`,
`--embedding-per-input-latency`, `--ranking-*`). A base left unset is the TTFT and a per-item
latency left unset is 0, so by default both answer after TTFT alone, as before these options
existed. `X-Mock-TTFT-Ms` replaces the whole latency.
"""

from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import EmbeddingPlan, Ranking, RankingPlan, Usage
from mockcore.prompts import batch_prompts
from mockcore.requests import EmbeddingRequest, RankingRequest
from mockcore.settings import Settings
from mockcore.tokenizer import count_tokens
from mockcore.vectors import EMBEDDING_DIMENSIONS, embedding_vector, ranking_logit, sigmoid


def retrieval_latency_s(
    base_ms: float | None,
    per_item_ms: float | None,
    items: int,
    settings: Settings,
    overrides: RequestOverrides,
) -> float:
    """When an embeddings or ranking answer is due, seconds after arrival."""
    if overrides.ttft_ms is not None:
        return overrides.ttft_ms / 1000.0
    base = settings.ttft if base_ms is None else base_ms
    return (base + (per_item_ms or 0.0) * items) / 1000.0


def plan_embeddings(
    request: EmbeddingRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> EmbeddingPlan:
    """One unit vector per input, a pure function of the input."""
    inputs = batch_prompts(request.input, "input")
    dimensions = request.dimensions or EMBEDDING_DIMENSIONS
    prompt_tokens = sum(view.token_count for view in inputs)
    return EmbeddingPlan(
        model=request.model,
        encoding_format=request.encoding_format,
        vectors=tuple(embedding_vector(view.digest, dimensions) for view in inputs),
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=0),
        response_offset_s=retrieval_latency_s(
            settings.embedding_base_latency,
            settings.embedding_per_input_latency,
            len(inputs),
            settings,
            overrides,
        ),
    )


def plan_ranking(
    request: RankingRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> RankingPlan:
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
        response_offset_s=retrieval_latency_s(
            settings.ranking_base_latency,
            settings.ranking_per_passage_latency,
            len(request.passages),
            settings,
            overrides,
        ),
    )
