"""A small, exact physics model of the GPUs behind one DCGM instance.

Values in, values out: the caller owns the clock and the load. `advance(fleet, elapsed_s, load)`
holds the load constant over the step and integrates exactly, so one 10 s step and ten 1 s steps
end in the same temperatures and counters (up to the per-second jitter of the power reading).
Which load to pass (initial load until traffic, then the traffic) is `mockcore.gpu.load`'s rule.

The model, per GPU:
- Utilisation and the PROF_* activity ratios follow the load at once (NVML averages them over
  well under a second), with the ratios of a real busy A100 at full load.
- Power is demanded linearly from the serving idle draw up to 8% past the power limit at full
  load, and capped at the limit; while capped, POWER_VIOLATION accrues the whole step and the
  SM clock is pulled down by the cube root of the shortfall (dynamic power ~ f * V^2, V ~ f).
- GPU temperature relaxes exponentially (time constant `THERMAL_TIME_CONSTANT_S`) toward a
  steady state linear in power, from the idle to the heavy-load temperature of the catalog.
  Above the thermal target the clock is pulled down further and THERMAL_VIOLATION accrues the
  exact time spent above it. HBM runs 2 degrees under the GPU when cold and 7 above when hot.
- Energy integrates the reported power over the step exactly (the reading is held over it).
- Framebuffer: the server holds its weights and pre-allocated KV cache (90% of memory, as
  vLLM's default) plus a small load-dependent workspace, so FB_USED is high even at idle.
- ENC/DEC utilisation, XID and the PCIe replay counter stay 0: an LLM server does not use the
  video engines and a healthy GPU reports no errors.

With `--engine`, the engine's work replaces the generic load where it knows better (`GpuWork`,
`held_bytes`): power is demanded per FLOP and per byte the steps achieve (`engine_demand_ratio`),
PIPE_TENSOR_ACTIVE and DRAM_ACTIVE are the achieved shares of peak FLOP/s and bandwidth, and
FB_USED is the weights and KV blocks in use plus a fixed runtime overhead (`engine_fb_used_mib`).
The load (the engine's busy fraction) still sets utilisation, SM/GR activity and boost.
"""

import math

import msgspec

from mockcore.gpu.catalog import GpuSpec, gpu_spec
from mockcore.gpu.identity import FleetIdentity, GpuIdentity, fleet_identity, replica_gpu_seed
from mockcore.gpu.noise import seeded_fraction, seeded_signed_unit

# A GPU package with its heatsink heats and cools over tens of seconds: a step to full load
# reaches 63% of its temperature rise in this time, 95% in three times it.
THERMAL_TIME_CONSTANT_S = 45.0
# Demand at full load is this fraction above the power limit, so a fully loaded GPU sits at its
# cap (as LLM serving GPUs do) and the power limiter visibly takes clock away.
FULL_LOAD_DEMAND_RATIO = 1.08
# The SM clock reaches its maximum boost from this load up; below it, boost is proportional.
FULL_BOOST_LOAD = 0.25
# Clock lost per degree above the thermal target, and the floor of that loss.
THERMAL_CLOCK_LOSS_PER_C = 0.015
THERMAL_CLOCK_FLOOR_RATIO = 0.9
# HBM temperature relative to the GPU: below it when cold, above it when hot.
MEMORY_TEMP_DELTA_COLD_C = -2.0
MEMORY_TEMP_DELTA_HOT_C = 7.0
# Activity ratios at full load, from a real busy A100 (GR 0.9956, tensor 0.9293, DRAM 0.6908).
GR_ENGINE_ACTIVE_AT_FULL_LOAD = 0.9956
SM_ACTIVE_AT_FULL_LOAD = 0.95
TENSOR_ACTIVE_AT_FULL_LOAD = 0.9293
DRAM_ACTIVE_AT_FULL_LOAD = 0.6908
# MEM_COPY_UTIL (% of time memory is read or written) relative to DRAM_ACTIVE.
MEM_COPY_UTIL_PER_DRAM_ACTIVE = 90.0
# Share of memory the inference server holds at rest, and the extra workspace at full load.
SERVER_MEMORY_FRACTION = 0.90
WORKSPACE_MEMORY_FRACTION = 0.005
# Jitter amplitudes: power reading, power reading while capped (always just under the limit),
# and activity (utilisation and ratios).
POWER_JITTER_RATIO = 0.008
CAPPED_POWER_JITTER_RATIO = 0.004
ACTIVITY_JITTER_RATIO = 0.01
# A step longer than this is treated as this long: a clock that jumped by more than a year is
# broken, and capping keeps every counter finite.
MAX_STEP_S = 365.0 * 86400.0
# Energy counters start at a seeded "since boot" value: the GPU has idled this long before.
_MIN_UPTIME_S = 86400.0
_MAX_UPTIME_S = 30 * 86400.0
_MJ_PER_J = 1000.0
_US_PER_S = 1e6
_BYTES_PER_MIB = 1024.0 * 1024.0

# With the engine, demand = serving idle + headroom x (energy per FLOP x FLOP/s + energy per byte
# x bytes/s), expressed through two anchors (docs/gpu-telemetry.md cites the measurements):
# - doing this share of the peak dense BF16 FLOP/s demands what full load demands (the limit and
#   a little past it): tensor cores kept busy by large prefill GEMMs, at the engine's default MFU,
#   run a Hopper GPU into its power cap;
# - streaming the whole peak memory bandwidth with no arithmetic demands this share of the
#   headroom: memory-bound decode leaves most of it unused (an H200 at 80 % of its bandwidth:
#   120 W + 0.28 x 580 W = 282 W, where 137-300 W are measured).
COMPUTE_UTIL_AT_FULL_DEMAND = 0.5
BANDWIDTH_DEMAND_AT_PEAK = 0.35
# What the serving process holds on each GPU besides the weights and KV blocks: the CUDA context
# (about 0.5 GiB), the activation peak of a full token budget (about 1.2 GiB at 8192 tokens for
# an 8B model) and the captured CUDA graphs (a few hundred MiB), as vLLM's start-up profile shows.
RUNTIME_OVERHEAD_MIB = 2048


class GpuState(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What one GPU shows at the end of a step; counters are cumulative since boot."""

    load: float
    util_pct: float
    mem_copy_util_pct: float
    power_w: float
    gpu_temp_c: float
    memory_temp_c: float
    sm_clock_mhz: float
    energy_mj: float
    power_violation_us: float
    thermal_violation_us: float
    fb_used_mib: int
    pcie_replay_count: int
    xid: int
    sm_active: float
    gr_engine_active: float
    tensor_active: float
    dram_active: float


class GpuWork(msgspec.Struct, frozen=True, kw_only=True):
    """What the engine's steps achieved over the last window, as shares of the GPUs' peak rates."""

    compute_util: float
    bandwidth_util: float


class FleetState(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """The GPUs of one DCGM instance at a simulated time (msgpack-encodable for shared memory)."""

    identity: FleetIdentity
    sim_time_s: float
    gpus: tuple[GpuState, ...]


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _sanitised_step_s(elapsed_s: float) -> float:
    """A usable step: NaN and negative as 0 (clocks of two workers may disagree), capped."""
    if not elapsed_s > 0.0:
        return 0.0
    return min(elapsed_s, MAX_STEP_S)


def _gpu_load(gpu: GpuIdentity, fleet_load: float) -> float:
    """This GPU's share of the fleet's load: skewed a little at partial load, exact at 0 and 1."""
    return _clamp(fleet_load * (1.0 + gpu.load_skew * (1.0 - fleet_load)), 0.0, 1.0)


def _demand_w(spec: GpuSpec, gpu: GpuIdentity, load: float) -> float:
    """Power the work would draw without a limit."""
    headroom_w = spec.power_limit_w - spec.serving_idle_w
    return spec.serving_idle_w + headroom_w * FULL_LOAD_DEMAND_RATIO * load * gpu.power_scale


def _unit_interval(value: float) -> float:
    """Clamp to [0, 1], with NaN as 0."""
    return 0.0 if math.isnan(value) else _clamp(value, 0.0, 1.0)


def engine_demand_ratio(compute_util: float, bandwidth_util: float) -> float:
    """The share of the idle-to-limit headroom the engine's work demands, in [0, FULL_LOAD_DEMAND_RATIO].

    Dynamic power is energy per operation times operations per second, so the demand adds a
    term linear in the FLOP/s and one linear in the bytes/s; it never asks more than full load
    does, so the power limiter and the clock behave at the top as they do without the engine.
    """
    compute = FULL_LOAD_DEMAND_RATIO * _unit_interval(compute_util) / COMPUTE_UTIL_AT_FULL_DEMAND
    bandwidth = BANDWIDTH_DEMAND_AT_PEAK * _unit_interval(bandwidth_util)
    return min(FULL_LOAD_DEMAND_RATIO, compute + bandwidth)


def _gpu_work(gpu: GpuIdentity, work: GpuWork) -> GpuWork:
    """This GPU's share of the engine's work, skewed as its load is."""
    return GpuWork(
        compute_util=_gpu_load(gpu, _unit_interval(work.compute_util)),
        bandwidth_util=_gpu_load(gpu, _unit_interval(work.bandwidth_util)),
    )


def _engine_demand_w(spec: GpuSpec, gpu: GpuIdentity, work: GpuWork) -> float:
    """Power this GPU's share of the engine's work would draw without a limit."""
    headroom_w = spec.power_limit_w - spec.serving_idle_w
    ratio = engine_demand_ratio(work.compute_util, work.bandwidth_util)
    return spec.serving_idle_w + headroom_w * ratio * gpu.power_scale


def _steady_temp_c(spec: GpuSpec, gpu: GpuIdentity, power_w: float) -> float:
    """Temperature the GPU settles at when drawing this power for long enough."""
    headroom_w = spec.power_limit_w - spec.serving_idle_w
    power_fraction = _clamp((power_w - spec.serving_idle_w) / headroom_w, 0.0, 1.0)
    rise_c = (spec.load_temp_c - spec.idle_temp_c) * power_fraction
    return spec.idle_temp_c + rise_c + gpu.temp_offset_c


def _relaxed_temp_c(start_c: float, steady_c: float, step_s: float) -> float:
    """Exact exponential relaxation; a zero step returns the start bit for bit."""
    return start_c + (steady_c - start_c) * -math.expm1(-step_s / THERMAL_TIME_CONSTANT_S)


def _time_above_s(start_c: float, steady_c: float, threshold_c: float, step_s: float) -> float:
    """How long, within the step, the relaxing temperature stays above the threshold."""
    start_above = start_c > threshold_c
    steady_above = steady_c > threshold_c
    if start_above and steady_above:
        return step_s
    if not start_above and not steady_above:
        return 0.0
    if steady_c == threshold_c:
        return step_s  # cooling toward the threshold itself never crosses it
    crossing_s = THERMAL_TIME_CONSTANT_S * math.log((start_c - steady_c) / (threshold_c - steady_c))
    return min(step_s, crossing_s) if start_above else max(0.0, step_s - crossing_s)


def _memory_temp_c(spec: GpuSpec, gpu: GpuIdentity, gpu_temp_c: float) -> float:
    """HBM temperature: it shares the package, slightly cooler when cold and hotter when hot."""
    heat = _clamp(
        (gpu_temp_c - spec.idle_temp_c - gpu.temp_offset_c) / (spec.load_temp_c - spec.idle_temp_c),
        0.0,
        1.0,
    )
    delta_c = MEMORY_TEMP_DELTA_COLD_C + (MEMORY_TEMP_DELTA_HOT_C - MEMORY_TEMP_DELTA_COLD_C) * heat
    return gpu_temp_c + delta_c


def _sm_clock_mhz(spec: GpuSpec, load: float, demand_w: float, gpu_temp_c: float) -> float:
    """Boost with load, then the power limiter and the thermal target take clock away."""
    if load <= 0.0:
        return float(spec.idle_sm_clock_mhz)
    boost_range_mhz = spec.max_sm_clock_mhz - spec.idle_sm_clock_mhz
    clock_mhz = spec.idle_sm_clock_mhz + boost_range_mhz * min(1.0, load / FULL_BOOST_LOAD)
    if demand_w > spec.power_limit_w:
        headroom_w = spec.power_limit_w - spec.serving_idle_w
        clock_mhz *= (headroom_w / (demand_w - spec.serving_idle_w)) ** (1.0 / 3.0)
    if gpu_temp_c > spec.thermal_target_c:
        loss = THERMAL_CLOCK_LOSS_PER_C * (gpu_temp_c - spec.thermal_target_c)
        clock_mhz *= max(THERMAL_CLOCK_FLOOR_RATIO, 1.0 - loss)
    return _clamp(clock_mhz, spec.idle_sm_clock_mhz, spec.max_sm_clock_mhz)


def _power_reading_w(spec: GpuSpec, mean_w: float, capped: bool, jitter: float) -> float:
    """The power NVML reports: the mean plus jitter, never above the limit."""
    if capped:
        return spec.power_limit_w * (1.0 - CAPPED_POWER_JITTER_RATIO * (1.0 + jitter) / 2.0)
    return min(spec.power_limit_w, mean_w * (1.0 + POWER_JITTER_RATIO * jitter))


def _fb_used_mib(spec: GpuSpec, gpu: GpuIdentity, load: float) -> int:
    """Weights and KV cache held at all times, plus a workspace that grows with load."""
    held_mib = SERVER_MEMORY_FRACTION * spec.memory_total_mib + gpu.fb_extra_mib
    workspace_mib = WORKSPACE_MEMORY_FRACTION * spec.memory_total_mib * load
    usable_mib = spec.memory_total_mib - spec.memory_reserved_mib
    return min(usable_mib, round(held_mib + workspace_mib))


def engine_fb_used_mib(spec: GpuSpec, held_bytes: float) -> int:
    """FB_USED with the engine: what the model holds on the GPU plus the runtime overhead, capped as usual.

    `held_bytes` is the GPU's shard of the weights and of the KV blocks in use (NaN and
    negatives as nothing).
    """
    held_mib = 0.0 if math.isnan(held_bytes) else max(0.0, held_bytes) / _BYTES_PER_MIB
    usable_mib = spec.memory_total_mib - spec.memory_reserved_mib
    return min(usable_mib, round(held_mib + RUNTIME_OVERHEAD_MIB))


def _next_gpu_state(
    spec: GpuSpec,
    identity: FleetIdentity,
    gpu: GpuIdentity,
    previous: GpuState,
    *,
    step_s: float,
    fleet_load: float,
    noise_bucket: int,
    work: GpuWork | None = None,
    held_bytes: float | None = None,
) -> GpuState:
    """One GPU after holding `fleet_load` (and the engine's `work`, if given) for `step_s` seconds."""
    seed, instance = identity.seed, identity.instance
    load = _gpu_load(gpu, fleet_load)

    gpu_work = None if work is None else _gpu_work(gpu, work)
    demand_w = _demand_w(spec, gpu, load) if gpu_work is None else _engine_demand_w(spec, gpu, gpu_work)
    capped = demand_w > spec.power_limit_w
    mean_power_w = min(demand_w, spec.power_limit_w)
    power_jitter = seeded_signed_unit(seed, "power-jitter", instance, gpu.index, noise_bucket)
    power_w = _power_reading_w(spec, mean_power_w, capped, power_jitter)

    steady_c = _steady_temp_c(spec, gpu, mean_power_w)
    gpu_temp_c = _relaxed_temp_c(previous.gpu_temp_c, steady_c, step_s)
    thermal_s = _time_above_s(previous.gpu_temp_c, steady_c, spec.thermal_target_c, step_s)

    activity_jitter = seeded_signed_unit(seed, "activity-jitter", instance, gpu.index, noise_bucket)
    jitter_scale = 1.0 + ACTIVITY_JITTER_RATIO * activity_jitter
    activity = _clamp(load * jitter_scale, 0.0, 1.0)
    if gpu_work is None:
        tensor_active = TENSOR_ACTIVE_AT_FULL_LOAD * activity
        dram_active = DRAM_ACTIVE_AT_FULL_LOAD * activity
    else:
        tensor_active = _clamp(gpu_work.compute_util * jitter_scale, 0.0, 1.0)
        dram_active = _clamp(gpu_work.bandwidth_util * jitter_scale, 0.0, 1.0)
    if held_bytes is None:
        fb_used_mib = _fb_used_mib(spec, gpu, load)
    else:
        fb_used_mib = engine_fb_used_mib(spec, held_bytes)

    return GpuState(
        load=load,
        util_pct=100.0 * activity,
        mem_copy_util_pct=MEM_COPY_UTIL_PER_DRAM_ACTIVE * dram_active,
        power_w=power_w,
        gpu_temp_c=gpu_temp_c,
        memory_temp_c=_memory_temp_c(spec, gpu, gpu_temp_c),
        sm_clock_mhz=_sm_clock_mhz(spec, load, demand_w, gpu_temp_c),
        energy_mj=previous.energy_mj + power_w * step_s * _MJ_PER_J,
        power_violation_us=previous.power_violation_us + (step_s * _US_PER_S if capped else 0.0),
        thermal_violation_us=previous.thermal_violation_us + thermal_s * _US_PER_S,
        fb_used_mib=fb_used_mib,
        pcie_replay_count=previous.pcie_replay_count,
        xid=0,
        sm_active=SM_ACTIVE_AT_FULL_LOAD * activity,
        gr_engine_active=GR_ENGINE_ACTIVE_AT_FULL_LOAD * activity,
        tensor_active=tensor_active,
        dram_active=dram_active,
    )


def _noise_bucket(sim_time_s: float) -> int:
    """Jitter changes once per simulated second, however the time was stepped through."""
    return math.floor(sim_time_s)


def advance(
    fleet: FleetState,
    elapsed_s: float,
    load: float,
    *,
    work: GpuWork | None = None,
    held_bytes: float | None = None,
) -> FleetState:
    """The fleet after `elapsed_s` seconds at `load` (0 idle, 1 full); pure and deterministic.

    A negative or NaN step counts as zero, and a step longer than `MAX_STEP_S` as that long;
    the load is clamped to [0, 1] with NaN as idle. Counters never decrease. With the engine,
    `work` (what its steps achieved) drives power and the tensor and DRAM activity, and
    `held_bytes` (each GPU's shard of the weights and KV blocks in use) the framebuffer.
    """
    step_s = _sanitised_step_s(elapsed_s)
    fleet_load = 0.0 if math.isnan(load) else _clamp(load, 0.0, 1.0)
    identity = fleet.identity
    spec = gpu_spec(identity.model_id)
    sim_time_s = fleet.sim_time_s + step_s
    bucket = _noise_bucket(sim_time_s)
    return FleetState(
        identity=identity,
        sim_time_s=sim_time_s,
        gpus=tuple(
            _next_gpu_state(
                spec,
                identity,
                gpu,
                previous,
                step_s=step_s,
                fleet_load=fleet_load,
                noise_bucket=bucket,
                work=work,
                held_bytes=held_bytes,
            )
            for gpu, previous in zip(identity.gpus, fleet.gpus, strict=True)
        ),
    )


def _settled_gpu_state(spec: GpuSpec, identity: FleetIdentity, gpu: GpuIdentity, load: float) -> GpuState:
    """A GPU that has run at `load` long enough to reach its steady temperature."""
    mean_power_w = min(_demand_w(spec, gpu, load), spec.power_limit_w)
    uptime_s = _MIN_UPTIME_S + (_MAX_UPTIME_S - _MIN_UPTIME_S) * seeded_fraction(
        identity.seed, "uptime", identity.instance, gpu.index
    )
    steady_c = _steady_temp_c(spec, gpu, mean_power_w)
    return GpuState(
        load=load,
        util_pct=0.0,
        mem_copy_util_pct=0.0,
        power_w=mean_power_w,
        gpu_temp_c=steady_c,
        memory_temp_c=_memory_temp_c(spec, gpu, steady_c),
        sm_clock_mhz=float(spec.idle_sm_clock_mhz),
        energy_mj=spec.serving_idle_w * gpu.power_scale * uptime_s * _MJ_PER_J,
        power_violation_us=0.0,
        thermal_violation_us=0.0,
        fb_used_mib=_fb_used_mib(spec, gpu, load),
        pcie_replay_count=0,
        xid=0,
        sm_active=0.0,
        gr_engine_active=0.0,
        tensor_active=0.0,
        dram_active=0.0,
    )


def initial_fleet(
    *,
    gpu_model: str,
    num_gpus: int,
    initial_load: float,
    hostname: str,
    seed: int,
    instance: int,
    replica_name: str = "",
) -> FleetState:
    """The fleet of one DCGM instance at simulated time 0, settled at `initial_load`.

    `seed` is required: when `--dcgm-seed` is unset the caller draws one (once, shared by all
    workers), so this function stays deterministic. A `replica_name` gives a replica its own
    GPUs (ids, offsets and noise) for the same seed; without one the fleet is the seed's alone.
    """
    spec = gpu_spec(gpu_model)
    identity = fleet_identity(
        model_id=spec.model_id,
        num_gpus=num_gpus,
        hostname=hostname,
        seed=replica_gpu_seed(seed, replica_name),
        instance=instance,
    )
    load = _clamp(initial_load, 0.0, 1.0)
    settled = FleetState(
        identity=identity,
        sim_time_s=0.0,
        gpus=tuple(_settled_gpu_state(spec, identity, gpu, _gpu_load(gpu, load)) for gpu in identity.gpus),
    )
    # A zero step fills in every reading from the settled temperatures and counters.
    return advance(settled, 0.0, load)
