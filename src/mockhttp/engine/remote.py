"""One engine for several workers: an engine process, and each worker's client of it.

The CLI starts the engine process before the workers (`run_engine_process`); it listens on
a Unix socket named by `MOCK_SERVER_ENGINE_SOCKET`. An arrival is stamped by the worker when
it admits the request (on the system-wide monotonic clock every process shares), and a step's
tokens are announced to the workers when the step starts, so the socket's latency delays a
request only when its message reaches the engine after the step it could have joined began.
"""

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from mockcore.engine import Engine, EngineConfig, EngineStats, Rejection, Sequence, StepResult
from mockhttp.engine.driver import EngineDriver
from mockhttp.engine.port import EngineRejectedError, EngineTicket
from mockhttp.engine.trace_log import TraceLog
from mockhttp.engine.wire import frame, read_message

ENGINE_SOCKET_ENV = "MOCK_SERVER_ENGINE_SOCKET"
_LOGGER = logging.getLogger("mockhttp")
# Request ids on the engine: the connection's number above, the worker's own id below.
_ID_BITS = 40
_ID_MASK = (1 << _ID_BITS) - 1
# How long past a step's start the engine process still lets in admissions stamped before it
# (a worker's message takes a fraction of a millisecond, more when the CPUs are busy).
ADMISSION_GRACE_S = 0.002


class EngineServer:
    """The engine process's side: one driver, any number of worker connections."""

    def __init__(
        self, config: EngineConfig, clock: Callable[[], float] = time.monotonic, trace: TraceLog | None = None
    ) -> None:
        self._driver = EngineDriver(
            Engine(config),
            clock,
            self._announce,
            announce_at_start=True,
            admission_grace_s=ADMISSION_GRACE_S,
            trace=trace,
        )
        self._writers: dict[int, asyncio.StreamWriter] = {}
        # Per connection: the worker's requests in the engine, dropped if the worker goes away.
        self._live: dict[int, set[int]] = {}
        self._next_connection = 0

    def _announce(self, result: StepResult) -> None:
        """Tell each worker the tokens this step samples (a non-stream's first and last only)."""
        end = result.record.end_s
        tokens: defaultdict[int, list[list[Any]]] = defaultdict(list)
        for sequence in result.sampled:
            connection, local_id = sequence.request_id >> _ID_BITS, sequence.request_id & _ID_MASK
            final = sequence.generated >= sequence.output_tokens
            tokens[connection].append([local_id, sequence.cached_tokens or 0, sequence.queue_s, final])
            if final:
                live = self._live.get(connection)
                if live is not None:
                    live.discard(local_id)
        for connection, entries in tokens.items():
            writer = self._writers.get(connection)
            if writer is not None and not writer.is_closing():
                writer.write(frame(["t", end, entries]))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one worker until it disconnects; its unfinished requests are then dropped."""
        self._next_connection += 1
        connection = self._next_connection
        self._writers[connection] = writer
        base = connection << _ID_BITS
        live = self._live[connection] = set()
        try:
            while (message := await read_message(reader)) is not None:
                kind = message[0]
                if kind == "a":
                    _, local_id, prompt_tokens, output_tokens, hashes, streaming, arrival_s = message
                    sequence = Sequence(
                        base | local_id,
                        0.0,
                        prompt_tokens,
                        output_tokens,
                        tuple(hashes),
                        keep_token_times=False,
                    )
                    sequence.every_token = bool(streaming)
                    rejection = self._driver.submit(sequence, arrival_s)
                    if rejection is None:
                        live.add(local_id)
                        writer.write(frame(["ok", local_id]))
                    else:
                        writer.write(frame(["no", local_id, rejection.reason, rejection.message]))
                elif kind == "c":
                    live.discard(message[1])
                    self._driver.cancel(base | message[1])
                elif kind == "s":
                    writer.write(frame(["s", message[1], msgspec.to_builtins(self._driver.stats())]))
        finally:
            del self._writers[connection]
            del self._live[connection]
            for local_id in live:
                self._driver.cancel(base | local_id)
            writer.close()


async def serve_engine(socket_path: str, config: EngineConfig, trace_path: str | None = None) -> None:
    """Listen on `socket_path` until cancelled; record arrivals to `trace_path` if given."""
    server = EngineServer(config, trace=TraceLog(trace_path) if trace_path else None)
    unix_server = await asyncio.start_unix_server(server.handle, path=socket_path)
    async with unix_server:
        await unix_server.serve_forever()


def run_engine_process(socket_path: str, config_json: bytes, trace_path: str | None = None) -> None:
    """The engine process's entry point (a `multiprocessing` target)."""
    config = msgspec.json.decode(config_json, type=EngineConfig)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_engine(socket_path, config, trace_path))


class RemoteEngine:
    """A worker's `EnginePort`: the engine process over its socket (connected on first use)."""

    def __init__(self, socket_path: str, clock: Callable[[], float]) -> None:
        self._path = socket_path
        self._clock = clock
        self._writer: asyncio.StreamWriter | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._next_id = 0
        self._tickets: dict[int, EngineTicket] = {}
        self._replies: dict[int, asyncio.Future[list[Any]]] = {}
        self._reader_task: asyncio.Task[None] | None = None

    async def _connection(self) -> asyncio.StreamWriter:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            return writer
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_future()
            try:
                reader, writer = await asyncio.open_unix_connection(self._path)
            except BaseException as error:
                self._connecting.set_exception(error)
                self._connecting = None
                raise
            self._writer = writer
            self._reader_task = asyncio.get_running_loop().create_task(
                self._read(reader), name="engine-client"
            )
            self._connecting.set_result(None)
            self._connecting = None
            return writer
        await asyncio.shield(self._connecting)
        assert self._writer is not None  # noqa: S101 - set by the connecting call
        return self._writer

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while (message := await read_message(reader)) is not None:
            kind = message[0]
            if kind == "t":
                _, at, entries = message
                tickets = self._tickets
                for local_id, cached_tokens, queue_s, final in entries:
                    ticket = tickets.get(local_id)
                    if ticket is not None:
                        ticket.publish(at, cached_tokens, queue_s, final=final)
                        if final:
                            del tickets[local_id]
            else:
                reply = self._replies.pop(message[1], None)
                if reply is not None and not reply.done():
                    reply.set_result(message)
        self._writer = None
        gone = ConnectionError("the engine process went away")
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(gone)
        self._replies.clear()
        for ticket in self._tickets.values():
            ticket.fail(gone)
        self._tickets.clear()

    async def _ask(self, message: list[Any]) -> list[Any]:
        writer = await self._connection()
        reply: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._replies[message[1]] = reply
        writer.write(frame(message))
        return await reply

    async def admit(
        self, prompt_tokens: int, output_tokens: int, block_hashes: tuple[int, ...], *, streaming: bool
    ) -> EngineTicket:
        """Queue the request in the engine process; `EngineRejectedError` when it refuses."""
        self._next_id += 1
        local_id = self._next_id
        ticket = EngineTicket(local_id, streaming=streaming, output_tokens=output_tokens)
        # Registered before the reply: the first token can be announced right behind it.
        self._tickets[local_id] = ticket
        try:
            arrival_s = ticket.arrival_s = self._clock()
            message = ["a", local_id, prompt_tokens, output_tokens, list(block_hashes), streaming, arrival_s]
            reply = await self._ask(message)
        except BaseException:
            self._tickets.pop(local_id, None)
            raise
        if reply[0] == "no":
            self._tickets.pop(local_id, None)
            raise EngineRejectedError(Rejection(reason=reply[2], message=reply[3]))
        return ticket

    def cancel(self, ticket: EngineTicket) -> None:
        """Drop the request in the engine, unless it already finished."""
        local_id = ticket.request_id
        if self._tickets.pop(local_id, None) is None:
            return
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(frame(["c", local_id]))

    async def close(self) -> None:
        """Hang up (the worker is stopping): the engine drops this worker's requests."""
        writer, task = self._writer, self._reader_task
        self._writer = None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    async def stats(self) -> EngineStats:
        """The engine process's stats."""
        self._next_id += 1
        reply = await self._ask(["s", self._next_id])
        return msgspec.convert(reply[2], EngineStats)


def engine_socket_path(state_file: Path) -> Path:
    """Where the engine process listens: beside the shared state file."""
    return state_file.with_name(state_file.name + ".engine")
