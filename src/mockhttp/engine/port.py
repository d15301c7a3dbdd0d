"""The engine as the inference service sees it: admit a request, then await its token times."""

import asyncio
from typing import Protocol

from mockcore.engine import EngineStats, Rejection


class EngineRejectedError(Exception):
    """The engine refused the request: its waiting queue is full, or it can never fit."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class EngineTicket:
    """One admitted request: the clock times its tokens were sampled at, as the engine publishes them.

    Token k (k = 0, 1, ...) is due at `times[k]`, an absolute time on the server's clock that
    may still lie ahead when it is published (the engine announces a step's tokens when the
    step starts).
    """

    __slots__ = ("_error", "_waiter", "cached_tokens", "queue_s", "request_id", "times")

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self.times: list[float] = []
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

    def publish(self, at: float, cached_tokens: int, queue_s: float) -> None:
        """The engine sampled the next token at `at` (the first publication also says the prefix hit)."""
        if not self.times:
            self.cached_tokens = cached_tokens
            self.queue_s = queue_s
        self.times.append(at)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def token_time(self, index: int) -> float:
        """When token `index` is due; waits until the engine has scheduled it."""
        times = self.times
        while len(times) <= index:
            if self._error is not None:
                raise self._error
            waiter = self._waiter
            if waiter is None:
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter
        return times[index]


class EnginePort(Protocol):
    """One engine for the whole server."""

    async def admit(
        self, prompt_tokens: int, output_tokens: int, block_hashes: tuple[int, ...]
    ) -> EngineTicket:
        """Queue a request; raises `EngineRejectedError` when the engine refuses it."""
        ...

    def cancel(self, ticket: EngineTicket) -> None:
        """The client left: free the request's place in the batch and its KV blocks."""
        ...

    async def stats(self) -> EngineStats:
        """The engine's gauges and counters now."""
        ...
