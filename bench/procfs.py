"""Readings from /proc: CPU time of a process and of the machine, RSS, child processes."""

import os
from pathlib import Path

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads, none of its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


def machine_busy_s() -> list[float]:
    """Busy seconds of each CPU since boot: everything but idle and iowait."""
    busy: list[float] = []
    for line in Path("/proc/stat").read_bytes().splitlines():
        if not line.startswith(b"cpu") or line.startswith(b"cpu "):
            continue
        fields = [int(v) for v in line.split()[1:9]]
        busy.append((sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS_PER_S)
    return busy


def rss_kib(pid: int) -> int | None:
    """VmRSS of a process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct child processes."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def run_queue_wait_s(pid: int) -> float | None:
    """Seconds the process's main thread spent runnable but waiting for a CPU (a noisy neighbour).

    Only the main thread: a server's runtime threads share its CPU by design, so counting them
    would mix waiting for a sibling thread with waiting for another process.
    """
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
