"""SOLIDO RAG (`POST /rag/api/prompt`): a generated answer and the sources it cites.

The request carries `query` (a string, or strings that are joined by newlines, as aiperf
sends them), `filters` (the document set to search, e.g. `{"family": "Solido", "tool":
"SDE"}`) and `inference_model`. The answer is planned like a chat answer (same length rule,
text and TTFT/ITL schedule; `max_tokens`, an extension, caps it), and it cites 3 to 5
sources (or `top_k`), whose ids, titles, pages and scores are drawn from the query and the
filters: the same question against the same filters cites the same documents.
"""

from typing import Annotated, Any

import msgspec

from mockcore.decoding import decode_strictly
from mockcore.digest import derived_u64, derived_unit, digest_texts
from mockcore.errors import RequestError
from mockcore.generation import GenerationCommand, plan_generation
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.plan import GenerationPlan
from mockcore.prompts import text_prompt
from mockcore.requests import ModelName, PositiveInt
from mockcore.settings import Settings
from mockcore.timing import LatencyShape

MAX_SOURCES = 20
_DOCUMENT_KINDS = (
    "User Guide",
    "Reference Manual",
    "Release Notes",
    "Application Note",
    "Tutorial",
    "Knowledge Base Article",
)
_TOPIC_WORDS = 3


class RagRequest(msgspec.Struct, kw_only=True):
    """`POST /rag/api/prompt`."""

    query: str | Annotated[list[str], msgspec.Meta(min_length=1)]
    filters: dict[str, Any] | None = None
    inference_model: ModelName | None = None
    stream: bool | None = None
    max_tokens: PositiveInt | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=MAX_SOURCES)] | None = None


class RagSource(msgspec.Struct, frozen=True, kw_only=True):
    """A cited document: an id, a title, the page the passage is on, its retrieval score."""

    id: str
    title: str
    page: int
    score: float


class RagPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The answer (a generation plan: text and schedule) and its sources, best first."""

    generation: GenerationPlan
    sources: tuple[RagSource, ...]


_DECODER = msgspec.json.Decoder(RagRequest)


def decode_rag_request(body: bytes) -> RagRequest:
    """Decode strictly; a bad body is a `RequestError` naming the field."""
    return decode_strictly(_DECODER, body)


def query_text(request: RagRequest) -> str:
    """The question: the string, or the strings joined by newlines."""
    return request.query if isinstance(request.query, str) else "\n".join(request.query)


def _check_limits(request: RagRequest, question: str, settings: Settings) -> None:
    if not question.strip():
        raise RequestError("`query` must not be empty.", "query")
    if not isinstance(request.query, str) and len(request.query) > settings.max_request_items:
        raise RequestError(
            f"`query` has {len(request.query)} items; this server accepts at most "
            f"{settings.max_request_items} (--max-request-items).",
            "query",
        )
    if len(question) > settings.max_prompt_chars:
        raise RequestError(
            f"The prompt has {len(question)} characters; this server accepts at most "
            f"{settings.max_prompt_chars} (--max-prompt-chars).",
            "query",
        )
    if request.max_tokens is not None and request.max_tokens > settings.max_output_tokens:
        raise RequestError(
            f"`max_tokens` is {request.max_tokens}; this server generates at most "
            f"{settings.max_output_tokens} tokens per request (--max-output-tokens).",
            "max_tokens",
        )


def _topic(question: str) -> str:
    """A few of the question's longest words, in their order: what the cited passages are about."""
    words = [word.strip(".,;:!?\"'()[]") for word in question.split()]
    longest = set(
        sorted({word for word in words if word}, key=lambda word: (-len(word), word))[:_TOPIC_WORDS]
    )
    chosen = []
    for word in words:
        if word in longest and word not in chosen:
            chosen.append(word)
    return " ".join(chosen) or "overview"


def cited_sources(question: str, filters: dict[str, Any] | None, top_k: int | None) -> tuple[RagSource, ...]:
    """The documents the answer cites: a pure function of the question and the filters."""
    filters_json = msgspec.json.encode(filters or {}, order="sorted").decode()
    digest = digest_texts((question, filters_json), person=b"rag-sources")
    count = top_k if top_k is not None else 3 + derived_u64(digest, b"source-count") % 3
    collection = " ".join(str(value) for _, value in sorted((filters or {}).items())) or "Knowledge base"
    topic = _topic(question)
    sources = []
    score = 0.97
    for rank in range(count):
        source_digest = digest_texts((digest.hex(), str(rank)), person=b"rag-source")
        kind = _DOCUMENT_KINDS[derived_u64(source_digest, b"kind") % len(_DOCUMENT_KINDS)]
        chapter = 1 + derived_u64(source_digest, b"chapter") % 12
        section = 1 + derived_u64(source_digest, b"section") % 9
        score -= 0.02 + 0.06 * derived_unit(source_digest, b"score")
        sources.append(
            RagSource(
                id=f"doc_{source_digest[:8].hex()}",
                title=f"{collection} {kind}, section {chapter}.{section}: {topic}",
                page=1 + int(derived_u64(source_digest, b"page") % 400),
                score=round(max(score, 0.01), 4),
            )
        )
    return tuple(sources)


def plan_rag(
    request: RagRequest,
    settings: Settings,
    *,
    stream: bool,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
) -> RagPlan:
    """The answer to the question, paced like a chat answer, and the sources it cites."""
    question = query_text(request)
    _check_limits(request, question, settings)
    command = GenerationCommand(
        endpoint="rag",
        model=request.inference_model or settings.default_model,
        prompts=(text_prompt(question),),
        limit=request.max_tokens,
        stream=stream,
    )
    return RagPlan(
        generation=plan_generation(command, settings, shape, overrides),
        sources=cited_sources(question, request.filters, request.top_k),
    )


def plan_rag_request(
    body: bytes,
    settings: Settings,
    *,
    accepts_event_stream: bool = False,
    shape: LatencyShape | None = None,
    overrides: RequestOverrides = NO_OVERRIDES,
) -> RagPlan:
    """Decode and plan.

    The answer streams when the body says `stream`, or else when the client accepts
    `text/event-stream` (aiperf's `--streaming` asks so, with no body field).
    """
    request = decode_rag_request(body)
    stream = request.stream if request.stream is not None else accepts_event_stream
    return plan_rag(request, settings, stream=stream, shape=shape, overrides=overrides)
