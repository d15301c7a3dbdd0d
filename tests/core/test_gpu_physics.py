"""The GPU physics model: load in, bounded and reproducible telemetry out."""

import hashlib
import itertools
import math
import os
import subprocess
import sys

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mockcore.gpu import (
    FleetState,
    GpuState,
    advance,
    gpu_spec,
    initial_fleet,
    load_from_traffic,
    render_dcgm,
    target_load,
    windowed_throughput,
)
from mockcore.gpu.physics import THERMAL_TIME_CONSTANT_S
from mockcore.settings import GPU_MODEL_IDS


def make_fleet(
    model: str = "h100-sxm", *, num_gpus: int = 2, initial_load: float = 0.0, seed: int = 1, instance: int = 1
) -> FleetState:
    return initial_fleet(
        gpu_model=model,
        num_gpus=num_gpus,
        initial_load=initial_load,
        hostname="node-1",
        seed=seed,
        instance=instance,
    )


def hold(fleet: FleetState, seconds: int, load: float, step_s: float = 1.0) -> FleetState:
    for _ in range(round(seconds / step_s)):
        fleet = advance(fleet, step_s, load)
    return fleet


def gpu0(fleet: FleetState) -> GpuState:
    return fleet.gpus[0]


# --- load in, utilisation out -------------------------------------------------------------


def test_a_fleet_starts_at_its_initial_load() -> None:
    fleet = make_fleet(initial_load=0.7)
    assert all(abs(gpu.util_pct - 70) <= 3 for gpu in fleet.gpus)


def test_a_fleet_starts_settled_at_the_temperature_of_its_initial_load() -> None:
    fleet = make_fleet(initial_load=0.7)
    assert hold(fleet, 600, 0.7).gpus[0].gpu_temp_c == pytest.approx(gpu0(fleet).gpu_temp_c, abs=0.01)


def test_utilisation_follows_the_load() -> None:
    fleet = make_fleet()
    for load in (0.0, 0.25, 0.5, 1.0, 0.1):
        fleet = advance(fleet, 1.0, load)
        assert all(abs(gpu.util_pct - 100 * load) <= 3 for gpu in fleet.gpus)


def test_an_idle_gpu_shows_zero_utilisation_and_activity() -> None:
    gpu = gpu0(hold(make_fleet(initial_load=1.0), 5, 0.0))
    assert gpu.util_pct == 0
    assert gpu.mem_copy_util_pct == 0
    assert (gpu.sm_active, gpu.gr_engine_active, gpu.tensor_active, gpu.dram_active) == (0, 0, 0, 0)


def test_activity_ratios_at_full_load_match_a_busy_a100() -> None:
    gpu = gpu0(advance(make_fleet("a100"), 1.0, 1.0))
    assert gpu.gr_engine_active == pytest.approx(0.9956, abs=0.02)
    assert gpu.tensor_active == pytest.approx(0.9293, abs=0.02)
    assert gpu.dram_active == pytest.approx(0.6908, abs=0.02)
    assert gpu.sm_active <= gpu.gr_engine_active


def test_activity_ratios_grow_with_load() -> None:
    fleet = make_fleet()
    low, high = gpu0(advance(fleet, 1.0, 0.3)), gpu0(advance(fleet, 1.0, 0.9))
    assert low.sm_active < high.sm_active
    assert low.tensor_active < high.tensor_active
    assert low.dram_active < high.dram_active
    assert low.mem_copy_util_pct < high.mem_copy_util_pct


def test_a_nan_load_counts_as_idle_and_an_out_of_range_load_is_clamped() -> None:
    fleet = make_fleet()
    assert advance(fleet, 1.0, math.nan) == advance(fleet, 1.0, 0.0)
    assert advance(fleet, 1.0, 7.0) == advance(fleet, 1.0, 1.0)
    assert advance(fleet, 1.0, -1.0) == advance(fleet, 1.0, 0.0)


# --- power, temperature, clocks -----------------------------------------------------------


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_idle_power_is_the_serving_idle_draw(model: str) -> None:
    spec = gpu_spec(model)
    assert gpu0(make_fleet(model)).power_w == pytest.approx(spec.serving_idle_w, rel=0.05)


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_full_load_drives_power_to_the_limit_and_no_further(model: str) -> None:
    spec = gpu_spec(model)
    fleet = hold(make_fleet(model), 30, 1.0)
    for gpu in fleet.gpus:
        assert 0.99 * spec.power_limit_w <= gpu.power_w <= spec.power_limit_w


def test_power_rises_with_load_below_the_limit() -> None:
    fleet = make_fleet()
    powers = [gpu0(advance(fleet, 1.0, load)).power_w for load in (0.0, 0.2, 0.4, 0.6, 0.8)]
    assert powers == sorted(powers)
    assert powers[-1] < gpu_spec("h100-sxm").power_limit_w


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_sustained_load_heats_the_gpu_and_rest_cools_it_back(model: str) -> None:
    idle = make_fleet(model)
    loaded = hold(idle, 600, 1.0, step_s=5.0)
    rested = hold(loaded, 600, 0.0, step_s=5.0)
    assert gpu0(loaded).power_w > 2 * gpu0(idle).power_w
    assert gpu0(loaded).gpu_temp_c > gpu0(idle).gpu_temp_c + 20
    assert gpu0(rested).power_w == pytest.approx(gpu0(idle).power_w, rel=0.02)
    assert gpu0(rested).gpu_temp_c == pytest.approx(gpu0(idle).gpu_temp_c, abs=0.5)


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_steady_full_load_temperature_is_the_catalog_heavy_load_temperature(model: str) -> None:
    spec = gpu_spec(model)
    fleet = hold(make_fleet(model), 900, 1.0, step_s=30.0)
    for gpu in fleet.gpus:
        assert gpu.gpu_temp_c == pytest.approx(spec.load_temp_c, abs=2)


def test_temperature_lags_power_with_the_thermal_time_constant() -> None:
    idle = make_fleet()
    settled = hold(idle, 900, 1.0, step_s=30.0)
    one_tau = advance(idle, THERMAL_TIME_CONSTANT_S, 1.0)
    rise = gpu0(settled).gpu_temp_c - gpu0(idle).gpu_temp_c
    assert gpu0(one_tau).gpu_temp_c - gpu0(idle).gpu_temp_c == pytest.approx(
        (1 - math.exp(-1)) * rise, rel=0.01
    )


def test_the_thermal_time_constant_is_tens_of_seconds() -> None:
    assert 10 <= THERMAL_TIME_CONSTANT_S < 100


def test_one_long_step_equals_many_short_ones() -> None:
    start = make_fleet()
    once = advance(start, 10.0, 1.0)
    tenfold = hold(start, 10, 1.0)
    for a, b in zip(once.gpus, tenfold.gpus, strict=True):
        assert a.gpu_temp_c == pytest.approx(b.gpu_temp_c, abs=1e-9)
        assert a.power_violation_us == pytest.approx(b.power_violation_us, abs=1e-3)
        assert a.thermal_violation_us == pytest.approx(b.thermal_violation_us, abs=1e-3)
        assert a.energy_mj - start.gpus[0].energy_mj == pytest.approx(
            b.energy_mj - start.gpus[0].energy_mj, rel=0.01
        )


def test_memory_runs_hotter_than_the_gpu_under_load_and_cooler_at_idle() -> None:
    idle = make_fleet()
    loaded = hold(idle, 900, 1.0, step_s=30.0)
    assert gpu0(idle).gpu_temp_c - 3 <= gpu0(idle).memory_temp_c < gpu0(idle).gpu_temp_c
    assert gpu0(loaded).gpu_temp_c + 3 <= gpu0(loaded).memory_temp_c <= gpu0(loaded).gpu_temp_c + 8


def test_sm_clock_sits_at_its_idle_value_at_rest() -> None:
    for model in GPU_MODEL_IDS:
        assert gpu0(make_fleet(model)).sm_clock_mhz == gpu_spec(model).idle_sm_clock_mhz


def test_sm_clock_boosts_to_its_maximum_under_moderate_load() -> None:
    spec = gpu_spec("h100-sxm")
    assert gpu0(advance(make_fleet(), 1.0, 0.5)).sm_clock_mhz == spec.max_sm_clock_mhz


def test_power_limit_pulls_the_clock_down_and_accrues_power_violation() -> None:
    spec = gpu_spec("h100-sxm")
    start = make_fleet()
    capped = advance(start, 10.0, 1.0)
    assert spec.idle_sm_clock_mhz < gpu0(capped).sm_clock_mhz < spec.max_sm_clock_mhz
    assert gpu0(capped).power_violation_us - gpu0(start).power_violation_us == pytest.approx(10e6)


def test_no_power_violation_accrues_below_the_limit() -> None:
    start = make_fleet()
    assert gpu0(hold(start, 60, 0.5)).power_violation_us == gpu0(start).power_violation_us


def test_thermal_violation_accrues_only_once_the_gpu_is_above_its_thermal_target() -> None:
    spec = gpu_spec("h100-sxm")
    start = make_fleet()
    early = advance(start, 10.0, 1.0)
    assert gpu0(early).gpu_temp_c < spec.thermal_target_c
    assert gpu0(early).thermal_violation_us == 0
    hot = hold(early, 600, 1.0)
    assert gpu0(hot).gpu_temp_c > spec.thermal_target_c
    assert gpu0(hot).thermal_violation_us > 0


def test_thermal_throttling_pulls_the_clock_below_the_power_capped_clock() -> None:
    start = make_fleet()
    power_capped_only = advance(start, 10.0, 1.0)
    also_hot = hold(start, 600, 1.0, step_s=10.0)
    assert gpu0(also_hot).sm_clock_mhz < gpu0(power_capped_only).sm_clock_mhz


def test_thermal_violation_counts_the_exact_time_above_the_target() -> None:
    start = make_fleet()
    coarse = advance(start, 600.0, 1.0)
    fine = hold(start, 600, 1.0, step_s=0.5)
    assert gpu0(coarse).thermal_violation_us == pytest.approx(gpu0(fine).thermal_violation_us, rel=1e-6)


# --- energy --------------------------------------------------------------------------------


def test_energy_increases_by_the_reported_power_held_over_the_step() -> None:
    start = make_fleet(initial_load=0.4)
    after = advance(start, 2.5, 0.8)
    for before, gpu in zip(start.gpus, after.gpus, strict=True):
        assert gpu.energy_mj - before.energy_mj == pytest.approx(gpu.power_w * 2.5 * 1000, rel=1e-9)


def test_energy_equals_the_numeric_integral_of_power_within_one_percent() -> None:
    fleet = make_fleet()
    start_mj = gpu0(fleet).energy_mj
    samples = [(0.0, gpu0(fleet).power_w)]
    for second in range(1, 301):
        fleet = advance(fleet, 1.0, 0.5 + 0.5 * math.sin(second / 20))
        samples.append((float(second), gpu0(fleet).power_w))
    trapezoid_j = sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in itertools.pairwise(samples))
    assert (gpu0(fleet).energy_mj - start_mj) / 1000 == pytest.approx(trapezoid_j, rel=0.01)


def test_energy_starts_from_a_since_boot_value() -> None:
    fleet = make_fleet()
    day_at_idle_mj = gpu_spec("h100-sxm").serving_idle_w * 86400 * 1000
    assert all(gpu.energy_mj >= 0.9 * day_at_idle_mj for gpu in fleet.gpus)


# --- memory, errors -----------------------------------------------------------------------


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_an_idle_inference_server_holds_most_of_the_memory(model: str) -> None:
    spec = gpu_spec(model)
    assert gpu0(make_fleet(model)).fb_used_mib >= round(0.9 * spec.memory_total_mib)


def test_memory_use_grows_a_little_with_load() -> None:
    fleet = make_fleet()
    idle_mib, busy_mib = gpu0(fleet).fb_used_mib, gpu0(advance(fleet, 1.0, 1.0)).fb_used_mib
    assert idle_mib < busy_mib <= idle_mib + 0.01 * gpu_spec("h100-sxm").memory_total_mib


def test_a_healthy_gpu_reports_no_xid_and_no_pcie_replays() -> None:
    fleet = hold(make_fleet(), 120, 1.0, step_s=10.0)
    assert all(gpu.xid == 0 and gpu.pcie_replay_count == 0 for gpu in fleet.gpus)


# --- steps: zero, negative, huge ----------------------------------------------------------


def test_a_zero_step_at_the_same_load_changes_nothing() -> None:
    fleet = hold(make_fleet(initial_load=0.3), 7, 0.6)
    assert advance(fleet, 0.0, 0.6) == fleet


def test_a_zero_step_moves_no_counter_or_temperature() -> None:
    fleet = make_fleet()
    after = advance(fleet, 0.0, 1.0)
    for before, gpu in zip(fleet.gpus, after.gpus, strict=True):
        assert gpu.energy_mj == before.energy_mj
        assert gpu.power_violation_us == before.power_violation_us
        assert gpu.gpu_temp_c == before.gpu_temp_c
    assert after.sim_time_s == fleet.sim_time_s


def test_a_negative_step_counts_as_zero() -> None:
    fleet = make_fleet()
    assert advance(fleet, -5.0, 1.0) == advance(fleet, 0.0, 1.0)
    assert advance(fleet, math.nan, 1.0) == advance(fleet, 0.0, 1.0)


@pytest.mark.parametrize("elapsed_s", [3 * 3600.0, 1e9, math.inf])
def test_a_huge_step_stays_finite_and_within_limits(elapsed_s: float) -> None:
    spec = gpu_spec("h100-sxm")
    after = advance(make_fleet(), elapsed_s, 1.0)
    for gpu in after.gpus:
        assert all(math.isfinite(value) for value in msgspec.structs.astuple(gpu))
        assert gpu.power_w <= spec.power_limit_w
        assert gpu.gpu_temp_c == pytest.approx(spec.load_temp_c, abs=2)


# --- any sequence of steps ----------------------------------------------------------------


class FleetMachine(RuleBasedStateMachine):
    """Any sequence of (elapsed_s, load) keeps every value inside the catalog's envelope."""

    fleet: FleetState

    @initialize(
        model=st.sampled_from(GPU_MODEL_IDS),
        num_gpus=st.integers(1, 8),
        initial_load=st.floats(0, 1),
        seed=st.integers(0, 2**64),
        instance=st.sampled_from([1, 2]),
    )
    def start(self, model: str, num_gpus: int, initial_load: float, seed: int, instance: int) -> None:
        self.fleet = make_fleet(
            model, num_gpus=num_gpus, initial_load=initial_load, seed=seed, instance=instance
        )

    @rule(
        elapsed_s=st.one_of(st.floats(0, 5), st.floats(5, 4 * 3600), st.floats(-60, 0)),
        load=st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0])),
    )
    def step(self, elapsed_s: float, load: float) -> None:
        before = self.fleet
        self.fleet = advance(before, elapsed_s, load)
        assert self.fleet.sim_time_s >= before.sim_time_s
        for old, new in zip(before.gpus, self.fleet.gpus, strict=True):
            assert new.energy_mj >= old.energy_mj
            assert new.power_violation_us >= old.power_violation_us
            assert new.thermal_violation_us >= old.thermal_violation_us
            assert new.pcie_replay_count >= old.pcie_replay_count

    @invariant()
    def within_the_catalog_envelope(self) -> None:
        spec = gpu_spec(self.fleet.identity.model_id)
        for gpu in self.fleet.gpus:
            assert 0 <= gpu.util_pct <= 100
            assert 0 <= gpu.mem_copy_util_pct <= 100
            assert 0.9 * spec.serving_idle_w <= gpu.power_w <= spec.power_limit_w
            assert spec.idle_sm_clock_mhz <= gpu.sm_clock_mhz <= spec.max_sm_clock_mhz
            assert spec.idle_temp_c - 2 <= gpu.gpu_temp_c <= spec.load_temp_c + 2
            assert gpu.gpu_temp_c - 2.5 <= gpu.memory_temp_c <= gpu.gpu_temp_c + 7.5
            for ratio in (gpu.sm_active, gpu.gr_engine_active, gpu.tensor_active, gpu.dram_active):
                assert 0 <= ratio <= 1
            assert round(0.9 * spec.memory_total_mib) <= gpu.fb_used_mib
            assert gpu.fb_used_mib + spec.memory_reserved_mib <= spec.memory_total_mib
            assert math.isfinite(gpu.energy_mj)
            assert math.isfinite(gpu.power_violation_us)
            assert math.isfinite(gpu.thermal_violation_us)
            assert gpu.xid == 0


FleetMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestFleetMachine = FleetMachine.TestCase


# --- reproducibility ----------------------------------------------------------------------

_SCENARIO_STEPS = [(1.0, 0.7), (2.5, 1.0), (30.0, 1.0), (0.3, 0.2), (600.0, 0.0)]
_SCENARIO_SCRIPT = f"""
import hashlib
from mockcore.gpu import advance, initial_fleet, render_dcgm
fleet = initial_fleet(gpu_model="h200", num_gpus=4, initial_load=0.7, hostname="h", seed=1234, instance=2)
for elapsed_s, load in {_SCENARIO_STEPS!r}:
    fleet = advance(fleet, elapsed_s, load)
print(hashlib.sha256(render_dcgm(fleet).encode()).hexdigest())
"""


def _scenario_digest_here() -> str:
    fleet = initial_fleet(gpu_model="h200", num_gpus=4, initial_load=0.7, hostname="h", seed=1234, instance=2)
    for elapsed_s, load in _SCENARIO_STEPS:
        fleet = advance(fleet, elapsed_s, load)
    return hashlib.sha256(render_dcgm(fleet).encode()).hexdigest()


def test_the_same_seed_and_steps_give_the_same_fleet() -> None:
    def run(seed: int) -> FleetState:
        fleet = make_fleet(initial_load=0.5, seed=seed)
        for elapsed_s, load in [(1.0, 0.5), (3.0, 1.0), (0.2, 0.0)]:
            fleet = advance(fleet, elapsed_s, load)
        return fleet

    assert run(99) == run(99)
    assert run(99) != run(100)


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_the_same_seed_gives_the_same_output_in_a_fresh_interpreter(hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, "-c", _SCENARIO_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    assert completed.stdout.strip() == _scenario_digest_here()


def test_per_gpu_offsets_make_gpus_of_one_fleet_differ_slightly() -> None:
    fleet = advance(make_fleet(num_gpus=4, initial_load=0.6), 1.0, 0.6)
    powers = [gpu.power_w for gpu in fleet.gpus]
    assert len(set(powers)) == len(powers)
    assert max(powers) - min(powers) < 0.1 * max(powers)


def test_a_fleet_state_survives_a_msgpack_round_trip() -> None:
    fleet = hold(make_fleet(initial_load=0.5), 3, 0.9)
    encoded = msgspec.msgpack.encode(fleet)
    assert msgspec.msgpack.decode(encoded, type=FleetState) == fleet
    assert len(encoded) < 2048


# --- traffic to load ----------------------------------------------------------------------


def test_no_traffic_is_no_load() -> None:
    assert load_from_traffic(0, 0) == 0


def test_requests_in_flight_alone_load_the_gpu_and_saturate() -> None:
    assert 0.6 < load_from_traffic(16, 0) < 0.65
    assert load_from_traffic(200, 0) > 0.999
    assert load_from_traffic(1e9, 1e12) <= 1


def test_throughput_counts_against_the_highest_seen_and_at_least_the_minimum() -> None:
    # The reference server's auto-load: the peak throughput is full load.
    assert load_from_traffic(0, 2000, peak_tokens_per_s=2000) == 1.0
    assert load_from_traffic(0, 500, peak_tokens_per_s=2000) == 0.25
    # Below --dcgm-min-throughput, the minimum is the scale (a trickle is not full load).
    assert load_from_traffic(0, 25, peak_tokens_per_s=25, min_throughput=100) == 0.25
    assert load_from_traffic(0, 250, peak_tokens_per_s=0, min_throughput=100) == 1.0
    # Whichever of the two terms is higher wins.
    assert load_from_traffic(16, 100, peak_tokens_per_s=2000) == load_from_traffic(16, 0)


def test_the_throughput_window_reaches_back_at_least_its_length() -> None:
    samples: tuple[tuple[float, int], ...] = ((0.0, 0),)
    rate, samples = windowed_throughput(samples, 0.5, 100, window_s=1.0)
    assert rate == 200.0  # only half a second of history: the rate over what there is
    rate, samples = windowed_throughput(samples, 2.0, 400, window_s=1.0)
    assert rate == 200.0  # from t=0.5, the newest sample at least 1 s old
    assert samples == ((0.5, 100), (2.0, 400))
    rate, samples = windowed_throughput(samples, 2.2, 400, window_s=1.0)
    assert rate == pytest.approx(300 / 1.7)
    rate, _ = windowed_throughput(samples, 2.2, 400, window_s=0.1)
    assert rate == 0.0  # nothing new since the scrape 0.2 s ago


def test_the_window_keeps_a_bounded_number_of_samples() -> None:
    samples: tuple[tuple[float, int], ...] = ()
    for step in range(1000):
        _, samples = windowed_throughput(samples, step * 0.001, step, window_s=60.0)
    assert len(samples) <= 64
    assert samples[0] == (0.0, 0)


@given(
    in_flight=st.floats(0, 1e4),
    tokens_per_s=st.floats(0, 1e6),
    more_in_flight=st.floats(0, 1e3),
    more_tokens_per_s=st.floats(0, 1e5),
)
@settings(max_examples=100, deadline=None)
def test_traffic_load_is_monotonic_in_requests_and_tokens(
    in_flight: float, tokens_per_s: float, more_in_flight: float, more_tokens_per_s: float
) -> None:
    base = load_from_traffic(in_flight, tokens_per_s)
    assert 0 <= base <= 1
    assert load_from_traffic(in_flight + more_in_flight, tokens_per_s) >= base
    assert load_from_traffic(in_flight, tokens_per_s + more_tokens_per_s) >= base


def test_negative_or_nan_traffic_counts_as_none() -> None:
    assert load_from_traffic(-3, math.nan) == 0


def test_without_auto_load_the_initial_load_holds_whatever_the_traffic() -> None:
    assert target_load(0.7, 0.9, traffic_seen=True, auto_load=False) == 0.7
    assert target_load(0.2, 0.0, traffic_seen=True, auto_load=False) == 0.2


def test_target_is_the_initial_load_until_traffic_is_seen() -> None:
    assert target_load(0.7, 0.0, traffic_seen=False) == 0.7
    assert target_load(0.7, 0.9, traffic_seen=False) == 0.7


def test_target_follows_traffic_once_seen_so_the_gpu_returns_to_idle() -> None:
    assert target_load(0.7, 0.9, traffic_seen=True) == 0.9
    assert target_load(0.7, 0.0, traffic_seen=True) == 0.0
