"""The engine as the inference service sees it: admit a request, then await its token times."""

import asyncio
from typing import Protocol

from mockcore.engine import EngineStats, Rejection
from mockcore.engine.served import phase_times


class EngineRejectedError(Exception):
    """The engine refused the request: its waiting queue is full, or it can never fit."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class EngineTicket:
    """One admitted request: the clock times its tokens were sampled at, as the engine publishes them.

    For a streamed request token k (k = 0, 1, ...) is due at `times[k]`, an absolute time on
    the server's clock that may still lie ahead when it is published (the engine process
    announces a step's tokens when the step starts). A request answered in one piece is told
    only its first token (for its TTFT and prefix hit) and its last (`finished_at`): the engine
    process tells each as it comes, the in-process engine both with the last (`finish_whole`).
    """

    __slots__ = (
        "_error",
        "_waiter",
        "arrival_s",
        "cached_tokens",
        "finished_at",
        "output_tokens",
        "queue_s",
        "request_id",
        "streaming",
        "times",
    )

    def __init__(self, request_id: int, *, streaming: bool, output_tokens: int) -> None:
        self.request_id = request_id
        self.streaming = streaming
        # The tokens the request was admitted with (its last is token output_tokens - 1).
        self.output_tokens = output_tokens
        # When the engine counts the request as arrived (set by the port that admits it).
        self.arrival_s = 0.0
        self.times: list[float] = []
        self.finished_at: float | None = None
        self.cached_tokens = 0
        self.queue_s = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None

    def fail(self, error: Exception) -> None:
        """The engine went away: every wait for a token not yet published raises `error`."""
        self._error = error
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(error)

    def publish(self, at: float, cached_tokens: int, queue_s: float, *, final: bool = False) -> None:
        """The engine sampled a token at `at` (the first publication also says the prefix hit).

        `final`: it was the request's last token.
        """
        if not self.times:
            self.cached_tokens = cached_tokens
            self.queue_s = queue_s
        self.times.append(at)
        if final:
            self.finished_at = at
        elif not self.streaming:
            return  # an answer in one piece only waits for its last token
        self._wake()

    def finish_whole(self, first_at: float, at: float, cached_tokens: int, queue_s: float) -> None:
        """An answer in one piece learns its first token's time with its last (sampled at `at`).

        The in-process engine tells it once instead of twice: its first token wakes nobody.
        """
        self.cached_tokens = cached_tokens
        self.queue_s = queue_s
        self.times = [first_at, at] if first_at < at else [at]
        self.finished_at = at
        self._wake()

    def _wake(self) -> None:
        """Let the wait for the next publication, if any, see this one."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _next_publication(self) -> "asyncio.Future[None]":
        """What to await for the next publication (it raises the engine's failure)."""
        if self._error is not None:
            raise self._error
        waiter = self._waiter
        if waiter is None:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    async def token_time(self, index: int) -> float:
        """When token `index` of a stream is due; waits until the engine has scheduled it."""
        times = self.times
        while len(times) <= index:
            await self._next_publication()
        return times[index]

    def engine_times(self) -> tuple[float, float, float] | None:
        """(queue, prefill, inference) seconds (`mockcore.engine.served.phase_times`) once finished."""
        if self.finished_at is None or not self.times:
            return None
        return phase_times(self.arrival_s, self.queue_s, self.times[0], self.finished_at)

    async def finish_time(self) -> float:
        """When the last token is due; waits until the engine has scheduled it."""
        while self.finished_at is None:
            await self._next_publication()
        return self.finished_at


class EnginePort(Protocol):
    """One engine for the whole server."""

    async def admit(
        self, prompt_tokens: int, output_tokens: int, block_hashes: tuple[int, ...], *, streaming: bool
    ) -> EngineTicket:
        """Queue a request; raises `EngineRejectedError` when the engine refuses it.

        A `streaming` request is told every token's time; another only its first and last.
        """
        ...

    def cancel(self, ticket: EngineTicket) -> None:
        """The client left: free the request's place in the batch and its KV blocks."""
        ...

    async def stats(self) -> EngineStats:
        """The engine's gauges and counters now."""
        ...
