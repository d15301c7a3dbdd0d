"""Hugging Face TEI's `POST /rerank` and Cohere's `POST /v2/rerank`: request types and plans.

Both rank with the rule of NIM's `/v1/ranking` (`mockcore.retrieval.rank_passages`), so the
three routes put the same passages in the same order. They differ in what they send back:
TEI a list of `{index, score, text?}` (the score is the sigmoid of the logit, or the logit
with `raw_scores`), Cohere `{id, results, meta}` cut to `top_n`. TEI's `truncate` and
`truncation_direction` are validated and change nothing (the mock model has no context length
to run past); Cohere's `max_tokens_per_doc` (default 4096) cuts each document before it is
scored, as Cohere does.

These routes are not planned by `mockcore.service.plan_request` (whose decoders know the
OpenAI and generation routes): `plan_rerank_request` is their entry point, for the server
and for `mockcore.predict` alike.
"""

import math
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from mockcore.decoding import decode_strictly
from mockcore.errors import RequestError
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import RankingPlan, Usage
from mockcore.requests import ModelName, PositiveInt, Route
from mockcore.retrieval import rank_passages, ranking_prompt_tokens, retrieval_latency_s
from mockcore.settings import Settings
from mockcore.tokenizer import CHARS_PER_TOKEN, count_tokens

# The routes this module plans.
RERANK_ROUTES: frozenset[Route] = frozenset({"tei_rerank", "cohere_rerank"})
# `RequestError.code`s the TEI envelope tells apart (TEI's `error_type`, and its status).
EMPTY_BATCH = "empty"
BATCH_TOO_LARGE = "batch_too_large"
# Cohere's defaults: documents are cut to 4096 tokens; one search unit is a query with up to
# 100 documents, a document longer than 510 tokens (with the query) counting once per chunk.
COHERE_MAX_TOKENS_PER_DOC = 4096
_COHERE_CHUNK_TOKENS = 510
_COHERE_DOCUMENTS_PER_UNIT = 100

TruncationDirection = Literal["Left", "Right", "left", "right"]


class TeiRerankRequest(msgspec.Struct, kw_only=True):
    """`POST /rerank` (TEI); TEI's requests name no model."""

    query: str
    texts: list[str]
    raw_scores: bool = False
    return_text: bool = False
    truncate: bool | None = None
    truncation_direction: TruncationDirection = "Right"


# A Cohere document: a string, or (API v1 style) an object whose `text`, `rank_fields` or
# every field is ranked.
CohereDocument = str | dict[str, Any]


class CohereRerankRequest(msgspec.Struct, kw_only=True):
    """`POST /v2/rerank` (Cohere)."""

    model: ModelName
    query: str
    documents: list[CohereDocument]
    top_n: PositiveInt | None = None
    return_documents: bool = False
    max_tokens_per_doc: PositiveInt | None = None
    rank_fields: Annotated[list[str], msgspec.Meta(min_length=1)] | None = None


_Request = TypeVar("_Request", TeiRerankRequest, CohereRerankRequest)
_TEI_DECODER = msgspec.json.Decoder(TeiRerankRequest)
_COHERE_DECODER = msgspec.json.Decoder(CohereRerankRequest)


def _check_size(count: int, chars: int, settings: Settings, param: str, code: str | None) -> None:
    """The request limits: items (`--max-request-items`) and characters (`--max-prompt-chars`)."""
    if count > settings.max_request_items:
        raise RequestError(
            f"batch size {count} > maximum allowed batch size {settings.max_request_items} "
            "(--max-request-items).",
            param,
            code,
        )
    if chars > settings.max_prompt_chars:
        raise RequestError(
            f"The query and `{param}` have {chars} characters; this server accepts at most "
            f"{settings.max_prompt_chars} (--max-prompt-chars).",
            param,
            code,
        )


def plan_tei_rerank(
    request: TeiRerankRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> RankingPlan:
    """Every text scored against the query, best first, with its text when asked."""
    texts = request.texts
    if not texts:
        raise RequestError("`texts` cannot be empty", "texts", EMPTY_BATCH)
    chars = len(request.query) + sum(len(text) for text in texts)
    _check_size(len(texts), chars, settings, "texts", BATCH_TOO_LARGE)
    rankings = rank_passages(request.query, texts)
    return RankingPlan(
        model=settings.default_model,
        rankings=rankings,
        usage=Usage(prompt_tokens=ranking_prompt_tokens(request.query, texts), completion_tokens=0),
        response_offset_s=_latency_s(len(texts), settings, overrides),
        protocol="tei",
        raw_scores=request.raw_scores,
        echoed=tuple(texts[ranking.index] for ranking in rankings) if request.return_text else None,
    )


def _field_text(value: object) -> str:
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def document_text(document: CohereDocument, rank_fields: list[str] | None) -> str:
    """What a Cohere document is ranked on: the string, or `key: value` lines of an object.

    An object is ranked on its `rank_fields`, else on its `text` when it has one, else on
    every field (Cohere asks for structured data as YAML; these lines are that shape).
    """
    if isinstance(document, str):
        return document
    if rank_fields is None and isinstance(document.get("text"), str):
        return str(document["text"])
    names = rank_fields if rank_fields is not None else list(document)
    return "\n".join(f"{name}: {_field_text(document[name])}" for name in names if name in document)


def _search_units(query_tokens: int, document_tokens: list[int]) -> int:
    """Cohere's bill: one unit per 100 documents, a long document counting once per chunk."""
    chunks = sum(
        max(1, math.ceil((query_tokens + tokens) / _COHERE_CHUNK_TOKENS)) for tokens in document_tokens
    )
    return max(1, math.ceil(chunks / _COHERE_DOCUMENTS_PER_UNIT))


def plan_cohere_rerank(
    request: CohereRerankRequest, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> RankingPlan:
    """Every document (cut to `max_tokens_per_doc`) scored against the query; the best `top_n`."""
    if not request.query.strip():
        # Cohere's own words; its envelope has no field to name, so neither does the error.
        raise RequestError("query must not be empty or be only whitespace", None)
    if not request.documents:
        raise RequestError("list of documents must not be empty", None)
    max_chars = (request.max_tokens_per_doc or COHERE_MAX_TOKENS_PER_DOC) * CHARS_PER_TOKEN
    texts = [document_text(document, request.rank_fields)[:max_chars] for document in request.documents]
    chars = len(request.query) + sum(len(text) for text in texts)
    _check_size(len(texts), chars, settings, "documents", None)
    rankings = rank_passages(request.query, texts)[: request.top_n]
    echoed: tuple[str | dict[str, Any], ...] | None = None
    if request.return_documents:
        echoed = tuple(_echoed(request.documents[ranking.index]) for ranking in rankings)
    query_tokens = count_tokens(request.query)
    return RankingPlan(
        model=request.model,
        rankings=rankings,
        usage=Usage(prompt_tokens=ranking_prompt_tokens(request.query, texts), completion_tokens=0),
        response_offset_s=_latency_s(len(texts), settings, overrides),
        protocol="cohere",
        echoed=echoed,
        search_units=_search_units(query_tokens, [count_tokens(text) for text in texts]),
    )


def _echoed(document: CohereDocument) -> dict[str, Any]:
    """A returned document: `{"text": ...}` for a string, the object itself otherwise."""
    return {"text": document} if isinstance(document, str) else document


def _latency_s(passages: int, settings: Settings, overrides: RequestOverrides) -> float:
    """The ranking latency (`--ranking-base-latency`, `--ranking-per-passage-latency`)."""
    return retrieval_latency_s(
        settings.ranking_base_latency, settings.ranking_per_passage_latency, passages, settings, overrides
    )


def plan_rerank_request(
    route: Route, body: bytes, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> RankingPlan:
    """Decode, validate and plan a `/rerank` (`tei_rerank`) or `/v2/rerank` (`cohere_rerank`) body.

    Raises `RequestError` for what the route answers as a client error.
    """
    if route == "tei_rerank":
        return plan_tei_rerank(decode_strictly(_TEI_DECODER, body), settings, overrides)
    if route == "cohere_rerank":
        return plan_cohere_rerank(decode_strictly(_COHERE_DECODER, body), settings, overrides)
    raise AssertionError(f"{route} is not a rerank route")  # pragma: no cover
