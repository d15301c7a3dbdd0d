"""`aiperf-mock-server simulate TRACE`: replay a trace through the engine, with no server.

It takes the server's engine options (same flags, same `MOCK_SERVER_*` variables), so the
replay of a recorded run uses exactly the engine the server ran; it prints a summary and can
write every request's result and every step as JSON lines.
"""

import inspect
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from mockcli.config import ConfigError, resolve_settings
from mockcli.engine_process import check_engine
from mockcli.main import EXIT_INVALID_OPTION, option_parameter
from mockcore.engine import ReplaySummary, TraceError, parse_trace, replay, summarize
from mockcore.engine.from_settings import engine_config
from mockcore.settings import DEFAULT_ENGINE_PROFILE
from mockhttp.engine.setup import load_profile

# The server options that shape the engine.
ENGINE_OPTIONS: tuple[str, ...] = (
    "engine",
    "dcgm_gpu_name",
    "tensor_parallel",
    "max_num_seqs",
    "max_num_batched_tokens",
    "gpu_memory_utilization",
    "max_waiting_requests",
    "enable_prefix_caching",
    "engine_mfu",
    "engine_mbu",
    "engine_step_overhead_ms",
    "scheduler_step_ms",
    "scheduler_max_batch_size",
    "scheduler_max_prefill_chunks_per_step",
    "scheduler_prefill_chunk_tokens",
    "scheduler_goodput_collapse_enabled",
    "scheduler_goodput_collapse_threshold",
    "scheduler_goodput_collapse_slope",
    "scheduler_goodput_collapse_floor",
)

simulate_app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Replay a trace (Mooncake JSON lines) through the engine simulation and summarise it.",
)


def _summary_lines(summary: ReplaySummary) -> list[str]:
    ms = 1000.0
    return [
        f"requests        {summary.requests} ({summary.served} served, {summary.rejected_queue_full} refused "
        f"with 429, {summary.rejected_too_long} too long)",
        f"duration        {summary.duration_s:.3f} s",
        f"output tokens/s {summary.output_tokens_per_s:.1f}",
        f"TTFT            p50 {summary.ttft_p50_s * ms:.1f} ms, p90 {summary.ttft_p90_s * ms:.1f} ms, "
        f"p99 {summary.ttft_p99_s * ms:.1f} ms",
        f"ITL             p50 {summary.itl_p50_s * ms:.2f} ms, p90 {summary.itl_p90_s * ms:.2f} ms",
        f"e2e             p50 {summary.e2e_p50_s * ms:.1f} ms, p90 {summary.e2e_p90_s * ms:.1f} ms",
        f"queue           p50 {summary.queue_p50_s * ms:.1f} ms, p90 {summary.queue_p90_s * ms:.1f} ms",
        f"engine          mean batch {summary.mean_batch:.1f}, busy {summary.busy_fraction:.1%}, "
        f"peak KV {summary.peak_kv_usage:.1%}, {summary.preemptions} preemptions, "
        f"{summary.cached_prompt_fraction:.1%} of prompt tokens cached",
    ]


def simulate(
    trace: Path,
    results: Path | None,
    timeline: Path | None,
    hash_block_tokens: int,
    as_json: bool,
    **flags: Any,
) -> None:
    """Replay TRACE through the engine the server options describe."""
    try:
        settings = resolve_settings(flags, os.environ)
        if settings.engine is None:
            settings = msgspec.structs.replace(settings, engine=DEFAULT_ENGINE_PROFILE)
        check_engine(settings)
        assert settings.engine is not None  # noqa: S101 - set above
        config = engine_config(settings, load_profile(settings.engine))
        with trace.open(encoding="utf-8") as lines:
            requests = parse_trace(lines)
    except (ConfigError, TraceError, OSError) as error:
        print(f"Error: {error}", file=sys.stderr)  # noqa: T201 - one line, as the server's errors
        raise typer.Exit(EXIT_INVALID_OPTION) from None
    result = replay(requests, config, hash_block_tokens=hash_block_tokens)
    if results is not None:
        results.write_bytes(b"".join(msgspec.json.encode(request) + b"\n" for request in result.requests))
    if timeline is not None:
        timeline.write_bytes(b"".join(msgspec.json.encode(step) + b"\n" for step in result.steps))
    summary = summarize(result)
    if as_json:
        print(msgspec.json.encode(summary).decode())  # noqa: T201 - the command's output
        return
    print(f"engine          {config.profile.name} on {config.tensor_parallel} x {config.gpu}")  # noqa: T201
    for line in _summary_lines(summary):
        print(line)  # noqa: T201 - the command's output


_OWN_PARAMETERS = [
    inspect.Parameter(
        "trace",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[Path, typer.Argument(help="Mooncake trace: one JSON request per line.")],
    ),
    inspect.Parameter(
        "results",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None, typer.Option("--results", help="Write every request's result here (JSON lines).")
        ],
    ),
    inspect.Parameter(
        "timeline",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None, typer.Option("--timeline", help="Write every engine step here (JSON lines).")
        ],
    ),
    inspect.Parameter(
        "hash_block_tokens",
        inspect.Parameter.KEYWORD_ONLY,
        default=512,
        annotation=Annotated[
            int, typer.Option("--hash-block-tokens", help="Tokens per trace hash_id.", min=1)
        ],
    ),
    inspect.Parameter(
        "as_json",
        inspect.Parameter.KEYWORD_ONLY,
        default=False,
        annotation=Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")],
    ),
]
simulate.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [*_OWN_PARAMETERS, *(option_parameter(name) for name in ENGINE_OPTIONS)], return_annotation=None
)
simulate_app.command()(simulate)
