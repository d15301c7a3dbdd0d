"""Plot the pure GPU model through idle -> full load -> idle, into docs/images/gpu-model.png.

Run from the repository root with matplotlib installed (`pip install "matplotlib>=3.8"`):

    .venv/bin/python docs/plot_gpu_model.py

The model is driven exactly as the server drives it on 1 s scrapes: `advance(fleet, 1.0, load)`.
"""

from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")  # no display needed

import matplotlib.pyplot as plt

from mockcore.gpu import advance, gpu_spec, initial_fleet

GPU_MODEL = "h200"
PHASES_S = (("idle", 60, 0.0), ("full load", 180, 1.0), ("idle", 240, 0.0))
OUTPUT = Path(__file__).parent / "images" / "gpu-model.png"


def simulate() -> dict[str, list[float]]:
    """Step the model once per simulated second and record GPU 0."""
    fleet = initial_fleet(
        gpu_model=GPU_MODEL, num_gpus=1, initial_load=0.0, hostname="docs", seed=7, instance=1
    )
    series: dict[str, list[float]] = {
        key: [] for key in ("t", "util", "power", "temp", "mem_temp", "clock", "pviol", "tviol")
    }
    for _, duration_s, load in PHASES_S:
        for _ in range(duration_s):
            fleet = advance(fleet, 1.0, load)
            gpu = fleet.gpus[0]
            series["t"].append(fleet.sim_time_s)
            series["util"].append(gpu.util_pct)
            series["power"].append(gpu.power_w)
            series["temp"].append(gpu.gpu_temp_c)
            series["mem_temp"].append(gpu.memory_temp_c)
            series["clock"].append(gpu.sm_clock_mhz)
            series["pviol"].append(gpu.power_violation_us / 1e6)
            series["tviol"].append(gpu.thermal_violation_us / 1e6)
    return series


def plot(series: dict[str, list[float]]) -> None:
    """Four stacked panels sharing the time axis, with the load phases shaded."""
    spec = gpu_spec(GPU_MODEL)
    t = series["t"]
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True, constrained_layout=True)
    util_ax, power_ax, temp_ax, clock_ax = axes

    util_ax.plot(t, series["util"], color="tab:blue")
    util_ax.set_ylabel("GPU_UTIL (%)")
    util_ax.set_ylim(-5, 105)

    power_ax.plot(t, series["power"], color="tab:red", label="POWER_USAGE")
    power_ax.axhline(spec.power_limit_w, color="grey", linestyle="--", label="power limit")
    power_ax.set_ylabel("power (W)")
    power_ax.legend(loc="upper right")

    temp_ax.plot(t, series["temp"], color="tab:orange", label="GPU_TEMP")
    temp_ax.plot(t, series["mem_temp"], color="tab:brown", label="MEMORY_TEMP")
    temp_ax.axhline(spec.thermal_target_c, color="grey", linestyle="--", label="thermal target")
    temp_ax.set_ylabel("temperature (°C)")
    temp_ax.legend(loc="upper right")

    clock_ax.plot(t, series["clock"], color="tab:green", label="SM_CLOCK")
    clock_ax.axhline(spec.max_sm_clock_mhz, color="grey", linestyle="--", label="max SM clock")
    clock_ax.set_ylabel("SM clock (MHz)")
    clock_ax.set_xlabel("simulated time (s)")
    violation_ax = clock_ax.twinx()
    violation_ax.plot(t, series["pviol"], color="tab:purple", linestyle=":", label="POWER_VIOLATION")
    violation_ax.plot(t, series["tviol"], color="tab:pink", linestyle=":", label="THERMAL_VIOLATION")
    violation_ax.set_ylabel("violation (s, cumulative)")
    lines = clock_ax.get_lines() + violation_ax.get_lines()
    clock_ax.legend(lines, [line.get_label() for line in lines], loc="center right")

    start_s = 0.0
    for name, duration_s, load in PHASES_S:
        if load > 0:
            for ax in axes:
                ax.axvspan(start_s, start_s + duration_s, color="gold", alpha=0.15)
        util_ax.text(start_s + duration_s / 2, 90 if load == 0 else 10, name, ha="center")
        start_s += duration_s

    fig.suptitle(f"GPU model, {spec.nvml_name}: idle 60 s -> full load 180 s -> idle 240 s")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUTPUT, dpi=110)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    plot(simulate())
