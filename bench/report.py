"""Turn raw figures into the one table of the suite: median, spread, target, pass/fail, CPU."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.stats import spread

Run = dict[str, Any]
MIB_KIB = 1024


@dataclass(frozen=True)
class Target:
    text: str
    ok: Callable[[float, Sequence[float]], bool]  # (median, every run's value)


def at_least(threshold: float, text: str) -> Target:
    return Target(f">= {text}", lambda median, _values: median >= threshold)


def at_most(threshold: float, text: str) -> Target:
    return Target(f"<= {text}", lambda median, _values: median <= threshold)


NO_ERRORS = Target("0 in every run", lambda _median, values: max(values) == 0)


@dataclass(frozen=True)
class CpuUse:
    """Each run's CPU use, in cores: the load generator, the server's workers, everything else;
    and the share of the window the generator spent runnable but waiting for its CPU."""

    generator: list[float | None]
    server: list[float | None]
    others: list[float | None]
    generator_wait: list[float | None]


@dataclass(frozen=True)
class Row:
    scenario: str
    figure: str
    values: list[float]
    fmt: str = ",.0f"
    target: Target | None = None
    cpu: CpuUse | None = None

    def cells(self) -> list[str]:
        values = [v for v in self.values if not math.isnan(v)]
        if not values:
            target = self.target.text if self.target else ""
            return [
                self.scenario,
                self.figure,
                "n/a",
                "",
                target,
                "FAIL" if self.target else "",
                "",
                "",
                "",
                "",
            ]
        median, low, high = spread(values)
        verdict = ""
        if self.target is not None:
            verdict = "pass" if len(values) == len(self.values) and self.target.ok(median, values) else "FAIL"
        return [
            self.scenario,
            self.figure,
            format(median, self.fmt),
            f"{format(low, self.fmt)}-{format(high, self.fmt)}" if len(values) > 1 else "",
            self.target.text if self.target else "",
            verdict,
            _percent(self.cpu.generator if self.cpu else None),
            _percent(self.cpu.server if self.cpu else None),
            _percent(self.cpu.others if self.cpu else None),
            _percent(self.cpu.generator_wait if self.cpu else None),
        ]


def _percent(values: list[float | None] | None) -> str:
    present = [v for v in values or [] if v is not None]
    # Clamped at 0: CPU time is counted in 10 ms ticks, so "others" can come out slightly negative.
    return f"{max(0.0, spread(present)[0]):.0%}" if present else ""


def _get(run: Run, summary: str, key: str) -> float:
    figures = run.get(summary)
    return float(figures[key]) if figures else math.nan


def _cpu(runs: list[Run]) -> CpuUse:
    return CpuUse(
        generator=[r["gen_cpu"] for r in runs],
        server=[r["server_cpu_total"] for r in runs],
        others=[r["other_cpu"] for r in runs],
        generator_wait=[r.get("gen_wait") for r in runs],
    )


def _ideal_tokens_per_s(run: Run, scenario: dict[str, Any]) -> float:
    """concurrency * N / (TTFT + (N-1)*ITL + the client's own gap between streams)."""
    tokens: int = scenario["expect_tokens"]
    stream_s: float = (scenario["ttft_ms"] + (tokens - 1) * scenario["itl_ms"]) / 1000
    gap_s = _get(run, "client_gap_ms", "mean") / 1000
    concurrency: int = scenario["concurrency"]
    return concurrency * tokens / (stream_s + (0.0 if math.isnan(gap_s) else gap_s))


def _s1_rows(result: dict[str, Any]) -> list[Row]:
    runs, bare = result["runs"], result.get("bare_runs") or []
    rows = [
        Row("s1", "req/s", [r["req_per_s"] for r in runs], target=at_least(8000, "8,000"), cpu=_cpu(runs)),
        Row("s1", "latency p50 / ms", [_get(r, "latency_ms", "p50") for r in runs], ".2f"),
        Row("s1", "latency p99 / ms", [_get(r, "latency_ms", "p99") for r in runs], ".2f"),
        Row("s1", "errors", [r["errors"] for r in runs], target=NO_ERRORS),
    ]
    if bare:
        rows += [
            Row("s1", "bare Granian req/s (ceiling)", [r["req_per_s"] for r in bare], cpu=_cpu(bare)),
            Row(
                "s1",
                "ours / bare (per repeat)",
                [r["req_per_s"] / b["req_per_s"] for r, b in zip(runs, bare, strict=False)],
                ".2f",
            ),
        ]
    for key, label in [("wrk", "wrk req/s"), ("wrk_bare", "wrk bare Granian req/s")]:
        wrk = result.get(key)
        if wrk and "req_per_s" in wrk:
            figure = f"{label} (errors {wrk['errors']})"
            rows.append(Row("s1", figure, [wrk["req_per_s"]], cpu=_cpu([wrk])))
        elif wrk:
            rows.append(Row("s1", f"{label}: {wrk.get('skipped', 'no figure')}", [math.nan]))
    wrk, wrk_bare = result.get("wrk") or {}, result.get("wrk_bare") or {}
    if "req_per_s" in wrk and "req_per_s" in wrk_bare:
        rows.append(Row("s1", "wrk ours / bare", [wrk["req_per_s"] / wrk_bare["req_per_s"]], ".2f"))
    return rows


def _stream_rows(result: dict[str, Any]) -> list[Row]:
    runs, sc = result["runs"], result["scenario"]
    name, ttft, itl, tokens = sc["name"], sc["ttft_ms"], sc["itl_ms"], sc["expect_tokens"]
    ideal_stream_ms = ttft + (tokens - 1) * itl
    cpu = _cpu(runs)
    delivered = [r["tokens_per_s"] for r in runs]
    ideal = [_ideal_tokens_per_s(r, sc) for r in runs]
    ttft_err = {q: [_get(r, "ttft_ms", q) - ttft for r in runs] for q in ("p50", "p99")}
    itl_q = {q: [_get(r, "itl_ms", q) for r in runs] for q in ("p50", "p99")}
    drift = {q: [_get(r, "e2e_ms", q) - ideal_stream_ms for r in runs] for q in ("p50", "p99")}
    fairness = [_get(r, "stream_lateness_ms", "p99") - _get(r, "stream_lateness_ms", "p1") for r in runs]
    tail = [_get(r, "tail_ms", "p50") for r in runs]
    errors = [r["errors"] for r in runs]
    # The generator's own event-loop delay: what its timing figures cannot resolve below.
    lag = Row(name, "generator loop lag p99 / ms", [_get(r, "loop_lag_ms", "p99") for r in runs], ".1f")
    ratio = [d / i for d, i in zip(delivered, ideal, strict=True)]
    if name.startswith("s2"):  # s2 and its protocol variants: the same targets
        return [
            Row(name, "tokens/s delivered", delivered, cpu=cpu),
            Row(name, "tokens/s ideal (c*N/(TTFT+(N-1)*ITL+client gap))", ideal),
            Row(name, "delivered / ideal", ratio, ".3f", at_least(0.99, "0.99")),
            Row(name, "TTFT error p50 / ms", ttft_err["p50"], ".2f", at_most(3, "3")),
            Row(name, "TTFT error p99 / ms", ttft_err["p99"], ".2f", at_most(8, "8")),
            Row(name, "ITL p50 / ms", itl_q["p50"], ".2f"),
            Row(name, "ITL p99 / ms", itl_q["p99"], ".2f", at_most(itl + 2, f"{itl + 2:g}")),
            Row(name, "drift p50 / ms", drift["p50"], ".2f", at_most(4, "4")),
            Row(name, "drift p99 / ms", drift["p99"], ".2f", at_most(10, "10")),
            Row(name, "last token -> end of response p50 / ms", tail, ".2f"),
            Row(name, "errors", errors, target=NO_ERRORS),
            lag,
        ]
    if name == "s3":
        return [
            Row(name, "tokens/s delivered", delivered, target=at_least(100_000, "100,000"), cpu=cpu),
            Row(name, "delivered / ideal", ratio, ".3f"),
            Row(name, "errors", errors, target=NO_ERRORS),
            Row(name, "TTFT error p99 / ms", ttft_err["p99"], ".1f"),
            Row(name, "ITL error p99 / ms", [v - itl for v in itl_q["p99"]], ".1f"),
            Row(name, "drift p99 / ms", drift["p99"], ".1f"),
            Row(name, "fairness: per-stream lateness p99-p1 / ms", fairness, ".1f"),
            lag,
        ]
    return [
        Row(name, "tokens/s delivered", delivered, cpu=cpu),
        Row(name, "delivered / ideal", ratio, ".3f"),
        Row(name, "errors", errors, target=NO_ERRORS),
        Row(name, "TTFT error p99 / ms", ttft_err["p99"], ".1f"),
        Row(name, "ITL error p99 / ms", [v - itl for v in itl_q["p99"]], ".1f"),
        lag,
    ]


def _s4_rows(result: dict[str, Any]) -> list[Row]:
    runs = result["runs"]
    return [
        Row("s4", "req/s", [r["req_per_s"] for r in runs], target=at_least(6000, "6,000"), cpu=_cpu(runs)),
        Row("s4", "latency p99 / ms", [_get(r, "latency_ms", "p99") for r in runs], ".2f"),
        Row("s4", "errors", [r["errors"] for r in runs], target=NO_ERRORS),
    ]


def _mem_rows(result: dict[str, Any]) -> list[Row]:
    """RSS is keyed by requests served so far: {"0": ..., "10000": ..., "200000": ...}."""
    rss = result["rss_kib"]
    counts = list(rss)
    runs = result["runs"]
    growth_mib = (rss[counts[-1]] - rss[counts[1]]) / MIB_KIB
    rows = [
        Row("mem", f"worker RSS after {int(count):,} requests / MiB", [rss[count] / MIB_KIB], ".1f")
        for count in counts
    ]
    rows += [
        Row(
            "mem",
            f"RSS growth {int(counts[1]):,} -> {int(counts[-1]):,} requests / MiB",
            [growth_mib],
            ".1f",
            at_most(20, "20"),
        ),
        Row("mem", "req/s (long phase)", [runs[-1]["req_per_s"]], cpu=_cpu(runs[-1:])),
        Row("mem", "errors", [sum(r["errors"] for r in runs)], target=NO_ERRORS),
    ]
    return rows


def rows_for(result: dict[str, Any]) -> list[Row]:
    name = result["scenario"]["name"]
    if name == "s1":
        return _s1_rows(result)
    if name == "s4":
        return _s4_rows(result)
    if name == "mem":
        return _mem_rows(result)
    return _stream_rows(result)


HEADER = [
    "scenario",
    "figure",
    "median",
    "min-max",
    "target",
    "pass",
    "gen CPU",
    "server CPU",
    "others CPU",
    "gen wait",
]


def table(rows: list[Row]) -> str:
    """A Markdown table, padded so it also reads well in a terminal."""
    cells = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    right = {2, 3, 6, 7, 8, 9}

    def line(values: list[str]) -> str:
        padded = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])])


def missed(rows: list[Row]) -> list[str]:
    return [f"{row.scenario} {row.figure}" for row in rows if row.cells()[5] == "FAIL"]


GENERATOR_BUSY = 0.8  # of one core
GENERATOR_WAIT = 0.1  # of the window
OTHERS_BUSY = 0.3  # cores


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}-{high:.0%}"


def cautions(results: dict[str, dict[str, Any]]) -> list[str]:
    """Runs whose figures may say more about the machine or the generator than about the server."""
    notes: list[str] = []
    for name, result in results.items():
        groups = [(name, result.get("runs", [])), (f"{name} bare", result.get("bare_runs", []))]
        for label, runs in groups:
            if not runs:
                continue
            busy = [r["gen_cpu"] for r in runs if (r.get("gen_cpu") or 0) >= GENERATOR_BUSY]
            waited = [r["gen_wait"] for r in runs if (r.get("gen_wait") or 0) >= GENERATOR_WAIT]
            others = [r["other_cpu"] for r in runs if (r.get("other_cpu") or 0) >= OTHERS_BUSY]
            of = f"of {len(runs)} run{'s' if len(runs) > 1 else ''}"
            if busy:
                notes.append(f"{label}: in {len(busy)} {of} the generator used {_range(busy)} of its core")
            if waited and result["scenario"]["pinned"]:
                notes.append(
                    f"{label}: in {len(waited)} {of} the generator waited {_range(waited)} of the window "
                    "for its CPU (another process on its core); its timings include that wait"
                )
            if others:
                notes.append(
                    f"{label}: in {len(others)} {of} other processes used {_range(others)} of a core"
                )
    return notes
