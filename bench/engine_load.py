"""The engine simulation under real load: its cost to the server, and one engine across workers.

python -m bench.engine_load overhead   # s1 and s3, engine off vs on (a profile too fast to saturate)
python -m bench.engine_load overhead --scenario s1 --concurrency 128   # both runs with 128 clients
python -m bench.engine_load overhead --scenario s1 --concurrency 256 --step-overhead-ms 0.6
python -m bench.engine_load overhead --scenario s1 --waiting-ttft-ms 4   # and off, answering 4 ms late
python -m bench.engine_load workers    # the same closed-loop load on 1 and on 4 workers, engine on

`overhead` runs each scenario of the suite twice, interleaved window by window: with the
constant TTFT/ITL of the scenario, and with `--engine qwen3-0.6b` on a B200 with no step
overhead and a step floor equal to the scenario's ITL (so the engine paces tokens as the
constant schedule does, and never queues: `--max-num-seqs` covers the concurrency). The
ratio of requests/s (s1) and tokens/s (s3) is what the engine's bookkeeping costs. With no
step overhead a step of that model takes about 0.2 ms, some 4,000 steps a second: the
hardest case for the bookkeeping. `--step-overhead-ms 0.6` (the engine's default) gives
steps of about 0.8 ms, as a real server's are; its answers then take 17 steps (14 ms), so
s1 needs about 256 clients for the server, not Little's law, to set the requests/s.

`workers` sends streamed chat requests of 512 prompt and 128 output tokens from 64 clients,
closed loop, to `--engine llama-3.1-8b` on an H100 SXM, once with one worker and once with
four, and compares TTFT p50/p90 and ITL p50: with one engine for the server they agree.
It takes nine 6 s windows a side by default: this closed loop's TTFT moves by 15 % between
runs of three.
"""

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

import msgspec

from bench.processes import ServerProcess, mock_server_with
from bench.scenarios import SCENARIOS, Scenario
from bench.suite import Options, _load_generator

FAST_ENGINE = ["--engine", "qwen3-0.6b", "--dcgm-gpu-name", "b200"]
WORKERS_ENGINE = ["--engine", "llama-3.1-8b", "--dcgm-gpu-name", "h100-sxm"]
WORKERS_BODY = json.dumps(
    {
        "model": "mock-model",
        "messages": [{"role": "user", "content": "x" * 2048}],
        "max_tokens": 128,
        "min_tokens": 128,
        "stream": True,
    }
)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _windows(scenario: Scenario, servers: dict[str, ServerProcess], options: Options) -> dict[str, list[Any]]:
    """`options.repeat` windows per server, interleaved, so drift on the machine hits both alike."""
    runs: dict[str, list[Any]] = {label: [] for label in servers}
    for server in servers.values():
        server.start()
    try:
        for _ in range(options.repeat):
            for label, server in servers.items():
                runs[label].append(_load_generator(scenario, server, options, _log))
                _log(f"{scenario.name} {label}: {runs[label][-1]['req_per_s']:.0f} req/s")
    finally:
        for server in servers.values():
            server.stop()
    return runs


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def overhead(
    options: Options,
    names: tuple[str, ...] = ("s1", "s3"),
    concurrency: int | None = None,
    step_overhead_ms: float = 0.0,
    waiting_ttft_ms: float | None = None,
) -> dict[str, Any]:
    """s1 and s3 (or `names`) with the engine off and on, at the scenario's concurrency or `concurrency`.

    The engine's steps take time the constant schedule does not (s1 answers at once without
    it): in a closed loop that lowers requests/s by Little's law even when the server has CPU
    to spare. A higher `concurrency` for both runs keeps the server busy, so that the ratio is
    what the bookkeeping costs; the median latencies say how much of it the steps explain.
    `waiting_ttft_ms` adds a third server, engine off with that constant TTFT (the engine's own
    latency, given as a constant): what waiting alone costs, apart from simulating.
    """
    report: dict[str, Any] = {}
    for name in names:
        scenario = SCENARIOS[name]
        if concurrency is not None:
            scenario = replace(scenario, concurrency=concurrency)
        base = ["--ttft", f"{scenario.ttft_ms:g}", "--itl", f"{scenario.itl_ms:g}"]
        engine = [
            *FAST_ENGINE,
            "--engine-step-overhead-ms",
            f"{step_overhead_ms:g}",
            "--scheduler-step-ms",
            f"{scenario.itl_ms:g}",
            "--max-num-seqs",
            "2048",
        ]
        servers = {
            "off": mock_server_with(f"{name}-off", scenario.workers, base),
            "on": mock_server_with(f"{name}-on", scenario.workers, [*base, *engine]),
        }
        if waiting_ttft_ms is not None:
            waiting = ["--ttft", f"{waiting_ttft_ms:g}", "--itl", f"{scenario.itl_ms:g}"]
            servers["off_waiting"] = mock_server_with(f"{name}-off-waiting", scenario.workers, waiting)
        runs = _windows(scenario, servers, options)
        metric = "tokens_per_s" if scenario.stream else "req_per_s"
        off = _median([run[metric] for run in runs["off"]])
        on = _median([run[metric] for run in runs["on"]])
        errors = sum(run["errors"] for label in runs for run in runs[label])
        report[name] = {
            "concurrency": scenario.concurrency,
            "step_overhead_ms": step_overhead_ms,
            # Non-streamed answers only (the streams' own figures are TTFT and ITL).
            "latency_p50_ms": {
                label: _median([run["latency_ms"]["p50"] for run in label_runs if run["latency_ms"]])
                if any(run["latency_ms"] for run in label_runs)
                else None
                for label, label_runs in runs.items()
            },
            "metric": metric,
            "off": off,
            "on": on,
            "ratio": on / off if off else None,
            "errors": errors,
        }
        if "off_waiting" in runs:
            off_waiting = _median([run[metric] for run in runs["off_waiting"]])
            report[name]["off_waiting"] = off_waiting
            report[name]["on_to_off_waiting"] = on / off_waiting if off_waiting else None
    return report


def workers(options: Options) -> dict[str, Any]:
    """TTFT and ITL of one closed-loop load on one worker and on four."""
    scenario = replace(
        SCENARIOS["s2"],
        name="engine-workers",
        body=WORKERS_BODY,
        concurrency=64,
        expect_tokens=128,
        ttft_ms=0.0,
        itl_ms=0.0,
        pinned=False,
    )
    report: dict[str, Any] = {}
    runs = _windows(
        scenario,
        {
            "1": mock_server_with("engine-1", 1, WORKERS_ENGINE),
            "4": mock_server_with("engine-4", 4, WORKERS_ENGINE),
        },
        options,
    )
    for label, label_runs in runs.items():
        report[label] = {
            "ttft_p50_ms": _median([run["ttft_ms"]["p50"] for run in label_runs]),
            "ttft_p90_ms": _median([run["ttft_ms"]["p90"] for run in label_runs]),
            "itl_p50_ms": _median([run["itl_ms"]["p50"] for run in label_runs]),
            "tokens_per_s": _median([run["tokens_per_s"] for run in label_runs]),
            "errors": sum(run["errors"] for run in label_runs),
        }
    report["ratios_4_over_1"] = {
        key: report["4"][key] / report["1"][key]
        for key in ("ttft_p50_ms", "ttft_p90_ms", "itl_p50_ms", "tokens_per_s")
    }
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_load", description=__doc__.split("\n")[0])
    parser.add_argument("experiment", choices=["overhead", "workers"])
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="windows per server: 3 for overhead, 9 for workers (whose closed-loop TTFT moves by "
        "15 %% between runs of 3)",
    )
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument(
        "--scenario", action="append", default=[], help="overhead: s1, s3 (default both), s5 (4 workers)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="overhead: clients of both runs (else the scenario's)"
    )
    parser.add_argument(
        "--step-overhead-ms",
        type=float,
        default=0.0,
        help="overhead: the engine's fixed cost per step (0: about 4,000 steps a second; 0.6 is its default)",
    )
    parser.add_argument(
        "--waiting-ttft-ms",
        type=float,
        default=None,
        help="overhead: also run engine off with this TTFT (the engine's latency as a constant)",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.experiment == "overhead" else 9)
    options = Options(repeat=repeat, duration_s=args.duration, warmup_s=2.0, wrk=False, bare=False)
    names = tuple(args.scenario) or ("s1", "s3")
    result = (
        overhead(options, names, args.concurrency, args.step_overhead_ms, args.waiting_ttft_ms)
        if args.experiment == "overhead"
        else workers(options)
    )
    print(msgspec.json.encode(result).decode())


if __name__ == "__main__":
    main()
