"""Run `make test` several times from fresh clones while other processes keep every core busy.

Usage: `make test-stress RUNS=5` (or `python3 tests/stress.py --runs 5 --busy 2`).

A flaky test fails one run in several, and more often on a loaded machine: CI runs on the same
shared 2-core machine as the sessions. This clones the committed HEAD afresh for each run (so
the setup of `make test` is exercised too, as on CI), runs `make test` with `CI=true` while
`--busy` spinning processes compete for the CPUs, and reports every test that failed in any
run, with the runs it failed in. Exit status 0 only if every run passed. Standard library only:
it runs before any virtual environment exists.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

REPOSITORY = Path(__file__).resolve().parents[1]
SPIN = "while True: pass"


@dataclass
class RunResult:
    """One `make test` run: its exit status, duration, and the tests that failed."""

    number: int
    status: int
    seconds: float
    failed: list[str] = field(default_factory=list)
    log: Path = Path()


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """`count` processes spinning on the CPU for as long as the block runs; all reaped after."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", SPIN], stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
        for spinner in spinners:
            spinner.wait()


def failed_tests(junit: Path) -> list[str]:
    """The test ids with a failure or error in a JUnit XML report (empty if there is none)."""
    if not junit.exists():
        return []
    cases = ElementTree.parse(junit).iter("testcase")  # noqa: S314 - our own pytest's file
    return [
        f"{case.get('classname')}::{case.get('name')}"
        for case in cases
        if case.find("failure") is not None or case.find("error") is not None
    ]


def run_once(number: int, workdir: Path, results: Path) -> RunResult:
    """Clone HEAD into a new folder and run `make test` there; the log goes to `results`."""
    clone = workdir / f"clone-{number}"
    subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(clone)], check=True)
    junit = results / f"run-{number}.xml"
    log = results / f"run-{number}.log"
    environ = {**os.environ, "CI": "true"}
    environ.pop("VIRTUAL_ENV", None)
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "test", f"PYTEST_ARGS=--junitxml={junit} -o junit_family=legacy"],
            cwd=clone,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            status = process.wait()
        finally:
            if process.poll() is None:  # interrupted: take the whole run down with us
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    seconds = time.monotonic() - started
    failed = failed_tests(junit)
    if status and not failed:
        failed = [f"(make test exited {status} before or outside pytest; see {log})"]
    return RunResult(number, status, seconds, failed, log)


def report(runs: list[RunResult]) -> str:
    """A summary: one line per run, then every test that failed with the runs it failed in."""
    lines = [
        f"run {run.number}: {'passed' if run.status == 0 else f'FAILED (exit {run.status})'} "
        f"in {run.seconds:.0f} s, log {run.log}"
        for run in runs
    ]
    failures: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        for test in run.failed:
            failures[test].append(run.number)
    if failures:
        lines.append("tests that failed in any run:")
        lines += [
            f"  {test}  (runs {', '.join(map(str, numbers))})" for test, numbers in sorted(failures.items())
        ]
    passed = sum(run.status == 0 for run in runs)
    lines.append(f"{passed} of {len(runs)} runs passed")
    return "\n".join(lines)


def main() -> int:
    """Parse the options, run, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="how many fresh-clone runs (default 5)")
    parser.add_argument(
        "--busy", type=int, default=os.cpu_count() or 2, help="spinning processes (default: one per core)"
    )
    parser.add_argument("--results", type=Path, help="folder for logs and JUnit files (default: a new one)")
    options = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the spinners and a running `make test` are taken down too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout
    if dirty:
        print("note: uncommitted changes are not tested; each run clones the committed HEAD", file=sys.stderr)
    results = options.results or Path(tempfile.mkdtemp(prefix="aiperf-mock-stress-"))
    results.mkdir(parents=True, exist_ok=True)
    runs = []
    with (
        tempfile.TemporaryDirectory(prefix="aiperf-mock-stress-clones-") as workdir,
        busy_cores(options.busy),
    ):
        for number in range(1, options.runs + 1):
            run = run_once(number, Path(workdir), results)
            print(f"run {number}: exit {run.status} in {run.seconds:.0f} s", file=sys.stderr, flush=True)
            runs.append(run)
    print(report(runs))
    return 0 if all(run.status == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
