"""This machine's real figures in node_exporter's names: `/proc` text in, families out.

The adapter reads `/proc/stat`, `/proc/loadavg`, `/proc/meminfo` and `/proc/net/dev` and hands
their text here; nothing is invented. Names, types and HELP texts follow node_exporter's
collectors (cpu, loadavg, meminfo, netdev, stat, time). CPU times in `/proc/stat` are in
USER_HZ ticks, 100 per second on Linux.
"""

import re

import msgspec

from mockcore.metrics.exposition import Family, Labels
from mockcore.metrics.families import counter, gauge

USER_HZ = 100
# /proc/stat cpu columns after the name, in order; guest time is also counted in user.
_CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
# /proc/net/dev columns: eight receive statistics, then eight transmit statistics.
_NETDEV_STATS = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
_NETDEV_TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")


class ProcTexts(msgspec.Struct, frozen=True, kw_only=True):
    """The raw text of the `/proc` files node_exporter reads, and the wall clock."""

    stat: str
    loadavg: str
    meminfo: str
    net_dev: str
    unix_time_s: float


def _gauge(name: str, help_text: str, value: float) -> Family:
    return gauge(name, help_text, [((), value)])


def _cpu_families(stat: str) -> list[Family]:
    seconds: list[tuple[Labels, float]] = []
    guest: list[tuple[Labels, float]] = []
    for line in stat.splitlines():
        fields = line.split()
        if not fields or not re.fullmatch(r"cpu\d+", fields[0]):
            continue
        cpu = fields[0].removeprefix("cpu")
        ticks = [int(field) for field in fields[1:]]
        for mode, value in zip(_CPU_MODES, ticks, strict=False):
            seconds.append(((("cpu", cpu), ("mode", mode)), value / USER_HZ))
        for mode, value in zip(("user", "nice"), ticks[8:10], strict=False):
            guest.append(((("cpu", cpu), ("mode", mode)), value / USER_HZ))
    return [
        counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", seconds),
        counter(
            "node_cpu_guest_seconds_total",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            guest,
        ),
    ]


_STAT_FIELDS = {
    "ctxt": ("node_context_switches_total", "counter", "Total number of context switches."),
    "intr": ("node_intr_total", "counter", "Total number of interrupts serviced."),
    "processes": ("node_forks_total", "counter", "Total number of forks."),
    "btime": ("node_boot_time_seconds", "gauge", "Node boot time, in unixtime."),
    "procs_running": ("node_procs_running", "gauge", "Number of processes in runnable state."),
    "procs_blocked": (
        "node_procs_blocked",
        "gauge",
        "Number of processes blocked waiting for I/O to complete.",
    ),
}


def _stat_families(stat: str) -> list[Family]:
    values = {}
    for line in stat.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in _STAT_FIELDS:  # noqa: PLR2004 - a name and a value
            values[fields[0]] = float(fields[1])
    return [
        (counter if kind == "counter" else gauge)(name, help_text, [((), values[key])])
        for key, (name, kind, help_text) in _STAT_FIELDS.items()
        if key in values
    ]


def _load_families(loadavg: str) -> list[Family]:
    one, five, fifteen = (float(field) for field in loadavg.split()[:3])
    return [
        _gauge("node_load1", "1m load average.", one),
        _gauge("node_load5", "5m load average.", five),
        _gauge("node_load15", "15m load average.", fifteen),
    ]


def _meminfo_metric_name(field: str, has_unit: bool) -> str:
    """`MemTotal` -> `MemTotal_bytes`, `Active(anon)` -> `Active_anon_bytes`, as node_exporter."""
    name = re.sub(r"\((.*)\)", r"_\1", field)
    return f"{name}_bytes" if has_unit else name


def _meminfo_families(meminfo: str) -> list[Family]:
    families = []
    for line in meminfo.splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) < 2:  # noqa: PLR2004 - a name and a value
            continue
        has_unit = len(parts) > 2 and parts[2] == "kB"  # noqa: PLR2004 - name, value, unit
        value = float(parts[1]) * (1024 if has_unit else 1)
        metric = _meminfo_metric_name(parts[0], has_unit)
        families.append(_gauge(f"node_memory_{metric}", f"Memory information field {metric}.", value))
    return families


def _netdev_families(net_dev: str) -> list[Family]:
    receive: dict[str, list[tuple[Labels, float]]] = {stat: [] for stat in _NETDEV_STATS}
    transmit: dict[str, list[tuple[Labels, float]]] = {stat: [] for stat in _NETDEV_TRANSMIT}
    for line in net_dev.splitlines()[2:]:
        device, _, numbers = line.partition(":")
        fields = numbers.split()
        if len(fields) < len(_NETDEV_STATS) + len(_NETDEV_TRANSMIT):
            continue
        labels = (("device", device.strip()),)
        for stat, value in zip(_NETDEV_STATS, fields[:8], strict=True):
            receive[stat].append((labels, float(value)))
        for stat, value in zip(_NETDEV_TRANSMIT, fields[8:16], strict=True):
            transmit[stat].append((labels, float(value)))
    families = [
        counter(f"node_network_receive_{stat}_total", f"Network device statistic receive_{stat}.", series)
        for stat, series in receive.items()
    ]
    families += [
        counter(f"node_network_transmit_{stat}_total", f"Network device statistic transmit_{stat}.", series)
        for stat, series in transmit.items()
    ]
    return families


def node_families(proc: ProcTexts) -> list[Family]:
    """Every node_exporter family this server serves, from the given `/proc` texts."""
    return [
        *_cpu_families(proc.stat),
        *_stat_families(proc.stat),
        *_load_families(proc.loadavg),
        *_meminfo_families(proc.meminfo),
        *_netdev_families(proc.net_dev),
        _gauge("node_time_seconds", "System time in seconds since epoch (1970).", proc.unix_time_s),
    ]
