"""The engine against published vLLM runs: the same requests, replayed offline, the same figures.

python -m bench.engine_calibration            # a table for docs/engine.md, ~1 s

The published runs (`bench/data/lambda_vllm_bursts.json`, source and setup in the file) are
vLLM's `benchmark_serving.py` with `--request-rate inf`: N ShareGPT requests sent at once to
Llama 3 8B on one H100 SXM, their prompt and output lengths saved with the results. Those
requests, all arriving at 0, go through `mockcore.engine.replay` with `llama-3.1-8b` (the same
shape as Llama 3 8B) on `h100-sxm` and every engine default, and the figures are computed as
`benchmark_serving.py` computes them: output throughput is the output tokens over the time the
last request ended, TPOT a request's (latency - TTFT) / (output tokens - 1) for outputs longer
than one token. Requests the published run got no token back from (output length 0) are left
out of both sides' token counts and of the replay.
"""

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import msgspec

from mockcore.engine import RequestResult, TraceRequest, builtin_profile, replay
from mockcore.engine.from_settings import engine_config
from mockcore.settings import Settings

DATA = Path(__file__).parent / "data" / "lambda_vllm_bursts.json"
PROFILE = "llama-3.1-8b"
GPU = "h100-sxm"


class BurstFigures(msgspec.Struct, kw_only=True):
    """What `benchmark_serving.py` reports of one burst, ours or published."""

    duration_s: float
    output_tokens_per_s: float
    median_tpot_ms: float
    mean_tpot_ms: float
    mean_ttft_ms: float
    median_ttft_ms: float


def burst_trace(input_lens: list[int], output_lens: list[int]) -> list[TraceRequest]:
    """Every request that got tokens back, all arriving at time 0."""
    return [
        TraceRequest(timestamp=0.0, input_length=prompt, output_length=output)
        for prompt, output in zip(input_lens, output_lens, strict=True)
        if output > 0
    ]


def burst_figures(results: tuple[RequestResult, ...]) -> BurstFigures:
    """benchmark_serving's figures of replayed requests that all arrived at 0."""
    served = [result for result in results if result.e2e_s is not None]
    duration = max(result.e2e_s or 0.0 for result in served)
    output_tokens = sum(result.output_tokens for result in served)
    ttfts = [result.ttft_s or 0.0 for result in served]
    tpots = [
        ((result.e2e_s or 0.0) - (result.ttft_s or 0.0)) / (result.output_tokens - 1)
        for result in served
        if result.output_tokens > 1
    ]
    return BurstFigures(
        duration_s=duration,
        output_tokens_per_s=output_tokens / duration,
        median_tpot_ms=statistics.median(tpots) * 1000.0,
        mean_tpot_ms=statistics.fmean(tpots) * 1000.0,
        mean_ttft_ms=statistics.fmean(ttfts) * 1000.0,
        median_ttft_ms=statistics.median(ttfts) * 1000.0,
    )


def calibrate(data: dict[str, Any], settings: Settings) -> dict[str, dict[str, BurstFigures]]:
    """Per published burst: the engine's figures for the same requests, and the published ones."""
    config = engine_config(settings, builtin_profile(PROFILE))
    report: dict[str, dict[str, BurstFigures]] = {}
    for size, run in data["runs"].items():
        trace = burst_trace(run["input_lens"], run["output_lens"])
        result = replay(trace, config)
        report[size] = {
            "engine": burst_figures(result.requests),
            "published": msgspec.convert(run["published"], BurstFigures),
        }
    return report


def _error(ours: float, theirs: float) -> str:
    return f"{(ours - theirs) / theirs * 100:+.0f} %"


def markdown(report: dict[str, dict[str, BurstFigures]]) -> str:
    """The comparison as the table in docs/engine.md."""
    lines = [
        "| burst | figure | this engine | published (vLLM 0.5.4) | error |",
        "|---|---|---|---|---|",
    ]
    for size, sides in report.items():
        ours, theirs = sides["engine"], sides["published"]
        for label, field, unit in (
            ("output tok/s", "output_tokens_per_s", ""),
            ("median TPOT", "median_tpot_ms", " ms"),
            ("mean TTFT", "mean_ttft_ms", " ms"),
        ):
            mine, published = getattr(ours, field), getattr(theirs, field)
            lines.append(
                f"| {size} at once | {label} | {mine:,.1f}{unit} | {published:,.1f}{unit} | "
                f"{_error(mine, published)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    settings = Settings(engine=PROFILE, dcgm_gpu_name=GPU)
    report = calibrate(data, settings)
    if args.json:
        print(msgspec.json.encode(report).decode())
    else:
        print(markdown(report))


if __name__ == "__main__":
    main()
