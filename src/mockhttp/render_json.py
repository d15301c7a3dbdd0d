"""Plans to complete JSON response bodies (non-streaming responses)."""

import base64
from typing import Any

import msgspec

from mockcore.errors import ErrorInfo, located_message
from mockcore.generation import TokenLogprob, token_logprob
from mockcore.plan import ChoicePlan, EmbeddingPlan, GenerationPlan, RankingPlan, Usage
from mockcore.rerank import BATCH_TOO_LARGE, EMPTY_BATCH
from mockcore.vectors import float32_le_bytes
from mockhttp.responses import (
    AssistantMessage,
    ChatChoice,
    ChatCompletionBody,
    ChatLogprobs,
    CohereApiVersion,
    CohereBilledUnits,
    CohereErrorBody,
    CohereMeta,
    CohereRerankBody,
    CohereResult,
    CompletionTokensDetails,
    EmbeddingItem,
    EmbeddingListBody,
    ErrorBody,
    FunctionCallBody,
    PromptTokensDetails,
    RankingBody,
    RankingItem,
    TeiErrorBody,
    TeiRank,
    TextChoice,
    TextCompletionBody,
    TextLogprobs,
    TokenLogprobBody,
    ToolCallBody,
    TopLogprobBody,
    UsageBody,
)

_ENCODER = msgspec.json.Encoder()


def encode_json(body: msgspec.Struct) -> bytes:
    """Encode with the one shared encoder."""
    return _ENCODER.encode(body)


def usage_body(usage: Usage, *, with_completion: bool = True) -> UsageBody:
    """`usage`; `completion_tokens_details` only for models that reason."""
    details = (
        CompletionTokensDetails(reasoning_tokens=usage.reasoning_tokens)
        if usage.reasoning_tokens is not None
        else msgspec.UNSET
    )
    return UsageBody(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens if with_completion else msgspec.UNSET,
        total_tokens=usage.total_tokens,
        completion_tokens_details=details,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=usage.cache_read_tokens)
        if usage.engine_cached
        else msgspec.UNSET,
    )


def chat_token_logprob(value: TokenLogprob) -> TokenLogprobBody:
    """One content token of chat `logprobs`, with the UTF-8 bytes OpenAI lists beside each token."""
    return TokenLogprobBody(
        token=value.token,
        logprob=value.logprob,
        bytes=list(value.token.encode()),
        top_logprobs=[
            TopLogprobBody(token=token, logprob=logprob, bytes=list(token.encode()))
            for token, logprob in value.top
        ],
    )


def _chat_logprobs(plan: GenerationPlan, choice: ChoicePlan) -> ChatLogprobs | None:
    if plan.logprobs is None:
        return None
    top = plan.logprobs
    return ChatLogprobs(
        content=[
            chat_token_logprob(token_logprob(choice.digest, index, piece, top))
            for index, piece in enumerate(choice.content)
        ]
    )


def _text_logprobs(plan: GenerationPlan, choice: ChoicePlan) -> TextLogprobs | None:
    if plan.logprobs is None:
        return None
    top = plan.logprobs
    values = [token_logprob(choice.digest, index, piece, top) for index, piece in enumerate(choice.content)]
    offsets: list[int] = []
    offset = 0
    for value in values:
        offsets.append(offset)
        offset += len(value.token)
    return TextLogprobs(
        tokens=[value.token for value in values],
        token_logprobs=[value.logprob for value in values],
        top_logprobs=[dict(value.top) for value in values] if top else None,
        text_offset=offsets,
    )


def _assistant_message(plan: GenerationPlan, choice: ChoicePlan) -> AssistantMessage:
    if not choice.tool_calls and not plan.reasons:  # nearly every answer
        return AssistantMessage(content=choice.content_text)
    reasoning = choice.reasoning_text if plan.reasons else msgspec.UNSET
    calls = [
        ToolCallBody(id=call.id, function=FunctionCallBody(name=call.name, arguments=call.arguments_text))
        for call in choice.tool_calls
    ]
    return AssistantMessage(
        content=None if calls and not choice.content else choice.content_text,
        reasoning=reasoning,
        reasoning_content=reasoning,
        tool_calls=calls or msgspec.UNSET,
    )


def _chat_choice(plan: GenerationPlan, choice: ChoicePlan) -> ChatChoice:
    message = _assistant_message(plan, choice)
    if plan.logprobs is None and choice.stop_sequence is None:
        return ChatChoice(index=choice.index, message=message, finish_reason=choice.finish_reason)
    return ChatChoice(
        index=choice.index,
        message=message,
        logprobs=_chat_logprobs(plan, choice),
        finish_reason=choice.finish_reason,
        stop_reason=choice.stop_sequence if choice.stop_sequence is not None else msgspec.UNSET,
    )


def generation_body(plan: GenerationPlan, response_id: str, created: int) -> bytes:
    """A `chat.completion` or `text_completion` body."""
    usage = usage_body(plan.usage)
    if plan.endpoint == "chat":
        chat_choices = [_chat_choice(plan, choice) for choice in plan.choices]
        return encode_json(
            ChatCompletionBody(
                id=response_id, created=created, model=plan.model, choices=chat_choices, usage=usage
            )
        )
    text_choices = [
        TextChoice(
            index=choice.index,
            text=choice.content_text,
            logprobs=_text_logprobs(plan, choice),
            finish_reason=choice.finish_reason,
            stop_reason=choice.stop_sequence if choice.stop_sequence is not None else msgspec.UNSET,
        )
        for choice in plan.choices
    ]
    return encode_json(
        TextCompletionBody(
            id=response_id, created=created, model=plan.model, choices=text_choices, usage=usage
        )
    )


def embedding_body(plan: EmbeddingPlan) -> bytes:
    """The embeddings list, as floats or base64 float32 as the request asked."""
    if plan.encoding_format == "base64":
        items = [
            EmbeddingItem(index=index, embedding=base64.b64encode(float32_le_bytes(vector)).decode("ascii"))
            for index, vector in enumerate(plan.vectors)
        ]
    else:
        items = [EmbeddingItem(index=index, embedding=vector) for index, vector in enumerate(plan.vectors)]
    return encode_json(
        EmbeddingListBody(data=items, model=plan.model, usage=usage_body(plan.usage, with_completion=False))
    )


def ranking_body(plan: RankingPlan, response_id: str = "") -> bytes:
    """The rankings, best first, in the plan's protocol (`response_id` is Cohere's `id`)."""
    if plan.protocol == "tei":
        return _tei_rerank_body(plan)
    if plan.protocol == "cohere":
        return _cohere_rerank_body(plan, response_id)
    rankings = [
        RankingItem(index=ranking.index, logit=ranking.logit, relevance_score=ranking.relevance_score)
        for ranking in plan.rankings
    ]
    return encode_json(RankingBody(rankings=rankings, usage=usage_body(plan.usage, with_completion=False)))


def _tei_rerank_body(plan: RankingPlan) -> bytes:
    """TEI's bare list; the score is the sigmoid of the logit, or the logit with `raw_scores`."""
    echoed = plan.echoed
    ranks = [
        TeiRank(
            index=ranking.index,
            score=ranking.logit if plan.raw_scores else ranking.relevance_score,
            text=str(echoed[position]) if echoed is not None else msgspec.UNSET,
        )
        for position, ranking in enumerate(plan.rankings)
    ]
    return encode_json_value(ranks)


def _cohere_rerank_body(plan: RankingPlan, response_id: str) -> bytes:
    echoed = plan.echoed
    results = [
        CohereResult(
            index=ranking.index,
            relevance_score=ranking.relevance_score,
            document=_echoed_document(echoed[position]) if echoed is not None else msgspec.UNSET,
        )
        for position, ranking in enumerate(plan.rankings)
    ]
    meta = CohereMeta(
        api_version=CohereApiVersion(), billed_units=CohereBilledUnits(search_units=plan.search_units)
    )
    return encode_json(CohereRerankBody(id=response_id, results=results, meta=meta))


def _echoed_document(value: str | dict[str, Any]) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"text": value}


def encode_json_value(value: object) -> bytes:
    """Encode any value (a bare list) with the one shared encoder."""
    return _ENCODER.encode(value)


# TEI's `error_type` for each status it answers with (its client errors: 400 `empty`, 413 and
# 422 `validation`; 424 `backend`, 429 `overloaded`, 503 `unhealthy`).
_TEI_ERROR_TYPES = {413: "validation", 422: "validation", 429: "overloaded", 503: "unhealthy"}


def tei_error(status: int, info: ErrorInfo) -> tuple[int, bytes]:
    """TEI's `{"error", "error_type"}`: an empty batch 400, a batch too large 413, other bad input 422."""
    if status == 400:  # noqa: PLR2004
        if info.code == EMPTY_BATCH:
            return 400, encode_json(TeiErrorBody(error=located_message(info), error_type="empty"))
        status = 413 if info.code == BATCH_TOO_LARGE else 422
    error_type = _TEI_ERROR_TYPES.get(status, "backend" if status >= 500 else "validation")  # noqa: PLR2004
    return status, encode_json(TeiErrorBody(error=located_message(info), error_type=error_type))


def cohere_error(status: int, info: ErrorInfo) -> tuple[int, bytes]:
    """Cohere's `{"message": ...}`; a bad request reads `invalid request: ...`, as Cohere's do."""
    message = located_message(info)
    if status == 400:  # noqa: PLR2004
        message = f"invalid request: {message}"
    return status, encode_json(CohereErrorBody(message=message))


def error_body(info: ErrorInfo) -> bytes:
    """`{"error": {...}}`."""
    return encode_json(ErrorBody(error=info))
