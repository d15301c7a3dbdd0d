"""The app with `--engine`, in process: a client for it, and its engine's stats as they change."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from mockcore import Settings
from mockcore.engine import EngineStats
from mockhttp import Services, create_app, local_services

# A load that holds the batch still for many steps: CONCURRENT streams of OUTPUT_TOKENS tokens each.
CONCURRENT = 40
OUTPUT_TOKENS = 200
CHAT = {
    "model": "m",
    "messages": [{"role": "user", "content": "Tell me about continuous batching. " * 8}],
    "max_tokens": OUTPUT_TOKENS,
    "min_tokens": OUTPUT_TOKENS,
    "stream": True,
}


def engine_app(**settings: Any) -> tuple[Services, httpx.AsyncClient]:
    """The app's services (its engine among them) and an httpx client that calls the app."""
    services = local_services(Settings(**settings))
    transport = httpx.ASGITransport(app=create_app(services=services))
    return services, httpx.AsyncClient(transport=transport, base_url="http://mock")


async def engine_stats(services: Services) -> EngineStats:
    """The engine's stats now."""
    assert services.engine is not None
    return await services.engine.stats()


async def until_engine(
    services: Services, ready: Callable[[EngineStats], bool], timeout_s: float = 5.0
) -> EngineStats:
    """Poll the engine until `ready` holds; fail after `timeout_s`."""
    stats = await engine_stats(services)
    for _ in range(int(timeout_s / 0.01)):
        if ready(stats):
            return stats
        await asyncio.sleep(0.01)
        stats = await engine_stats(services)
    raise AssertionError(f"the engine never got there: {stats}")


def start_streams(http: httpx.AsyncClient) -> list["asyncio.Task[httpx.Response]"]:
    """CONCURRENT streamed chats of CHAT, sent at once (await them to end the load)."""
    return [asyncio.create_task(http.post("/v1/chat/completions", json=CHAT)) for _ in range(CONCURRENT)]
