"""Run scenarios: servers up, load generator and wrk pinned beside them, raw figures collected."""

import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from bench.processes import (
    GENERATOR_CPU,
    REPO_ROOT,
    ServerProcess,
    bare_server,
    mock_server,
    pinned,
)
from bench.procfs import machine_busy_s
from bench.scenarios import MEM_FIRST_REQUESTS, Scenario

WRK_SCRIPT = REPO_ROOT / "bench" / "post_chat.lua"
GENERATOR_SLACK_S = 60.0
Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    repeat: int = 3
    duration_s: float | None = None  # overrides every scenario's own
    warmup_s: float | None = None
    wrk: bool = True
    bare: bool = True
    mem_requests: int = 200_000
    # On a shared machine, wait before each run until others use at most `quiet_cores` of CPU
    # (giving up after `quiet_wait_s`); every run records what others used during its window.
    quiet_cores: float = 0.3
    quiet_wait_s: float = 30.0


QUIET_SAMPLE_S = 0.5


def _busy_cores(sample_s: float = QUIET_SAMPLE_S) -> float:
    before = sum(machine_busy_s())
    time.sleep(sample_s)
    return (sum(machine_busy_s()) - before) / sample_s


def wait_for_quiet(options: Options, log: Log) -> float:
    """Wait until the machine is nearly idle, or give up; return the busy cores last seen."""
    deadline = time.monotonic() + options.quiet_wait_s
    busy = _busy_cores()
    if busy > options.quiet_cores and options.quiet_wait_s > 0:
        log(f"machine busy ({busy:.2f} cores in use by others): waiting up to {options.quiet_wait_s:g} s")
        while busy > options.quiet_cores and time.monotonic() < deadline:
            busy = _busy_cores(1.0)
    return busy


def _load_generator(
    scenario: Scenario,
    server: ServerProcess,
    options: Options,
    log: Log,
    requests: int = 0,
) -> dict[str, Any]:
    duration_s = options.duration_s if options.duration_s is not None else scenario.duration_s
    warmup_s = options.warmup_s if options.warmup_s is not None else scenario.warmup_s
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(server.port),
        "--path",
        scenario.path,
        "--body",
        scenario.body,
        "--concurrency",
        str(scenario.concurrency),
        "--duration",
        str(duration_s),
        "--warmup",
        str(warmup_s),
    ]
    if requests:
        argv += ["--requests", str(requests)]
    for header in scenario.headers:
        argv += ["--header", header]
    argv += ["--protocol", scenario.protocol]
    if scenario.stream:
        argv += ["--stream", "--ttft-ms", str(scenario.ttft_ms), "--itl-ms", str(scenario.itl_ms)]
    if scenario.expect_tokens is not None and server.label != "bare":
        argv += ["--expect-tokens", str(scenario.expect_tokens)]
    if scenario.expect_dims is not None:
        argv += ["--expect-dims", str(scenario.expect_dims)]
    for pid in server.worker_pids:
        argv += ["--watch-pid", str(pid)]
    cpu = GENERATOR_CPU if scenario.pinned else None
    busy_before = wait_for_quiet(options, log)
    timeout_s = None if requests else warmup_s + duration_s + GENERATOR_SLACK_S
    done = subprocess.run(
        pinned(argv, cpu), cwd=REPO_ROOT, check=False, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report: dict[str, Any] = msgspec.json.decode(done.stdout.strip().splitlines()[-1])
    report["busy_cores_before"] = busy_before
    report["loadavg"] = os.getloadavg()
    return report


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(server: ServerProcess, scenario: Scenario, options: Options, log: Log) -> dict[str, Any]:
    """wrk -t1 -c64 against the server, pinned like the load generator."""
    executable = shutil.which("wrk")
    if executable is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    duration_s = max(1, round(options.duration_s if options.duration_s is not None else scenario.duration_s))
    argv = [
        executable,
        "-t1",
        f"-c{scenario.concurrency}",
        f"-d{duration_s}s",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{server.port}{scenario.path}",
    ]
    env = {**os.environ, "BENCH_BODY": scenario.body}
    wait_for_quiet(options, log)
    busy_before = sum(machine_busy_s())
    cpu_before, server_before, t0 = _children_cpu_s(), server.workers_cpu_s(), time.perf_counter()
    done = subprocess.run(
        pinned(argv, GENERATOR_CPU),
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=duration_s + 60,
    )
    wall_s = time.perf_counter() - t0
    result: dict[str, Any] = {
        "argv": argv,
        "output": done.stdout,
        "gen_cpu": (_children_cpu_s() - cpu_before) / wall_s,
        "server_cpu_total": (server.workers_cpu_s() - server_before) / wall_s,
    }
    result["other_cpu"] = (
        (sum(machine_busy_s()) - busy_before) / wall_s - result["gen_cpu"] - result["server_cpu_total"]
    )
    if match := re.search(r"Requests/sec:\s+([\d.]+)", done.stdout):
        result["req_per_s"] = float(match.group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", done.stdout
    )
    result["errors"] = (int(bad.group(1)) if bad else 0) + (
        sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    )
    return result


def _describe(run: dict[str, Any]) -> str:
    figure = f"{run['tokens_per_s']:,.0f} tokens/s" if run["stream"] else f"{run['req_per_s']:,.0f} req/s"
    gen = f"{run['gen_cpu']:.0%}" if run["gen_cpu"] is not None else "?"
    other = f"{run['other_cpu']:.0%}" if run["other_cpu"] is not None else "?"
    waits = "/".join(f"{run[k]:.1%}" if run[k] is not None else "?" for k in ("server_wait", "gen_wait"))
    return (
        f"{figure}, errors {run['errors']}, CPU: generator {gen}, server {run['server_cpu_total']:.0%}, "
        f"others {other}; run-queue wait server/generator {waits}"
    )


def run_window_scenario(scenario: Scenario, options: Options, log: Log) -> dict[str, Any]:
    """s1-s5: repeated windows against the mock (and, for s1, the bare app, interleaved)."""
    result: dict[str, Any] = {"scenario": asdict(scenario), "runs": [], "loadavg_before": os.getloadavg()}
    mock = mock_server(scenario.name, scenario.ttft_ms, scenario.itl_ms, scenario.workers, scenario.pinned)
    bare = bare_server() if scenario.with_bare and options.bare else None
    try:
        mock.start()
        result["server"] = {"argv": mock.argv, "pid": mock.pid, "workers": mock.worker_pids}
        if bare is not None:
            bare.start()
            result["bare_runs"] = []
        for index in range(options.repeat):
            if bare is not None:
                run = _load_generator(scenario, bare, options, log)
                result["bare_runs"].append(run)
                log(f"{scenario.name} bare run {index + 1}/{options.repeat}: {_describe(run)}")
            run = _load_generator(scenario, mock, options, log)
            result["runs"].append(run)
            log(f"{scenario.name} run {index + 1}/{options.repeat}: {_describe(run)}")
        if scenario.with_wrk and options.wrk:
            result["wrk"] = _wrk(mock, scenario, options, log)
            log(f"{scenario.name} wrk: {result['wrk'].get('req_per_s', result['wrk'].get('skipped'))}")
            if bare is not None:
                result["wrk_bare"] = _wrk(bare, scenario, options, log)
                log(f"{scenario.name} wrk bare: {result['wrk_bare'].get('req_per_s', '?')}")
        result["server"]["rss_kib_after"] = mock.workers_rss_kib()
    finally:
        mock.stop()
        if bare is not None:
            bare.stop()
    return result


def run_mem_scenario(scenario: Scenario, options: Options, log: Log) -> dict[str, Any]:
    """RSS of the worker at start, after the first 10k requests and after all of them."""
    result: dict[str, Any] = {"scenario": asdict(scenario), "runs": [], "loadavg_before": os.getloadavg()}
    first = min(MEM_FIRST_REQUESTS, options.mem_requests // 2)
    with mock_server(scenario.name, 0, 0, 1, pin=True) as mock:
        (worker,) = mock.worker_pids
        result["server"] = {"argv": mock.argv, "pid": mock.pid, "workers": mock.worker_pids}
        rss = {"0": mock.workers_rss_kib()[worker]}
        for served, count in [(first, first), (options.mem_requests, options.mem_requests - first)]:
            run = _load_generator(scenario, mock, options, log, requests=count)
            result["runs"].append(run)
            rss[str(served)] = mock.workers_rss_kib()[worker]
            figure = f"{run['req_per_s']:,.0f} req/s, errors {run['errors']}, RSS {rss[str(served)]} KiB"
            log(f"mem: {count:,} requests at {figure}")
        result["rss_kib"] = rss
    return result
