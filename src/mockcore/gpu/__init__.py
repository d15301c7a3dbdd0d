"""Simulated GPU telemetry: the GPU catalog, a pure physics model and dcgm-exporter rendering.

The HTTP layer keeps one `FleetState` per DCGM instance in shared state, advances it with the
elapsed wall time and the live load on every scrape, and renders it with a `DcgmRenderer`.
"""

from mockcore.gpu.catalog import GPU_SPECS, GpuSpec, gpu_spec
from mockcore.gpu.dcgm import DCGM_CONTENT_TYPE, DCGM_FIELDS, DcgmField, DcgmRenderer, render_dcgm
from mockcore.gpu.identity import DRIVER_VERSION, FleetIdentity, GpuIdentity
from mockcore.gpu.load import load_from_traffic, target_load, throughput_load, windowed_throughput
from mockcore.gpu.physics import FleetState, GpuState, advance, initial_fleet

__all__ = [
    "DCGM_CONTENT_TYPE",
    "DCGM_FIELDS",
    "DRIVER_VERSION",
    "GPU_SPECS",
    "DcgmField",
    "DcgmRenderer",
    "FleetIdentity",
    "FleetState",
    "GpuIdentity",
    "GpuSpec",
    "GpuState",
    "advance",
    "gpu_spec",
    "initial_fleet",
    "load_from_traffic",
    "render_dcgm",
    "target_load",
    "throughput_load",
    "windowed_throughput",
]
