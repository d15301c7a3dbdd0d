"""Physical facts of every GPU model the mock can impersonate.

The figures come from `gpu-catalog.md` (public `nvidia-smi` captures, dcgm-exporter output and
vendor spec pages). They bound the physics model: nothing it reports may leave the envelope a
real card of that model could show.
"""

from types import MappingProxyType

import msgspec

# A GPU hosting an inference server idles higher than a bare GPU: the H100 SXM draws about 68 W
# with no process and 112-117 W with vLLM loaded (CUDA context, resident weights, a pre-allocated
# KV cache and a polling scheduler keep it out of its deepest idle state). That is about 1.6x the
# bare figure; `GpuSpec.serving_idle_w` applies the same ratio to every model.
SERVING_IDLE_RATIO = 1.6

# Degrees under the heavy-load temperature where boost starts to be cut to hold the GPU at its
# target. Sustained full load then shows thermal throttling too, as densely packed inference
# nodes do in practice; short bursts do not reach it.
THERMAL_TARGET_MARGIN_C = 3.0


class GpuSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One GPU model: identity, memory, power, clocks and temperatures."""

    model_id: str
    nvml_name: str
    memory_total_mib: int
    memory_reserved_mib: int
    power_limit_w: float
    bare_idle_w: float
    max_sm_clock_mhz: int
    max_mem_clock_mhz: int
    idle_sm_clock_mhz: int
    idle_temp_c: float
    load_temp_c: float
    bf16_dense_tflops: float
    memory_bandwidth_gb_s: float

    @property
    def serving_idle_w(self) -> float:
        """Idle draw while an inference server holds the GPU (what the mock reports at rest)."""
        return round(self.bare_idle_w * SERVING_IDLE_RATIO, 1)

    @property
    def thermal_target_c(self) -> float:
        """GPU temperature above which the clock is pulled down and thermal violation accrues."""
        return self.load_temp_c - THERMAL_TARGET_MARGIN_C


# Reserved framebuffer is measured at about 550 MiB on H100 and 700 MiB on H200. The other values
# are estimates that grow with memory size and generation, as the driver's reservation does:
# RTX 6000 Ada 400, A100 500, B200 880, GB200 900 MiB.
_SPECS: tuple[GpuSpec, ...] = (
    GpuSpec(
        model_id="rtx6000",
        nvml_name="NVIDIA RTX 6000 Ada Generation",
        memory_total_mib=49140,
        memory_reserved_mib=400,
        power_limit_w=300.0,
        bare_idle_w=20.0,
        max_sm_clock_mhz=3105,
        max_mem_clock_mhz=10001,
        idle_sm_clock_mhz=210,
        idle_temp_c=35.0,
        load_temp_c=80.0,
        bf16_dense_tflops=364.0,
        memory_bandwidth_gb_s=960.0,
    ),
    GpuSpec(
        model_id="a100",
        nvml_name="NVIDIA A100-SXM4-80GB",
        memory_total_mib=81920,
        memory_reserved_mib=500,
        power_limit_w=400.0,
        bare_idle_w=60.0,
        max_sm_clock_mhz=1410,
        max_mem_clock_mhz=1593,
        idle_sm_clock_mhz=210,
        idle_temp_c=30.0,
        load_temp_c=64.0,
        bf16_dense_tflops=312.0,
        memory_bandwidth_gb_s=2039.0,
    ),
    GpuSpec(
        model_id="h100",
        nvml_name="NVIDIA H100 PCIe",
        memory_total_mib=81559,
        memory_reserved_mib=550,
        power_limit_w=350.0,
        bare_idle_w=47.0,
        max_sm_clock_mhz=1755,
        max_mem_clock_mhz=1593,
        idle_sm_clock_mhz=345,
        idle_temp_c=30.0,
        load_temp_c=65.0,
        bf16_dense_tflops=756.0,
        memory_bandwidth_gb_s=2000.0,
    ),
    GpuSpec(
        model_id="h100-sxm",
        nvml_name="NVIDIA H100 80GB HBM3",
        memory_total_mib=81559,
        memory_reserved_mib=550,
        power_limit_w=700.0,
        bare_idle_w=70.0,
        max_sm_clock_mhz=1980,
        max_mem_clock_mhz=2619,
        idle_sm_clock_mhz=345,
        idle_temp_c=30.0,
        load_temp_c=71.0,
        bf16_dense_tflops=989.0,
        memory_bandwidth_gb_s=3350.0,
    ),
    GpuSpec(
        model_id="h200",
        nvml_name="NVIDIA H200",
        memory_total_mib=143771,
        memory_reserved_mib=700,
        power_limit_w=700.0,
        bare_idle_w=75.0,
        max_sm_clock_mhz=1980,
        max_mem_clock_mhz=3201,
        idle_sm_clock_mhz=345,
        idle_temp_c=28.0,
        load_temp_c=70.0,
        bf16_dense_tflops=989.0,
        memory_bandwidth_gb_s=4800.0,
    ),
    GpuSpec(
        model_id="b200",
        nvml_name="NVIDIA B200",
        memory_total_mib=183359,
        memory_reserved_mib=880,
        power_limit_w=1000.0,
        bare_idle_w=140.0,
        max_sm_clock_mhz=1965,
        max_mem_clock_mhz=3996,
        idle_sm_clock_mhz=120,
        idle_temp_c=30.0,
        load_temp_c=75.0,
        bf16_dense_tflops=2250.0,
        memory_bandwidth_gb_s=7700.0,
    ),
    GpuSpec(
        model_id="gb200",
        nvml_name="NVIDIA GB200",
        memory_total_mib=189471,
        memory_reserved_mib=900,
        power_limit_w=1200.0,
        bare_idle_w=160.0,
        max_sm_clock_mhz=2062,
        max_mem_clock_mhz=3996,
        idle_sm_clock_mhz=120,
        idle_temp_c=30.0,
        load_temp_c=75.0,
        bf16_dense_tflops=2500.0,
        memory_bandwidth_gb_s=8000.0,
    ),
)

GPU_SPECS: MappingProxyType[str, GpuSpec] = MappingProxyType({spec.model_id: spec for spec in _SPECS})


def gpu_spec(model_id: str) -> GpuSpec:
    """The spec of a model id as `--dcgm-gpu-name` spells it.

    Raises:
        ValueError: the id is not in the catalog (the message lists the valid ids).
    """
    try:
        return GPU_SPECS[model_id]
    except KeyError:
        valid = ", ".join(GPU_SPECS)
        raise ValueError(f"unknown GPU model {model_id!r}; expected one of: {valid}") from None
