"""The engine socket in one process: a worker's client and the engine server agree, and forget.

The engine process's server and a worker's `RemoteEngine` run on one event loop here; what
crosses the socket is the same as between processes.
"""

import asyncio
import time
from pathlib import Path

import pytest

from mockcore.engine import BUILTIN_PROFILES, EngineConfig
from mockhttp.engine.port import EngineRejectedError
from mockhttp.engine.remote import EngineServer, RemoteEngine

CONFIG = EngineConfig(
    profile=BUILTIN_PROFILES["qwen3-0.6b"], gpu="h100-sxm", max_num_seqs=4, max_waiting_requests=2
)


async def _serve(path: Path) -> tuple[EngineServer, asyncio.Server]:
    server = EngineServer(CONFIG)
    return server, await asyncio.start_unix_server(server.handle, path=str(path))


def test_a_stream_gets_every_token_and_an_answer_its_first_and_last(tmp_path: Path) -> None:
    async def run() -> None:
        engine_server, unix = await _serve(tmp_path / "engine.sock")
        async with unix:
            client = RemoteEngine(str(tmp_path / "engine.sock"), time.monotonic)
            stream = await client.admit(40, 12, (), streaming=True)
            answer = await client.admit(40, 12, (), streaming=False)
            times = [await stream.token_time(index) for index in range(12)]
            finished = await answer.finish_time()
            assert times == sorted(times)
            assert len(stream.times) == 12
            # The answer in one piece was told its first token and its last only.
            assert len(answer.times) == 2
            assert answer.times[0] < finished
            assert finished >= times[-1]  # admitted after the stream, never finished before it
            assert answer.engine_times() is not None
            stats = await client.stats()
            assert stats.finished == 2
            assert stats.running == 0
            # The server keeps nothing of finished requests.
            assert all(not live for live in engine_server._live.values())
            await client.close()

    asyncio.run(run())


def test_the_queue_bound_refuses_over_the_socket_and_a_cancel_frees_the_place(tmp_path: Path) -> None:
    async def run() -> None:
        _, unix = await _serve(tmp_path / "engine.sock")
        async with unix:
            client = RemoteEngine(str(tmp_path / "engine.sock"), time.monotonic)
            tickets = [await client.admit(20, 500, (), streaming=True) for _ in range(6)]
            await tickets[0].token_time(0)
            with pytest.raises(EngineRejectedError) as refused:
                await client.admit(20, 500, (), streaming=True)
            assert refused.value.rejection.reason == "queue_full"
            for ticket in tickets:
                client.cancel(ticket)
            for _ in range(100):
                if (await client.stats()).running == 0:
                    break
                await asyncio.sleep(0.01)
            stats = await client.stats()
            assert stats.running == 0
            assert stats.waiting == 0
            assert stats.kv_blocks_used == 0
            await client.close()

    asyncio.run(run())
