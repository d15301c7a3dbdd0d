"""With `--engine` the engine metrics and the DCGM telemetry report the engine's own state.

The engine gauges of every format (batch, queue, KV cache, preemptions, prefix cache) are the
engine's stats, and the simulated GPUs run at the share of time the engine spends on steps.
"""

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from tests.engine.in_process import CHAT, CONCURRENT, engine_app, engine_stats, start_streams, until_engine
from tests.engine.running import run_async

from mockcore.engine import EngineStats
from mockcore.gpu.load import busy_fraction
from mockcore.metrics.engine_view import view_from_engine

ENGINE = {"engine": "llama-3.1-8b", "dcgm_gpu_name": "h100-sxm", "ttft": 0, "itl": 0}


def _stats(**overrides: float) -> EngineStats:
    values: dict[str, Any] = {
        "running": 3,
        "waiting": 2,
        "kv_blocks_used": 10,
        "kv_blocks_total": 100,
        "block_size": 16,
        "weight_bytes": 16e9,
        "kv_block_bytes": 2e6,
        "steps": 50,
        "busy_s": 1.5,
        "prefill_tokens": 900,
        "decode_tokens": 300,
        "preemptions": 4,
        "prefix_query_tokens": 640,
        "prefix_hit_tokens": 160,
        "finished": 7,
        "rejected": 1,
        "flops": 1e15,
        "bytes_moved": 1e12,
        "peak_flops": 989e12,
        "peak_bandwidth": 3.35e12,
    }
    return EngineStats(**{**values, **overrides})


def _values(text: str) -> dict[str, float]:
    """Sample name -> value (every engine gauge here has a single sample)."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _gpu_util(text: str) -> list[float]:
    return [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "DCGM_FI_DEV_GPU_UTIL"
    ]


def test_the_engine_view_is_the_engines_stats_with_blocks_counted_in_tokens() -> None:
    view = view_from_engine(_stats())
    assert (view.running, view.waiting) == (3, 2)
    assert (view.kv_tokens_used, view.kv_capacity_tokens, view.block_size_tokens) == (160, 1600, 16)
    assert (view.used_blocks, view.total_blocks) == (10, 100)
    assert view.kv_usage == 0.1
    assert view.preemptions == 4
    assert (view.prefix_cache_queries, view.prefix_cache_hits) == (640, 160)
    assert view.prefix_cache_hit_rate == 0.25


def test_busy_fraction_is_the_busy_time_over_the_window() -> None:
    first, samples = busy_fraction((), 10.0, 2.0, 1.0)
    fraction, samples = busy_fraction(samples, 11.0, 2.25, 1.0)
    assert first == 0.0
    assert fraction == 0.25
    assert samples == ((10.0, 2_000_000), (11.0, 2_250_000))


def test_busy_fraction_is_capped_at_one_and_never_negative() -> None:
    _, samples = busy_fraction((), 10.0, 2.0, 1.0)
    assert busy_fraction(samples, 10.5, 3.0, 1.0)[0] == 1.0
    assert busy_fraction(samples, 10.5, 1.0, 1.0)[0] == 0.0


@run_async
async def test_vllm_gauges_follow_the_engine_while_it_runs_and_after() -> None:
    services, http = engine_app(**ENGINE)
    async with http:
        requests = start_streams(http)
        # Every request admitted and decoding: the batch holds still for many steps.
        before = await until_engine(
            services, lambda stats: stats.running == CONCURRENT and stats.waiting == 0
        )
        metrics = _values((await http.get("/metrics")).text)
        sglang = _values((await http.get("/sglang/metrics")).text)
        after = await engine_stats(services)
        assert after.running == before.running
        assert metrics["vllm:num_requests_running"] == before.running
        assert metrics["vllm:num_requests_waiting"] == 0
        assert metrics["vllm:kv_cache_usage_perc"] > 0
        assert sglang["sglang:num_running_reqs"] == before.running
        responses = await asyncio.gather(*requests)
        assert all(response.status_code == 200 for response in responses)
        done_text = (await http.get("/metrics")).text
        done = _values(done_text)
        stats = await engine_stats(services)
    # vLLM's cache configuration is the engine's.
    assert 'enable_prefix_caching="True"' in done_text
    assert f'num_gpu_blocks="{stats.kv_blocks_total}"' in done_text
    assert done["vllm:num_requests_running"] == 0
    assert done["vllm:kv_cache_usage_perc"] == stats.kv_usage
    assert done["vllm:prefix_cache_queries_total"] == stats.prefix_query_tokens > 0
    assert done["vllm:prefix_cache_hits_total"] == stats.prefix_hit_tokens
    assert done["vllm:num_preemptions_total"] == stats.preemptions


@run_async
async def test_dcgm_utilisation_follows_the_engines_busy_time() -> None:
    services, http = engine_app(**{**ENGINE, "dcgm_initial_load": 0.0, "dcgm_window_sec": 0.2})
    async with http:
        idle = _gpu_util((await http.get("/dcgm1/metrics")).text)
        requests = start_streams(http)
        await until_engine(services, lambda stats: stats.running == CONCURRENT)
        await asyncio.sleep(0.3)
        busy = _gpu_util((await http.get("/dcgm1/metrics")).text)
        await asyncio.gather(*requests)
        await asyncio.sleep(0.3)
        await http.get("/dcgm1/metrics")
        await asyncio.sleep(0.3)
        after = _gpu_util((await http.get("/dcgm1/metrics")).text)
    assert max(idle) < 5
    assert min(busy) > 50
    assert max(after) < 5


@run_async
async def test_queue_prefill_and_inference_histograms_are_the_engines() -> None:
    """Two batch places for six requests: four wait, and vLLM's queue-time histogram shows it."""
    services, http = engine_app(**{**ENGINE, "max_num_seqs": 2})
    body = {**CHAT, "stream": False, "max_tokens": 30, "min_tokens": 30}
    streamed = {**CHAT, "stream": True, "max_tokens": 30, "min_tokens": 30}
    async with http:
        answers = await asyncio.gather(
            *(http.post("/v1/chat/completions", json=body) for _ in range(3)),
            *(http.post("/v1/chat/completions", json=streamed) for _ in range(3)),
        )
        assert all(answer.status_code == 200 for answer in answers)
        await http.post("/v1/embeddings", json={"model": "m", "input": "never queued"})
        services.metrics.recorder.publish()
        text = (await http.get("/metrics")).text
    metrics = _values(text)
    labels = '{engine="0",model_name="mock-model"}'
    assert metrics["vllm:request_queue_time_seconds_count"] == 7  # the embedding counts as not queued
    assert metrics["vllm:request_queue_time_seconds_sum"] > 0
    # With two places, four requests wait for whole requests ahead of them: 30 steps or more.
    assert metrics["vllm:request_queue_time_seconds_sum"] > 4 * 30 * 0.006
    assert metrics["vllm:request_prefill_time_seconds_count"] == 6
    assert metrics["vllm:request_inference_time_seconds_count"] == 6
    assert (
        metrics["vllm:request_inference_time_seconds_sum"] > metrics["vllm:request_prefill_time_seconds_sum"]
    )
    assert labels in text
