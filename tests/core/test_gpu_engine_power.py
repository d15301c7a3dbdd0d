"""With the engine, the GPUs draw power for the FLOPs and bytes its steps achieve and hold its memory.

Power demand is the serving idle draw plus the headroom times `engine_demand_ratio`: linear in
the achieved share of peak FLOP/s and of peak bandwidth, never past full load's demand.
FB_USED is each GPU's shard of the weights and KV blocks in use plus a fixed runtime overhead.
"""

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore.engine import Engine, EngineConfig, EngineStats, Sequence, builtin_profile, engine_stats
from mockcore.gpu import FleetState, GpuState, advance, gpu_spec, initial_fleet, render_dcgm
from mockcore.gpu.load import (
    NO_ENGINE_SAMPLES,
    US_PER_S,
    EngineWork,
    engine_utilisation,
    follows_traffic,
)
from mockcore.gpu.physics import (
    BANDWIDTH_DEMAND_AT_PEAK,
    COMPUTE_UTIL_AT_FULL_DEMAND,
    FULL_LOAD_DEMAND_RATIO,
    POWER_JITTER_RATIO,
    RUNTIME_OVERHEAD_MIB,
    GpuWork,
    engine_demand_ratio,
    engine_fb_used_mib,
)

MIB = 1024 * 1024
shares = st.floats(min_value=0.0, max_value=1.0)


def _fleet(model: str = "h100-sxm") -> FleetState:
    return initial_fleet(gpu_model=model, num_gpus=2, initial_load=0.0, hostname="node-1", seed=3, instance=1)


def _busy(fleet: FleetState, work: GpuWork, seconds: int = 60) -> FleetState:
    """The fleet after `seconds` of 1 s scrapes with the engine stepping all the time."""
    for _ in range(seconds):
        fleet = advance(fleet, 1.0, 1.0, work=work)
    return fleet


def _gpu0(fleet: FleetState) -> GpuState:
    return fleet.gpus[0]


# --- the demand rule --------------------------------------------------------------------


@given(shares, shares, shares)
def test_demand_never_falls_as_the_achieved_flops_rise(compute: float, more: float, bandwidth: float) -> None:
    low, high = sorted((compute, more))
    assert engine_demand_ratio(low, bandwidth) <= engine_demand_ratio(high, bandwidth)


@given(shares, shares, shares)
def test_demand_never_falls_as_the_achieved_bandwidth_rises(
    compute: float, bandwidth: float, more: float
) -> None:
    low, high = sorted((bandwidth, more))
    assert engine_demand_ratio(compute, low) <= engine_demand_ratio(compute, high)


@given(st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_demand_stays_between_idle_and_full_load(compute: float, bandwidth: float) -> None:
    assert 0.0 <= engine_demand_ratio(compute, bandwidth) <= FULL_LOAD_DEMAND_RATIO


def test_an_engine_doing_nothing_demands_nothing_past_idle() -> None:
    assert engine_demand_ratio(0.0, 0.0) == 0.0


def test_tensor_cores_at_the_anchor_utilisation_demand_full_load() -> None:
    assert engine_demand_ratio(COMPUTE_UTIL_AT_FULL_DEMAND, 0.0) == pytest.approx(FULL_LOAD_DEMAND_RATIO)


def test_streaming_the_whole_bandwidth_without_arithmetic_leaves_most_of_the_headroom() -> None:
    assert engine_demand_ratio(0.0, 1.0) == pytest.approx(BANDWIDTH_DEMAND_AT_PEAK)
    assert engine_demand_ratio(0.0, 1.0) < 0.5


@pytest.mark.parametrize("model", ["h100-sxm", "h200", "a100", "b200", "rtx6000"])
@given(compute=shares, bandwidth=shares)
def test_engine_power_stays_between_the_idle_draw_and_the_limit(
    model: str, compute: float, bandwidth: float
) -> None:
    spec = gpu_spec(model)
    fleet = advance(_fleet(model), 1.0, 1.0, work=GpuWork(compute_util=compute, bandwidth_util=bandwidth))
    for gpu in fleet.gpus:
        # The board's own spread (3 %) and the reading's jitter sit around the idle draw.
        assert spec.serving_idle_w * 0.97 * (1 - POWER_JITTER_RATIO) <= gpu.power_w <= spec.power_limit_w


def test_power_rises_with_the_achieved_flops_and_bandwidth_below_the_limit() -> None:
    fleet = _fleet()
    by_compute = [
        _gpu0(advance(fleet, 1.0, 1.0, work=GpuWork(compute_util=c, bandwidth_util=0.3))).power_w
        for c in (0.0, 0.1, 0.2, 0.3)
    ]
    by_bandwidth = [
        _gpu0(advance(fleet, 1.0, 1.0, work=GpuWork(compute_util=0.05, bandwidth_util=m))).power_w
        for m in (0.0, 0.3, 0.6, 0.9)
    ]
    assert by_compute == sorted(by_compute)
    assert by_bandwidth == sorted(by_bandwidth)
    assert by_compute[-1] < gpu_spec("h100-sxm").power_limit_w


# --- prefill against decode, through the engine's own counters ------------------------------


def _utilisation_while_stepping(prompt_tokens: int, output_tokens: int, batch: int) -> GpuWork:
    """The shares of peak FLOP/s and bandwidth an engine busy with this batch achieves."""
    engine = Engine(EngineConfig(profile=builtin_profile("llama-3.1-8b"), gpu="h100-sxm"))
    for request_id in range(batch):
        engine.enqueue(Sequence(request_id, 0.0, prompt_tokens, output_tokens))
    now = 0.0
    for _ in range(200):
        if not engine.busy:
            break
        now = engine.step(now).record.end_s
    stats = engine_stats(engine)
    return GpuWork(
        compute_util=stats.compute_s / stats.busy_s, bandwidth_util=stats.bandwidth_s / stats.busy_s
    )


def test_compute_bound_prefill_draws_more_than_memory_bound_decode_at_the_same_busy_time() -> None:
    prefill = _utilisation_while_stepping(prompt_tokens=4000, output_tokens=1, batch=64)
    decode = _utilisation_while_stepping(prompt_tokens=16, output_tokens=400, batch=8)
    assert prefill.compute_util > decode.compute_util
    assert decode.bandwidth_util > prefill.bandwidth_util
    fleet = _fleet()
    # Both engines were busy the whole time: the same GPU_UTIL, not the same power.
    prefilling, decoding = _gpu0(_busy(fleet, prefill)), _gpu0(_busy(fleet, decode))
    assert prefilling.util_pct == pytest.approx(decoding.util_pct)
    assert prefilling.power_w > decoding.power_w + 200
    assert prefilling.gpu_temp_c > decoding.gpu_temp_c


def test_sustained_prefill_reaches_the_power_cap_and_decode_of_one_stream_does_not() -> None:
    spec = gpu_spec("h100-sxm")
    prefill = _gpu0(_busy(_fleet(), _utilisation_while_stepping(4000, 1, 64)))
    decode = _gpu0(_busy(_fleet(), _utilisation_while_stepping(16, 400, 1)))
    assert prefill.power_w >= 0.99 * spec.power_limit_w
    assert prefill.power_violation_us > 0
    assert decode.power_w < 0.5 * spec.power_limit_w


def test_tensor_and_dram_activity_are_the_achieved_shares_of_peak() -> None:
    work = GpuWork(compute_util=0.4, bandwidth_util=0.7)
    gpu = _gpu0(advance(_fleet(), 1.0, 1.0, work=work))
    assert gpu.tensor_active == pytest.approx(0.4, rel=0.02)
    assert gpu.dram_active == pytest.approx(0.7, rel=0.02)
    assert gpu.mem_copy_util_pct == pytest.approx(90 * gpu.dram_active)
    # GPU_UTIL and the SM activity follow the busy time (the load), as without the engine.
    assert gpu.util_pct == pytest.approx(100, abs=2)


# --- the framebuffer ---------------------------------------------------------------------


def _stats(**overrides: float) -> EngineStats:
    values: dict[str, Any] = {
        "running": 0,
        "waiting": 0,
        "kv_blocks_used": 1000,
        "kv_blocks_total": 20000,
        "block_size": 16,
        "weight_bytes": 16_060_522_496,
        "kv_block_bytes": 2_097_152,
        "steps": 0,
        "busy_s": 0.0,
        "prefill_tokens": 0,
        "decode_tokens": 0,
        "preemptions": 0,
        "prefix_query_tokens": 0,
        "prefix_hit_tokens": 0,
        "finished": 0,
        "rejected": 0,
        "flops": 0.0,
        "bytes_moved": 0.0,
        "peak_flops": 989e12,
        "peak_bandwidth": 3.35e12,
    }
    return EngineStats(**{**values, **overrides})


def test_each_gpu_holds_its_shard_of_the_weights_and_of_the_kv_blocks_in_use() -> None:
    stats = _stats(tensor_parallel=2)
    assert stats.weight_bytes_per_gpu == 16_060_522_496 / 2
    assert stats.kv_block_bytes_per_gpu == 2_097_152 / 2
    assert stats.held_bytes_per_gpu == 16_060_522_496 / 2 + 1000 * 2_097_152 / 2


def test_fb_used_is_the_weights_plus_the_kv_blocks_in_use_plus_the_runtime_overhead() -> None:
    stats = _stats()
    expected_mib = round((16_060_522_496 + 1000 * 2_097_152) / MIB + RUNTIME_OVERHEAD_MIB)
    assert engine_fb_used_mib(gpu_spec("h100-sxm"), stats.held_bytes_per_gpu) == expected_mib
    fleet = advance(_fleet(), 1.0, 0.0, held_bytes=stats.held_bytes_per_gpu)
    assert {gpu.fb_used_mib for gpu in fleet.gpus} == {expected_mib}


def test_fb_used_grows_by_the_bytes_of_every_block_taken() -> None:
    spec = gpu_spec("h100-sxm")
    before = engine_fb_used_mib(spec, _stats(kv_blocks_used=0).held_bytes_per_gpu)
    after = engine_fb_used_mib(spec, _stats(kv_blocks_used=512).held_bytes_per_gpu)
    assert after - before == 512 * 2_097_152 // MIB


def test_fb_used_is_capped_at_the_usable_memory_and_fb_free_stays_consistent() -> None:
    spec = gpu_spec("h100-sxm")
    usable = spec.memory_total_mib - spec.memory_reserved_mib
    assert engine_fb_used_mib(spec, 1e15) == usable
    assert engine_fb_used_mib(spec, math.nan) == RUNTIME_OVERHEAD_MIB
    assert engine_fb_used_mib(spec, -5.0) == RUNTIME_OVERHEAD_MIB
    for held_bytes in (0.0, 40e9, 1e15):
        text = render_dcgm(advance(_fleet(), 1.0, 0.5, held_bytes=held_bytes))
        values = {
            line.split("{")[0]: int(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("DCGM_FI_DEV_FB_") and 'gpu="0"' in line
        }
        assert (
            values["DCGM_FI_DEV_FB_FREE"] + values["DCGM_FI_DEV_FB_USED"] + values["DCGM_FI_DEV_FB_RESERVED"]
            == values["DCGM_FI_DEV_FB_TOTAL"]
        )


def test_a_whole_kv_cache_fits_the_memory_the_engine_was_given() -> None:
    config = EngineConfig(profile=builtin_profile("llama-3.1-8b"), gpu="h100-sxm")
    empty = engine_stats(Engine(config))
    full = _stats(
        weight_bytes=empty.weight_bytes,
        kv_block_bytes=empty.kv_block_bytes,
        kv_blocks_used=empty.kv_blocks_total,
    )
    spec = gpu_spec("h100-sxm")
    fb = engine_fb_used_mib(spec, full.held_bytes_per_gpu)
    assert fb <= round(config.gpu_memory_utilization * spec.memory_total_mib) + RUNTIME_OVERHEAD_MIB
    assert fb < spec.memory_total_mib - spec.memory_reserved_mib


# --- the windows ---------------------------------------------------------------------------


def test_utilisations_are_the_work_at_peak_over_the_window() -> None:
    first, samples = engine_utilisation(NO_ENGINE_SAMPLES, 10.0, EngineWork(2.0, 0.5, 1.0), 1.0)
    assert first.busy == 0.0
    utilisation, samples = engine_utilisation(samples, 11.0, EngineWork(2.9, 0.8, 1.6), 1.0)
    assert utilisation.busy == pytest.approx(0.9)
    assert utilisation.work.compute_util == pytest.approx(0.3)
    assert utilisation.work.bandwidth_util == pytest.approx(0.6)
    assert [series[-1] for series in samples] == [(11.0, 2_900_000), (11.0, 800_000), (11.0, 1_600_000)]


def test_the_stats_give_the_work_at_peak_from_the_flops_and_bytes() -> None:
    stats = _stats(flops=989e12 * 3, bytes_moved=3.35e12 / 2)
    assert stats.compute_s == pytest.approx(3.0)
    assert stats.bandwidth_s == pytest.approx(0.5)


def test_a_stale_reading_never_runs_a_window_backwards() -> None:
    _, samples = engine_utilisation(NO_ENGINE_SAMPLES, 10.0, EngineWork(2.0, 0.5, 1.0), 1.0)
    utilisation, samples = engine_utilisation(samples, 10.5, EngineWork(1.0, 0.1, 0.2), 1.0)
    assert utilisation.busy == utilisation.work.compute_util == utilisation.work.bandwidth_util == 0.0
    assert [series[-1][1] / US_PER_S for series in samples] == [2.0, 0.5, 1.0]


def test_the_engines_work_drives_the_gpus_only_once_traffic_drives_them() -> None:
    assert follows_traffic(traffic_seen=True, auto_load=True)
    assert not follows_traffic(traffic_seen=False, auto_load=True)
    assert not follows_traffic(traffic_seen=True, auto_load=False)
