"""Plans for the embeddings and ranking routes.

Each answers after base + per-item x items milliseconds (`--embedding-base-latency`,
`--embedding-per-input-latency`, `--ranking-*`). A base left unset is the TTFT and a per-item
latency left unset is 0, so by default both answer after TTFT alone, as before these options
existed. `X-Mock-TTFT-Ms` replaces the whole latency.

`/v1/embeddings` takes OpenAI's `input` or vLLM's chat form `messages` (one vector for the
whole conversation, images included in what it is a function of; `input` wins when a body
has both, as in vLLM). NIM's `input_type` makes a
query and a passage of the same text embed differently; without it a text's vector is the one
it always had. NIM's `truncate` is validated and changes nothing: the mock model has no
context length to run past.
"""

from collections.abc import Sequence

from mockcore.digest import digest_fields, digest_texts
from mockcore.errors import RequestError
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import EmbeddingPlan, Ranking, RankingPlan, Usage
from mockcore.prompts import PromptView, batch_prompts
from mockcore.requests import EmbeddingInputType, EmbeddingMessage, EmbeddingRequest, RankingRequest
from mockcore.settings import Settings
from mockcore.tokenizer import count_tokens
from mockcore.vectors import EMBEDDING_DIMENSIONS, embedding_vector, ranking_logit, sigmoid

_INPUT_TYPE_PERSON = b"input-type"


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


def _message_records(messages: Sequence[EmbeddingMessage]) -> tuple[list[tuple[str, str]], list[str]]:
    """(kind, text) records of every message part, in order, and the texts among them."""
    records: list[tuple[str, str]] = []
    texts: list[str] = []
    for index, message in enumerate(messages):
        content = message.content
        if content is None or isinstance(content, str):
            records.append((message.role, content or ""))
            texts.append(content or "")
            continue
        for part_index, part in enumerate(content):
            where = f"messages[{index}].content[{part_index}]"
            if part.type == "text":
                if part.text is None:
                    raise RequestError(
                        "A content part of type `text` needs a `text` string.", f"{where}.text"
                    )
                records.append((message.role, part.text))
                texts.append(part.text)
            elif part.type == "image_url":
                if part.image_url is None:
                    raise RequestError(
                        "A content part of type `image_url` needs an `image_url` object with a `url`.",
                        f"{where}.image_url",
                    )
                records.append((f"{message.role}:image_url", part.image_url.url))
            else:  # audio, video...: accepted, and part of what the vector is a function of
                records.append((f"{message.role}:{part.type}", ""))
    return records, texts


def _check_message_limits(
    messages: Sequence[EmbeddingMessage], texts: Sequence[str], settings: Settings
) -> None:
    """The request limits, for the chat form (`mockcore.limits` counts `input` only)."""
    if len(messages) > settings.max_request_items:
        raise RequestError(
            f"`messages` has {len(messages)} items; this server accepts at most "
            f"{settings.max_request_items} (--max-request-items).",
            "messages",
        )
    chars = sum(len(text) for text in texts)
    if chars > settings.max_prompt_chars:
        raise RequestError(
            f"The prompt has {chars} characters; this server accepts at most {settings.max_prompt_chars} "
            "(--max-prompt-chars).",
            "messages",
        )


def embedding_inputs(request: EmbeddingRequest, settings: Settings) -> tuple[PromptView, ...]:
    """One view per vector: each `input`, or else the whole `messages` conversation as one.

    A body with both is embedded by its `input`, as vLLM does (its completion form wins).
    """
    if request.input != []:
        return batch_prompts(request.input, "input")
    if request.messages is None:
        raise RequestError("Object missing required field `input` (or `messages`, the chat form)", "input")
    records, texts = _message_records(request.messages)
    _check_message_limits(request.messages, texts, settings)
    view = PromptView(
        texts=tuple(texts),
        token_count=sum(count_tokens(text) for text in texts),
        digest=digest_fields(records),
    )
    return (view,)


def typed_digest(digest: bytes, input_type: EmbeddingInputType | None) -> bytes:
    """The digest a vector is drawn from: the text's own, or folded with NIM's `input_type`."""
    if input_type is None:
        return digest
    return digest_texts((input_type, digest.hex()), person=_INPUT_TYPE_PERSON)


def plan_embeddings(
    request: EmbeddingRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> EmbeddingPlan:
    """One unit vector per input, a pure function of the input (and of `input_type`)."""
    inputs = embedding_inputs(request, settings)
    dimensions = request.dimensions or EMBEDDING_DIMENSIONS
    prompt_tokens = sum(view.token_count for view in inputs)
    input_type = request.input_type
    return EmbeddingPlan(
        model=request.model,
        encoding_format=request.encoding_format,
        vectors=tuple(embedding_vector(typed_digest(view.digest, input_type), dimensions) for view in inputs),
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=0),
        response_offset_s=retrieval_latency_s(
            settings.embedding_base_latency,
            settings.embedding_per_input_latency,
            len(inputs),
            settings,
            overrides,
        ),
    )


def rank_passages(query: str, passages: Sequence[str]) -> tuple[Ranking, ...]:
    """Score every passage against the query and sort, best first (stable for ties).

    The one ranking rule of every ranking route (NIM, TEI, Cohere), so they agree on the order.
    """
    scored = []
    for index, passage in enumerate(passages):
        logit = ranking_logit(query, passage)
        scored.append(Ranking(index=index, logit=logit, relevance_score=sigmoid(logit)))
    scored.sort(key=lambda ranking: -ranking.relevance_score)
    return tuple(scored)


def ranking_prompt_tokens(query: str, passages: Sequence[str]) -> int:
    """The query and every passage, as the ranking routes count their usage."""
    return count_tokens(query) + sum(count_tokens(passage) for passage in passages)


def plan_ranking(
    request: RankingRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> RankingPlan:
    """NIM's `/v1/ranking`: every passage scored against the query, best first."""
    query = request.query.text
    passages = [passage.text for passage in request.passages]
    return RankingPlan(
        model=request.model,
        rankings=rank_passages(query, passages),
        usage=Usage(prompt_tokens=ranking_prompt_tokens(query, passages), completion_tokens=0),
        response_offset_s=retrieval_latency_s(
            settings.ranking_base_latency,
            settings.ranking_per_passage_latency,
            len(request.passages),
            settings,
            overrides,
        ),
    )
