"""The engine in the app's own event loop: for one worker, or an app mounted in another program."""

from collections.abc import Callable

from mockcore.engine import Engine, EngineConfig, EngineStats, Sequence, StepResult
from mockhttp.engine.driver import EngineDriver
from mockhttp.engine.port import EngineRejectedError, EngineTicket
from mockhttp.engine.trace_log import TraceLog


class LocalEngine:
    """An `EnginePort` over a driver in this process."""

    def __init__(
        self, config: EngineConfig, clock: Callable[[], float], trace: TraceLog | None = None
    ) -> None:
        self._driver = EngineDriver(Engine(config), clock, self._publish, trace=trace)
        self._next_id = 0

    async def admit(
        self, prompt_tokens: int, output_tokens: int, block_hashes: tuple[int, ...], *, streaming: bool
    ) -> EngineTicket:
        """Queue the request now; `EngineRejectedError` when the engine refuses it."""
        self._next_id += 1
        request_id = self._next_id
        ticket = EngineTicket(request_id, streaming=streaming, output_tokens=output_tokens)
        sequence = Sequence(
            request_id, 0.0, prompt_tokens, output_tokens, block_hashes, keep_token_times=False
        )
        sequence.tag = ticket
        sequence.every_token = streaming
        rejection = self._driver.submit(sequence)
        if rejection is not None:
            raise EngineRejectedError(rejection)
        ticket.arrival_s = sequence.arrival_s
        return ticket

    def cancel(self, ticket: EngineTicket) -> None:
        """Drop the ticket's request from the engine (a no-op once it finished, or a second time)."""
        if ticket.finished_at is None:
            self._driver.cancel(ticket.request_id)

    async def stats(self) -> EngineStats:
        """The engine's stats now."""
        return self._driver.stats()

    def _publish(self, result: StepResult) -> None:
        """Hand each sampled token to its ticket; an answer in one piece gets its first with its last.

        (The engine lists a non-stream's first and last token only; its first token is kept in
        `first_token_s`, so nothing needs to hear of it before the last.)
        """
        end = result.record.end_s
        for sequence in result.sampled:
            ticket: EngineTicket = sequence.tag  # type: ignore[assignment] # admit tags each sequence
            final = sequence.generated >= sequence.output_tokens
            if sequence.every_token:
                ticket.publish(end, sequence.cached_tokens or 0, sequence.queue_s, final=final)
            elif final:
                first_at = sequence.first_token_s
                assert first_at is not None  # noqa: S101 - it sampled its last, so its first
                ticket.finish_whole(first_at, end, sequence.cached_tokens or 0, sequence.queue_s)
