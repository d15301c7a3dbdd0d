"""A fleet as dcgm-exporter 4.x writes it: Prometheus text exposition, byte for byte.

Per field: `# HELP`, then `# TYPE`, then one sample per GPU with the labels in dcgm-exporter's
order. Integer fields print plain, double fields (power, power limit, PROF_* ratios) with six
decimals, as dcgm-exporter formats them. HELP texts and types are those of dcgm-exporter's
`etc/default-counters.csv` and `etc/dcp-metrics-included.csv`; FB_TOTAL and POWER_MGMT_LIMIT,
which those files leave out, follow their wording.
"""

import math
from collections.abc import Callable
from typing import Literal

import msgspec

from mockcore.gpu.catalog import GpuSpec, gpu_spec
from mockcore.gpu.identity import FleetIdentity, GpuIdentity
from mockcore.gpu.physics import FleetState, GpuState

DCGM_CONTENT_TYPE = "text/plain; version=0.0.4"

MetricType = Literal["gauge", "counter"]
_Reading = Callable[[GpuSpec, GpuState], str]


class DcgmField(msgspec.Struct, frozen=True):
    """One exported field: its name, Prometheus type and HELP text."""

    name: str
    metric_type: MetricType
    help_text: str
    is_float: bool


def _plain(value: float) -> str:
    """An integer field: rounded to the nearest integer, printed without decimals."""
    return str(round(value))


def _floored(value: float) -> str:
    """A cumulative counter: floored, so the printed value never runs ahead or back."""
    return str(math.floor(value))


def _six_decimals(value: float) -> str:
    return f"{value:.6f}"


def _fb_free_mib(spec: GpuSpec, gpu: GpuState) -> int:
    return spec.memory_total_mib - spec.memory_reserved_mib - gpu.fb_used_mib


# Field order follows dcgm-exporter's default counters file; the extra fields come last.
_FIELDS_AND_READINGS: tuple[tuple[DcgmField, _Reading], ...] = (
    (
        DcgmField("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", False),
        lambda spec, gpu: _plain(gpu.sm_clock_mhz),
    ),
    (
        DcgmField("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", False),
        lambda spec, gpu: str(spec.max_mem_clock_mhz),
    ),
    (
        DcgmField("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", False),
        lambda spec, gpu: _plain(gpu.memory_temp_c),
    ),
    (
        DcgmField("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", False),
        lambda spec, gpu: _plain(gpu.gpu_temp_c),
    ),
    (
        DcgmField("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", True),
        lambda spec, gpu: _six_decimals(gpu.power_w),
    ),
    (
        DcgmField(
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
            "counter",
            "Total energy consumption since boot (in mJ).",
            False,
        ),
        lambda spec, gpu: _floored(gpu.energy_mj),
    ),
    (
        DcgmField("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", False),
        lambda spec, gpu: str(gpu.pcie_replay_count),
    ),
    (
        DcgmField("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", False),
        lambda spec, gpu: _plain(gpu.util_pct),
    ),
    (
        DcgmField("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", False),
        lambda spec, gpu: _plain(gpu.mem_copy_util_pct),
    ),
    (
        DcgmField("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", False),
        lambda spec, gpu: "0",
    ),
    (
        DcgmField("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", False),
        lambda spec, gpu: "0",
    ),
    (
        DcgmField("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", False),
        lambda spec, gpu: str(gpu.xid),
    ),
    (
        DcgmField(
            "DCGM_FI_DEV_POWER_VIOLATION",
            "counter",
            "Throttling duration due to power constraints (in us).",
            False,
        ),
        lambda spec, gpu: _floored(gpu.power_violation_us),
    ),
    (
        DcgmField(
            "DCGM_FI_DEV_THERMAL_VIOLATION",
            "counter",
            "Throttling duration due to thermal constraints (in us).",
            False,
        ),
        lambda spec, gpu: _floored(gpu.thermal_violation_us),
    ),
    (
        DcgmField("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", False),
        lambda spec, gpu: str(_fb_free_mib(spec, gpu)),
    ),
    (
        DcgmField("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", False),
        lambda spec, gpu: str(gpu.fb_used_mib),
    ),
    (
        DcgmField("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).", False),
        lambda spec, gpu: str(spec.memory_reserved_mib),
    ),
    (
        DcgmField("DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).", False),
        lambda spec, gpu: str(spec.memory_total_mib),
    ),
    (
        DcgmField("DCGM_FI_DEV_POWER_MGMT_LIMIT", "gauge", "Power management limit (in W).", True),
        lambda spec, gpu: _six_decimals(spec.power_limit_w),
    ),
    (
        DcgmField(
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", True
        ),
        lambda spec, gpu: _six_decimals(gpu.gr_engine_active),
    ),
    (
        DcgmField(
            "DCGM_FI_PROF_SM_ACTIVE", "gauge", "The ratio of cycles an SM has at least 1 warp assigned.", True
        ),
        lambda spec, gpu: _six_decimals(gpu.sm_active),
    ),
    (
        DcgmField(
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
            "gauge",
            "Ratio of cycles the tensor (HMMA) pipe is active.",
            True,
        ),
        lambda spec, gpu: _six_decimals(gpu.tensor_active),
    ),
    (
        DcgmField(
            "DCGM_FI_PROF_DRAM_ACTIVE",
            "gauge",
            "Ratio of cycles the device memory interface is active sending or receiving data.",
            True,
        ),
        lambda spec, gpu: _six_decimals(gpu.dram_active),
    ),
)

DCGM_FIELDS: tuple[DcgmField, ...] = tuple(field for field, _ in _FIELDS_AND_READINGS)

_XID_FIELD = "DCGM_FI_DEV_XID_ERRORS"
_XID_EXTRA_LABELS = ',err_code="0",err_msg="No Error"'


def _escape_label_value(value: str) -> str:
    """Escape as the exposition format requires: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _label_body(identity: FleetIdentity, spec: GpuSpec, gpu: GpuIdentity) -> str:
    """The labels of one GPU, in dcgm-exporter's order, without the closing brace."""
    pairs = (
        ("gpu", str(gpu.index)),
        ("UUID", gpu.uuid),
        ("pci_bus_id", gpu.pci_bus_id),
        ("device", gpu.device),
        ("modelName", spec.nvml_name),
        ("Hostname", identity.hostname),
        ("DCGM_FI_DRIVER_VERSION", identity.driver_version),
    )
    return "{" + ",".join(f'{name}="{_escape_label_value(value)}"' for name, value in pairs)


class DcgmRenderer:
    """Renders states of one fleet; the label sets and headers are built once, at construction.

    Build one per DCGM instance and reuse it on every scrape of that instance.
    """

    __slots__ = ("_headers", "_identity", "_prefixes", "_spec")

    def __init__(self, identity: FleetIdentity) -> None:
        self._identity = identity
        self._spec = gpu_spec(identity.model_id)
        bodies = [_label_body(identity, self._spec, gpu) for gpu in identity.gpus]
        self._headers = tuple(
            f"# HELP {field.name} {field.help_text}\n# TYPE {field.name} {field.metric_type}\n"
            for field in DCGM_FIELDS
        )
        # Per field, per GPU: the metric name and its full label set up to the value.
        self._prefixes = tuple(
            tuple(
                f"{field.name}{body}{_XID_EXTRA_LABELS if field.name == _XID_FIELD else ''}}} "
                for body in bodies
            )
            for field in DCGM_FIELDS
        )

    def render(self, fleet: FleetState) -> str:
        """The exposition text of this fleet's state.

        Raises:
            ValueError: the state belongs to another fleet (its labels would be wrong).
        """
        if fleet.identity != self._identity:
            raise ValueError("this renderer was built for another fleet")
        spec = self._spec
        parts: list[str] = []
        for (_, reading), header, prefixes in zip(
            _FIELDS_AND_READINGS, self._headers, self._prefixes, strict=True
        ):
            parts.append(header)
            for prefix, gpu in zip(prefixes, fleet.gpus, strict=True):
                parts.append(prefix)
                parts.append(reading(spec, gpu))
                parts.append("\n")
        return "".join(parts)


def render_dcgm(fleet: FleetState) -> str:
    """The exposition text of a fleet, building the labels afresh (use a renderer to reuse them)."""
    return DcgmRenderer(fleet.identity).render(fleet)
