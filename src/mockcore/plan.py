"""What the server will send for a request: the plan every adapter renders."""

from collections.abc import Iterator
from typing import Any, Literal

import msgspec

from mockcore.requests import EncodingFormat
from mockcore.timing import Schedule

FinishReason = Literal["stop", "length", "tool_calls"]
# The wire protocol a generation plan is rendered in; every one shares the same plan.
# (`rag`, SOLIDO's RAG answer, is rendered by its own route, not through `WIRE_FORMATS`.)
GenerationEndpoint = Literal["chat", "completions", "responses", "messages", "generate", "rag"]


class Usage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Token accounting; `reasoning_tokens` is None for models that do not reason."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int | None = None
    # Prompt tokens read from, and written to, the prompt cache (Anthropic's `cache_control`).
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    # Whether an engine's prefix cache decided `cache_read_tokens` (OpenAI's
    # `prompt_tokens_details.cached_tokens` is then reported, 0 included).
    engine_cached: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt + completion, as OpenAI reports it."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def uncached_prompt_tokens(self) -> int:
        """Prompt tokens neither read from nor written to the prompt cache (Anthropic's `input_tokens`)."""
        return self.prompt_tokens - self.cache_read_tokens - self.cache_creation_tokens


class PieceCycle(msgspec.Struct, frozen=True, kw_only=True):
    """`count` token pieces read from `source` starting at `offset`, wrapping around.

    A sequence that is never materialised: a stream of 131,072 tokens costs its prompt's
    pieces, not a 131,072-entry tuple per open stream.
    """

    source: tuple[str, ...]
    offset: int
    count: int

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> str:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError(index)
        source = self.source
        return source[(self.offset + index) % len(source)]

    def __iter__(self) -> Iterator[str]:
        rotated = self._rotated()
        if not rotated:
            return
        whole, rest = divmod(self.count, len(rotated))
        for _ in range(whole):
            yield from rotated
        yield from rotated[:rest]

    @property
    def text(self) -> str:
        """The pieces joined."""
        rotated = self._rotated()
        if not rotated:
            return ""
        whole, rest = divmod(self.count, len(rotated))
        return "".join(rotated) * whole + "".join(rotated[:rest])

    def _rotated(self) -> tuple[str, ...]:
        return self.source[self.offset :] + self.source[: self.offset] if self.count else ()


NO_PIECES = PieceCycle(source=(), offset=0, count=0)


class ToolCallPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One function call: its arguments are JSON text valid against the tool's schema.

    The argument pieces are tokens like any other (cut by the limit, one stream event each).
    """

    id: str
    name: str
    arguments: PieceCycle

    @property
    def arguments_text(self) -> str:
        """The arguments as one string (not JSON when the limit cut them)."""
        return self.arguments.text

    @property
    def arguments_object(self) -> dict[str, Any]:
        """The arguments as an object, as protocols that send one (Anthropic's `input`) need it.

        Arguments the limit cut short are not JSON yet: the object is then empty.
        """
        try:
            value = msgspec.json.decode(self.arguments.text)
        except msgspec.DecodeError:
            return {}
        return value if isinstance(value, dict) else {}


class CachePoint(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The end of a cacheable prompt prefix: its key, its length in tokens, how long it lives."""

    key: int
    tokens: int
    ttl_s: float


SegmentKind = Literal["reasoning", "content", "tool_call"]


class Segment(msgspec.Struct, frozen=True, kw_only=True):
    """A run of a choice's tokens of one kind: its pieces, the index of its first token, its call."""

    kind: SegmentKind
    pieces: PieceCycle
    start: int
    call: ToolCallPlan | None = None


class ChoicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """The tokens of one choice: reasoning pieces, then content pieces, then tool-call arguments.

    `digest` is the choice's own draw (the prompt's, or the prompt's with the sample index
    and seed): it seeds the choice's length, text, tool call and log-probabilities.
    `stop_sequence` is the stop string that ended it, if one did.
    """

    index: int
    prompt_tokens: int
    reasoning: PieceCycle
    content: PieceCycle
    finish_reason: FinishReason
    tool_calls: tuple[ToolCallPlan, ...] = ()
    stop_sequence: str | None = None
    digest: bytes = b""

    @property
    def reasoning_text(self) -> str:
        """The reasoning as one string."""
        return self.reasoning.text

    @property
    def content_text(self) -> str:
        """The content as one string."""
        return self.content.text

    def segments(self) -> tuple[Segment, ...]:
        """The non-empty runs in order: reasoning, content, then each tool call's arguments.

        Protocols that frame output in blocks or items (Messages, Responses) open one per segment.
        """
        runs: list[Segment] = []
        start = 0
        if self.reasoning.count:
            runs.append(Segment(kind="reasoning", pieces=self.reasoning, start=start))
            start += self.reasoning.count
        if self.content.count:
            runs.append(Segment(kind="content", pieces=self.content, start=start))
            start += self.content.count
        for call in self.tool_calls:
            runs.append(Segment(kind="tool_call", pieces=call.arguments, start=start, call=call))
            start += call.arguments.count
        return tuple(runs)

    @property
    def token_count(self) -> int:
        """R + C + A: every generated token, one stream event each."""
        count = len(self.reasoning) + len(self.content)
        for call in self.tool_calls:
            count += len(call.arguments)
        return count


class GenerationPlan(msgspec.Struct, frozen=True, kw_only=True):
    """A chat or text completion: choices, usage and the event schedule."""

    endpoint: GenerationEndpoint
    model: str
    stream: bool
    include_usage: bool
    reasons: bool
    choices: tuple[ChoicePlan, ...]
    usage: Usage
    schedule: Schedule
    # The request's output limit (max_tokens, max_completion_tokens), or --max-output-tokens
    # when it sets none: what vLLM reports as the request's max_tokens parameter.
    max_tokens: int
    # The (first) prompt's digest: with the sequence number, it seeds the latency jitter.
    prompt_digest: bytes = b""
    # Alternatives per token when the request asked for log-probabilities (0 = the token's
    # own only), None when it did not.
    logprobs: int | None = None
    # `stream_options.continuous_usage_stats`: every chunk carries the usage so far.
    continuous_usage: bool = False
    # The prompt's cache breakpoints, shortest prefix first (see `mockcore.generation.prompt_cache`).
    cache_points: tuple[CachePoint, ...] = ()
    # Request fields the protocol repeats in its answer (the Responses object), as JSON values.
    echo: dict[str, Any] | None = None
    # Hashes of the prompt's full KV blocks, for the engine's prefix cache (empty without --engine).
    prompt_blocks: tuple[int, ...] = ()

    @property
    def event_count(self) -> int:
        """Deadlines in the stream: the longest choice's tokens (choices interleave)."""
        return max(choice.token_count for choice in self.choices)

    @property
    def response_offset_s(self) -> float:
        """When a non-streaming response is due, from t0."""
        return self.schedule.response_offset_s(self.event_count)


class EmbeddingPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Unit vectors (float32-exact values), one per input."""

    model: str
    encoding_format: EncodingFormat
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage
    response_offset_s: float


class Ranking(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One passage's score; relevance_score = sigmoid(logit)."""

    index: int
    logit: float
    relevance_score: float


# The wire protocol a ranking plan is rendered in: NIM's `/v1/ranking`, Hugging Face TEI's
# `/rerank`, Cohere's `/v2/rerank`. Every one ranks with the same rule.
RankingProtocol = Literal["nim", "tei", "cohere"]


class RankingPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Passages sorted by relevance, best first; ties keep index order.

    `rankings` holds what the answer lists (Cohere's `top_n` cuts it). `echoed`, when the
    request asked for its texts back (TEI's `return_text`, Cohere's `return_documents`), holds
    one per ranking, in the same order: the text, or Cohere's document object. `raw_scores`
    makes TEI's score the logit instead of its sigmoid; `search_units` is what Cohere bills.
    """

    model: str
    rankings: tuple[Ranking, ...]
    usage: Usage
    response_offset_s: float
    protocol: RankingProtocol = "nim"
    raw_scores: bool = False
    echoed: tuple[str | dict[str, Any], ...] | None = None
    search_units: int = 0


ResponsePlan = GenerationPlan | EmbeddingPlan | RankingPlan
