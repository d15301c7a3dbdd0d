"""One request inside the engine: its tokens, the KV blocks it holds, and when things happened."""

from collections.abc import Callable
from operator import attrgetter

# Never a steady decoder's entry step: the sequence is visited every step.
NOT_STEADY = -1


class Sequence:
    """One request inside the engine (mutable: the engine advances it every step).

    While the engine keeps it as a steady decoder (see `mockcore.engine.steady`), `computed` and
    `generated` hold their values at its entry and catch up when it samples a token anyone sees
    (its last), leaves that state, or `Engine.running` is read.
    """

    __slots__ = (
        "_rank",
        "_steady_since",
        "admitted_s",
        "arrival_s",
        "block_hashes",
        "blocks",
        "cached_tokens",
        "computed",
        "every_token",
        "first_token_s",
        "generated",
        "hashed",
        "output_tokens",
        "preemptions",
        "prompt_tokens",
        "request_id",
        "tag",
        "token_times",
    )

    def __init__(
        self,
        request_id: int,
        arrival_s: float,
        prompt_tokens: int,
        output_tokens: int,
        block_hashes: tuple[int, ...] = (),
        *,
        keep_token_times: bool = True,
    ) -> None:
        self.request_id = request_id
        self.arrival_s = arrival_s
        self.prompt_tokens = prompt_tokens
        self.output_tokens = max(1, output_tokens)
        self.block_hashes = block_hashes
        # Tokens whose KV is computed, tokens sampled, blocks held (the first `hashed` of them
        # are the prefix blocks `block_hashes[:hashed]`).
        self.computed = 0
        self.generated = 0
        self.blocks = 0
        self.hashed = 0
        self.cached_tokens: int | None = None
        self.preemptions = 0
        self.admitted_s: float | None = None
        self.first_token_s: float | None = None
        self.token_times: list[float] | None = [] if keep_token_times else None
        # Whatever the driver attaches to find its request again (the live server's ticket).
        self.tag: object = None
        # Whether `StepResult.sampled` lists every token of this sequence (a stream), or only
        # its first and its last.
        self.every_token = True
        # The engine's own: the place in the running order (set when it joins the batch), and
        # the step it became a steady decoder at (NOT_STEADY while the engine visits it).
        self._rank = 0
        self._steady_since = NOT_STEADY

    @property
    def known(self) -> int:
        """Tokens whose KV the next sample needs: the prompt and every token sampled."""
        return self.prompt_tokens + self.generated

    @property
    def queue_s(self) -> float:
        """Seconds from arrival to admission into the batch (0 before admission)."""
        return 0.0 if self.admitted_s is None else self.admitted_s - self.arrival_s


# Sort key: the order in which sequences joined the batch (the order a step visits them). An
# attribute getter, not a function: the engine sorts the sequences that finish every step.
running_order: Callable[[Sequence], int] = attrgetter("_rank")
