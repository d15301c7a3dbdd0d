"""With `--engine` the DCGM power and framebuffer are the engine's: its FLOPs and bytes, its KV blocks.

In process: a batch of streams raises the power and FB_USED of every simulated GPU, FB_USED
is the weights plus the KV blocks the engine holds plus the runtime overhead, and both come
back to idle when the batch is done. Over the engine socket, the stats carry what that needs.
"""

import asyncio
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.engine.in_process import CONCURRENT, engine_app, engine_stats, start_streams, until_engine
from tests.engine.running import run_async

from mockcore.engine import BUILTIN_PROFILES, EngineConfig, EngineStats
from mockcore.gpu import gpu_spec
from mockcore.gpu.physics import RUNTIME_OVERHEAD_MIB
from mockhttp.engine.remote import EngineServer, RemoteEngine

MIB = 1024 * 1024
ENGINE = {
    "engine": "llama-3.1-8b",
    "dcgm_gpu_name": "h100-sxm",
    "ttft": 0,
    "itl": 0,
    "dcgm_initial_load": 0.0,
    "dcgm_window_sec": 0.2,
}


def _samples(text: str, name: str) -> list[float]:
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _fb_mib(stats: EngineStats) -> int:
    """What FB_USED must read for these stats: weights and KV blocks in use, plus the overhead."""
    return round(
        (stats.weight_bytes + stats.kv_blocks_used * stats.kv_block_bytes) / MIB + RUNTIME_OVERHEAD_MIB
    )


async def _scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/dcgm1/metrics")
    assert response.status_code == 200
    return response.text


@run_async
async def test_a_batch_raises_power_and_fb_used_by_the_engines_work_and_blocks_and_both_come_back() -> None:
    idle_w = gpu_spec("h100-sxm").serving_idle_w
    services, http = engine_app(**ENGINE)
    async with http:
        idle = await _scrape(http)
        empty = await engine_stats(services)
        requests = start_streams(http)
        await until_engine(services, lambda stats: stats.running == CONCURRENT)
        await asyncio.sleep(0.3)
        # The blocks in use change as the batch decodes: FB_USED lies between the readings around it.
        before = await engine_stats(services)
        busy = await _scrape(http)
        after = await engine_stats(services)
        responses = await asyncio.gather(*requests)
        assert all(response.status_code == 200 for response in responses)
        await until_engine(services, lambda stats: stats.kv_blocks_used == 0)
        await asyncio.sleep(0.3)
        await _scrape(http)
        await asyncio.sleep(0.3)
        rested = await _scrape(http)
        done = await engine_stats(services)

    assert empty.kv_blocks_used == 0
    assert set(_samples(idle, "DCGM_FI_DEV_FB_USED")) == {_fb_mib(empty)}
    assert max(_samples(idle, "DCGM_FI_DEV_POWER_USAGE")) < 1.1 * idle_w

    assert before.kv_blocks_used > 0
    for fb in _samples(busy, "DCGM_FI_DEV_FB_USED"):
        assert _fb_mib(before) <= fb <= _fb_mib(after)
        assert fb > _fb_mib(empty)
    # Forty decoding streams: the GPUs stream weights and KV and do some arithmetic, well above idle.
    assert min(_samples(busy, "DCGM_FI_DEV_POWER_USAGE")) > idle_w + 100
    assert min(_samples(busy, "DCGM_FI_PROF_DRAM_ACTIVE")) > 0.3
    assert min(_samples(busy, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE")) > 0.01

    assert done.kv_blocks_used == 0
    assert set(_samples(rested, "DCGM_FI_DEV_FB_USED")) == {_fb_mib(empty)}
    assert max(_samples(rested, "DCGM_FI_DEV_POWER_USAGE")) < 1.1 * idle_w
    assert max(_samples(rested, "DCGM_FI_PROF_DRAM_ACTIVE")) == 0
    fb_total = _samples(rested, "DCGM_FI_DEV_FB_TOTAL")
    fb_parts = zip(
        _samples(rested, "DCGM_FI_DEV_FB_FREE"),
        _samples(rested, "DCGM_FI_DEV_FB_USED"),
        _samples(rested, "DCGM_FI_DEV_FB_RESERVED"),
        strict=True,
    )
    assert [sum(parts) for parts in fb_parts] == fb_total


@run_async
async def test_before_any_request_the_initial_load_drives_power_and_the_engine_the_framebuffer() -> None:
    services, http = engine_app(**{**ENGINE, "dcgm_initial_load": 1.0})
    async with http:
        text = await _scrape(http)
        stats = await engine_stats(services)
    # The configured initial load shows until the first request (the engine has not stepped)...
    assert min(_samples(text, "DCGM_FI_DEV_GPU_UTIL")) > 90
    assert min(_samples(text, "DCGM_FI_DEV_POWER_USAGE")) > 0.95 * gpu_spec("h100-sxm").power_limit_w
    # ...but the memory is the engine's from the start: its weights, no KV blocks yet.
    assert set(_samples(text, "DCGM_FI_DEV_FB_USED")) == {_fb_mib(stats)}


def test_the_engine_sockets_stats_carry_the_work_and_memory_per_gpu(tmp_path: Path) -> None:
    config = EngineConfig(profile=BUILTIN_PROFILES["qwen3-0.6b"], gpu="h100-sxm", tensor_parallel=2)

    async def run() -> None:
        path = tmp_path / "engine.sock"
        unix = await asyncio.start_unix_server(EngineServer(config).handle, path=str(path))
        async with unix:
            client = RemoteEngine(str(path), time.monotonic)
            ticket = await client.admit(400, 50, (), streaming=True)
            await ticket.token_time(0)
            stats = await client.stats()
            await ticket.token_time(49)
            await client.close()
        assert stats.tensor_parallel == 2
        assert stats.kv_blocks_used > 0
        assert stats.weight_bytes_per_gpu == config.profile.weight_bytes / 2
        assert stats.kv_block_bytes_per_gpu == config.kv_block_bytes / 2
        assert stats.flops > 0
        assert stats.bytes_moved > 0
        assert stats.compute_s == stats.flops / config.peak_flops
        assert stats.bandwidth_s == stats.bytes_moved / config.peak_bandwidth

    asyncio.run(run())
