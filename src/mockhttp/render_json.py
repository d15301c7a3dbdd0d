"""Plans to complete JSON response bodies (non-streaming responses)."""

import base64

import msgspec

from mockcore.errors import ErrorInfo
from mockcore.generation import TokenLogprob, token_logprob
from mockcore.plan import ChoicePlan, EmbeddingPlan, GenerationPlan, RankingPlan, Usage
from mockcore.vectors import float32_le_bytes
from mockhttp.responses import (
    AssistantMessage,
    ChatChoice,
    ChatCompletionBody,
    ChatLogprobs,
    CompletionTokensDetails,
    EmbeddingItem,
    EmbeddingListBody,
    ErrorBody,
    FunctionCallBody,
    RankingBody,
    RankingItem,
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


def ranking_body(plan: RankingPlan) -> bytes:
    """The rankings, best first."""
    rankings = [
        RankingItem(index=ranking.index, logit=ranking.logit, relevance_score=ranking.relevance_score)
        for ranking in plan.rankings
    ]
    return encode_json(RankingBody(rankings=rankings, usage=usage_body(plan.usage, with_completion=False)))


def error_body(info: ErrorInfo) -> bytes:
    """`{"error": {...}}`."""
    return encode_json(ErrorBody(error=info))
