"""`python -m bench`: run the benchmark suite and print one table; raw figures go to bench/results/.

python -m bench                                  # every scenario, 3 repeats each
python -m bench --scenario s1 --repeat 1 --duration 5
python -m bench --scenario s2,s3 --no-wrk
"""

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

from bench.processes import REPO_ROOT
from bench.report import cautions, missed, rows_for, table
from bench.scenarios import MEM_TOTAL_REQUESTS, SCENARIOS
from bench.suite import Options, run_mem_scenario, run_window_scenario

RESULTS_DIR = REPO_ROOT / "bench" / "results"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="scenario(s) to run, repeatable or comma-separated (default: all):\n"
        + "\n".join(f"  {s.name}: {s.title}" for s in SCENARIOS.values()),
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (default 3)")
    parser.add_argument(
        "--duration", type=float, help="measurement window per run, seconds (default per scenario)"
    )
    parser.add_argument(
        "--warmup", type=float, help="warm-up before each window, seconds (default per scenario)"
    )
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk second opinion for s1")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Granian ceiling for s1")
    parser.add_argument(
        "--mem-requests",
        type=int,
        default=MEM_TOTAL_REQUESTS,
        help="requests of the mem scenario (default 200,000)",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.3,
        help="before each run, wait while other processes use more CPU than this, in cores (default 0.3)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="wait at most this long for that, seconds (default 30; 0: never wait)",
    )
    parser.add_argument(
        "--output", type=Path, help="raw figures file (default bench/results/<timestamp>.json)"
    )
    parser.add_argument("--report", type=Path, metavar="JSON", help="print the table of a saved run and exit")
    args = parser.parse_args(argv)
    names = [name.strip() for value in args.scenario for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.names = names or list(SCENARIOS)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def _git(*argv: str) -> str:
    try:
        return subprocess.run(
            ["git", *argv], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "granian": version("granian"),
        "litestar": version("litestar"),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "loadavg_start": os.getloadavg(),
        "argv": sys.argv[1:],
        "scenarios": args.names,
    }


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _print_summary(meta: dict[str, Any], results: dict[str, Any]) -> None:
    rows = [row for result in results.values() for row in rows_for(result)]
    print(
        f"\naiperf-mock-server bench, {meta['date']}, {meta['cpus']} CPUs ({meta['cpu_model']}), "
        f"commit {meta['git_commit']}{' (dirty)' if meta['git_dirty'] else ''}, load average at start "
        f"{meta['loadavg_start'][0]:.2f}, end {meta['loadavg_end'][0]:.2f}"
    )
    for name in results:
        print(f"  {name}: {SCENARIOS[name].title}")
    print(table(rows))
    for note in cautions(results):
        print(f"caution: {note}")
    failures = missed(rows)
    print(f"\ntargets missed: {', '.join(failures) if failures else 'none'}")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.report is not None:
        saved = msgspec.json.decode(args.report.read_bytes())
        _print_summary(saved["meta"], saved["results"])
        return 0
    options = Options(
        repeat=args.repeat,
        duration_s=args.duration,
        warmup_s=args.warmup,
        wrk=not args.no_wrk,
        bare=not args.no_bare,
        mem_requests=args.mem_requests,
        quiet_cores=args.quiet_cores,
        quiet_wait_s=args.quiet_wait,
    )
    meta = _meta(args)
    output = args.output or RESULTS_DIR / f"{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    results: dict[str, Any] = {}
    try:
        for name in args.names:
            scenario = SCENARIOS[name]
            _log(f"{name}: {scenario.title}")
            runner = run_mem_scenario if name == "mem" else run_window_scenario
            results[name] = runner(scenario, options, _log)
    finally:
        meta["loadavg_end"] = os.getloadavg()
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(msgspec.json.format(msgspec.json.encode({"meta": meta, "results": results})))
        _log(f"raw figures: {output.relative_to(REPO_ROOT) if output.is_relative_to(REPO_ROOT) else output}")
    _print_summary(meta, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
