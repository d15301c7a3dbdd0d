"""What the server will send for a request: the plan every adapter renders."""

from collections.abc import Iterator
from typing import Literal

import msgspec

from mockcore.requests import EncodingFormat
from mockcore.timing import Schedule

FinishReason = Literal["stop", "length"]
GenerationEndpoint = Literal["chat", "completions"]


class Usage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Token accounting; `reasoning_tokens` is None for models that do not reason."""

    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt + completion, as OpenAI reports it."""
        return self.prompt_tokens + self.completion_tokens


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


class ChoicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """The tokens of one choice: all reasoning pieces come before all content pieces."""

    index: int
    prompt_tokens: int
    reasoning: PieceCycle
    content: PieceCycle
    finish_reason: FinishReason

    @property
    def reasoning_text(self) -> str:
        """The reasoning as one string."""
        return self.reasoning.text

    @property
    def content_text(self) -> str:
        """The content as one string."""
        return self.content.text

    @property
    def token_count(self) -> int:
        """R + C: every generated token, one stream event each."""
        return len(self.reasoning) + len(self.content)


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


class RankingPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Passages sorted by relevance, best first; ties keep index order."""

    model: str
    rankings: tuple[Ranking, ...]
    usage: Usage
    response_offset_s: float


ResponsePlan = GenerationPlan | EmbeddingPlan | RankingPlan
