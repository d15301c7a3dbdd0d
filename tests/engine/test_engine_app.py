"""The engine behind the routes, in process: usage, refusals and the engine's slots.

With `--engine` every generation is queued in one engine: its prefix-cache hits show in
`usage.prompt_tokens_details.cached_tokens` (as vLLM reports them), a full waiting queue is a
429 with Retry-After, a request the KV cache can never hold is a 400, and a request that ends
early gives its place back.
"""

import asyncio
from typing import Any

import httpx
import openai
import pytest
from tests.engine.running import run_async

from mockcore import Settings
from mockcore.engine.served import phase_times
from mockhttp import create_app, local_services
from mockhttp.engine.port import EnginePort, EngineRejectedError

PROMPT = "A prompt long enough to fill several KV blocks of sixteen four-character tokens. " * 4
ENGINE = {"engine": "qwen3-0.6b", "dcgm_gpu_name": "h100-sxm"}


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://mock")


def _chat(content: str = PROMPT, max_tokens: int = 8, **extra: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
        **extra,
    }


@run_async
async def test_the_openai_sdk_reads_the_prefix_cache_hit_of_a_repeated_prompt() -> None:
    async with _client(Settings(**ENGINE)) as http:
        client = openai.AsyncOpenAI(api_key="unused", base_url="http://mock/v1", http_client=http)
        first = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": PROMPT}]
        )
        again = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": PROMPT}]
        )
    assert first.usage is not None
    assert again.usage is not None
    assert first.usage.prompt_tokens_details is not None
    assert again.usage.prompt_tokens_details is not None
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    # Every whole 16-token block but one token is served from the cache the first request filled.
    whole_blocks = first.usage.prompt_tokens // 16 * 16
    assert 0 < again.usage.prompt_tokens_details.cached_tokens <= whole_blocks
    assert again.choices[0].message.content == first.choices[0].message.content


@run_async
async def test_a_streams_usage_chunk_carries_the_prefix_cache_hit() -> None:
    async with _client(Settings(**ENGINE)) as http:
        await http.post("/v1/chat/completions", json=_chat())
        body = _chat(stream=True, stream_options={"include_usage": True})
        text = (await http.post("/v1/chat/completions", json=body)).text
    assert '"prompt_tokens_details":{"cached_tokens":' in text
    assert '"cached_tokens":0}' not in text


@run_async
async def test_without_prefix_caching_nothing_is_reported_cached() -> None:
    async with _client(Settings(**ENGINE, enable_prefix_caching=False)) as http:
        await http.post("/v1/chat/completions", json=_chat())
        usage = (await http.post("/v1/chat/completions", json=_chat())).json()["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}


@run_async
async def test_a_full_waiting_queue_answers_429_with_retry_after() -> None:
    # One sequence runs, one waits: of the rest sent while the first is still decoding, each
    # finds the queue full.
    settings = Settings(**ENGINE, max_num_seqs=1, max_waiting_requests=1)
    async with _client(settings) as http:
        responses = await asyncio.gather(
            *(http.post("/v1/chat/completions", json=_chat(max_tokens=200)) for _ in range(5))
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 429, 429, 429]
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.headers["retry-after"].isdigit()
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "queue_full"
    assert "--max-waiting-requests" in error["message"]


@run_async
async def test_a_refused_stream_gives_its_stream_slot_back() -> None:
    settings = Settings(**ENGINE, max_num_seqs=1, max_waiting_requests=0, max_concurrent_streams=1)
    async with _client(settings) as http:
        body = _chat(max_tokens=30, stream=True)
        first, second = await asyncio.gather(
            http.post("/v1/chat/completions", json=body), http.post("/v1/chat/completions", json=body)
        )
        after = await http.post("/v1/chat/completions", json=body)
    assert sorted((first.status_code, second.status_code)) == [200, 429]
    assert after.status_code == 200


@run_async
async def test_a_request_the_kv_cache_can_never_hold_is_a_400() -> None:
    # Qwen3-0.6B on one RTX 6000 Ada with 2.5 % of its memory for weights and KV: a few blocks.
    settings = Settings(engine="qwen3-0.6b", dcgm_gpu_name="rtx6000", gpu_memory_utilization=0.025)
    async with _client(settings) as http:
        response = await http.post("/v1/chat/completions", json=_chat("x" * 40_000, max_tokens=10))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert error["type"] == "invalid_request_error"


@run_async
async def test_embeddings_do_not_go_through_the_engine() -> None:
    settings = Settings(**ENGINE, max_num_seqs=1, max_waiting_requests=0)
    async with _client(settings) as http:
        responses = await asyncio.gather(
            *(http.post("/v1/embeddings", json={"model": "m", "input": "hello"}) for _ in range(3))
        )
    assert [response.status_code for response in responses] == [200, 200, 200]


def _local_engine() -> EnginePort:
    engine = local_services(Settings(**ENGINE)).engine
    assert engine is not None
    return engine


@run_async
async def test_an_abandoned_request_leaves_the_engine() -> None:
    engine = _local_engine()
    ticket = await engine.admit(100, 1000, (), streaming=True)
    await ticket.token_time(0)
    assert (await engine.stats()).running == 1
    engine.cancel(ticket)
    engine.cancel(ticket)  # a second cancel (the request's cleanup after a fault) does nothing
    await asyncio.sleep(0.05)
    stats = await engine.stats()
    assert stats.running == 0
    assert stats.kv_blocks_used == 0


@run_async
async def test_cancelling_a_finished_request_touches_nothing_else() -> None:
    engine = _local_engine()
    done = await engine.admit(100, 2, (), streaming=False)
    await done.finish_time()
    running = await engine.admit(100, 1000, (), streaming=True)
    await running.token_time(0)
    engine.cancel(done)  # finished: no-op, whatever request ids the engine holds now
    stats = await engine.stats()
    assert (stats.running, stats.kv_blocks_used > 0) == (1, True)
    engine.cancel(running)


@run_async
async def test_an_answer_in_one_piece_learns_its_first_and_last_token_times_with_its_last() -> None:
    engine = _local_engine()
    watch = await engine.admit(100, 1000, (), streaming=True)  # samples a token at every step's end
    await watch.token_time(0)
    whole = await engine.admit(100, 5, (), streaming=False)
    single = await engine.admit(100, 1, (), streaming=False)
    last = await whole.finish_time()
    first = watch.times.index(whole.times[0])
    assert whole.times == [watch.times[first], watch.times[first + 4]] == [watch.times[first], last]
    assert whole.engine_times() == phase_times(whole.arrival_s, whole.queue_s, whole.times[0], last)
    assert single.times == [await single.finish_time()]
    assert single.times[0] in watch.times
    engine.cancel(watch)


@run_async
async def test_the_local_engine_refuses_what_it_can_never_hold() -> None:
    services = local_services(
        Settings(engine="qwen3-0.6b", dcgm_gpu_name="rtx6000", gpu_memory_utilization=0.025)
    )
    assert services.engine is not None
    with pytest.raises(EngineRejectedError) as caught:
        await services.engine.admit(1_000_000, 10, (), streaming=False)
    assert caught.value.rejection.reason == "too_long"


@run_async
async def test_transport_faults_shape_an_engine_timed_stream() -> None:
    settings = Settings(**ENGINE, fault_delay_seconds=0.2)
    body = _chat(max_tokens=12, min_tokens=12, stream=True)
    async with _client(settings) as http:
        started = asyncio.get_running_loop().time()
        stalled = await http.post("/v1/chat/completions", json=body, headers={"X-Mock-Fault": "stall"})
        stalled_s = asyncio.get_running_loop().time() - started
        truncated = await http.post("/v1/chat/completions", json=body, headers={"X-Mock-Fault": "truncate"})
        plain = await http.post("/v1/chat/completions", json=body)
        services_stats = (await http.get("/metrics")).text
    assert stalled.status_code == truncated.status_code == plain.status_code == 200
    # A stall holds the stream back by the fault delay, then sends every token and [DONE].
    assert stalled_s >= 0.2
    assert stalled.text.count('"content":"') == plain.text.count('"content":"')
    assert stalled.text.endswith("data: [DONE]\n\n")
    # A truncated stream stops early, cleanly, without [DONE].
    assert truncated.text.count('"content":"') < plain.text.count('"content":"')
    assert "[DONE]" not in truncated.text
    assert 'vllm:num_requests_running{engine="0",model_name="mock-model"} 0.0' in services_stats


@run_async
async def test_a_messages_request_with_cache_control_keeps_anthropics_cache_accounting() -> None:
    # Long enough for Anthropic's smallest cacheable prefix.
    system = [{"type": "text", "text": PROMPT * 20, "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": "hi"}]
    body = {"model": "claude", "max_tokens": 8, "system": system, "messages": messages}
    headers = {"anthropic-version": "2023-06-01"}
    async with _client(Settings(**ENGINE)) as http:
        first = (await http.post("/v1/messages", json=body, headers=headers)).json()["usage"]
        again = (await http.post("/v1/messages", json=body, headers=headers)).json()["usage"]
    # Anthropic's accounting: written once, then read; the engine's own hit is not added to it.
    assert first["cache_creation_input_tokens"] > 0
    assert first["cache_read_input_tokens"] == 0
    assert again["cache_read_input_tokens"] == first["cache_creation_input_tokens"]
    assert again["input_tokens"] == first["input_tokens"]
