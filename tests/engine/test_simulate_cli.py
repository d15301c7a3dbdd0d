"""`aiperf-mock-server simulate TRACE`: the offline replay from the command line, and custom profiles."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mockcli.main import EXIT_INVALID_OPTION
from mockcli.simulate import simulate_app
from mockcore.engine import BUILTIN_PROFILES, TraceRequest, parse_trace, profile_from_document, replay
from mockcore.engine.from_settings import engine_config
from mockcore.settings import Settings

TRACE_LINES = [
    {"timestamp": 0, "input_length": 600, "output_length": 30, "hash_ids": [1, 2]},
    {"timestamp": 5, "input_length": 700, "output_length": 20, "hash_ids": [1, 3]},
    {"timestamp": 40, "input_length": 100, "output_length": 50},
]
CUSTOM_TOML = """
name = "tiny-moe"
parameters = 2.0e9
active_parameters = 0.5e9
layers = 16
attention_heads = 16
kv_heads = 4
head_dim = 64
dtype = "fp8"
source = "a test"
"""


def _write_trace(directory: Path) -> Path:
    path = directory / "trace.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in TRACE_LINES), encoding="utf-8")
    return path


def test_simulate_writes_each_request_and_step_and_prints_the_summary(tmp_path: Path) -> None:
    trace = _write_trace(tmp_path)
    results, timeline = tmp_path / "results.jsonl", tmp_path / "steps.jsonl"
    outcome = CliRunner().invoke(
        simulate_app,
        [str(trace), "--results", str(results), "--timeline", str(timeline), "--dcgm-gpu-name", "h100-sxm"],
    )
    assert outcome.exit_code == 0, outcome.output
    assert "llama-3.1-8b on 1 x h100-sxm" in outcome.output
    assert "requests        3 (3 served, 0 refused with 429, 0 too long)" in outcome.output
    written = [json.loads(line) for line in results.read_text().splitlines()]
    expected = replay(
        parse_trace(trace.read_text().splitlines()),
        engine_config(
            Settings(engine="llama-3.1-8b", dcgm_gpu_name="h100-sxm"), BUILTIN_PROFILES["llama-3.1-8b"]
        ),
    )
    assert [line["ttft_s"] for line in written] == [request.ttft_s for request in expected.requests]
    assert [len(line["token_times_s"]) for line in written] == [30, 20, 50]
    assert written[1]["cached_tokens"] == 512  # the shared hash id 1: one 512-token block
    assert len(timeline.read_text().splitlines()) == len(expected.steps)


def test_simulate_takes_the_servers_engine_options_and_prints_json(tmp_path: Path) -> None:
    trace = _write_trace(tmp_path)
    outcome = CliRunner().invoke(
        simulate_app, [str(trace), "--json", "--max-num-seqs", "1", "--no-enable-prefix-caching"]
    )
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads(outcome.output)
    assert summary["served"] == 3
    assert summary["cached_prompt_fraction"] == 0.0
    assert summary["mean_batch"] == 1.0


def test_a_custom_profile_file_runs_in_simulate_and_parses_as_the_profile(tmp_path: Path) -> None:
    profile_path = tmp_path / "tiny-moe.toml"
    profile_path.write_text(CUSTOM_TOML, encoding="utf-8")
    profile = profile_from_document(CUSTOM_TOML, toml=True)
    assert profile.active == 0.5e9
    assert profile.kv_bytes_per_token == 2 * 16 * 4 * 64 * 1.0
    outcome = CliRunner().invoke(simulate_app, [str(_write_trace(tmp_path)), "--engine", str(profile_path)])
    assert outcome.exit_code == 0, outcome.output
    assert "tiny-moe on 1 x h200" in outcome.output


def test_a_bad_profile_or_trace_is_one_error_line(tmp_path: Path) -> None:
    bad_profile = tmp_path / "bad.json"
    bad_profile.write_text('{"name": "x", "parameters": -1}', encoding="utf-8")
    trace = _write_trace(tmp_path)
    outcome = CliRunner().invoke(simulate_app, [str(trace), "--engine", str(bad_profile)])
    assert outcome.exit_code == EXIT_INVALID_OPTION
    assert "the model profile is invalid" in outcome.output
    unknown = CliRunner().invoke(simulate_app, [str(trace), "--engine", "gpt-9"])
    assert unknown.exit_code == EXIT_INVALID_OPTION
    assert "unknown model profile 'gpt-9'" in unknown.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"timestamp": 0, "input_length": 5}\n', encoding="utf-8")
    missing = CliRunner().invoke(simulate_app, [str(broken)])
    assert missing.exit_code == EXIT_INVALID_OPTION
    assert "line 1" in missing.output


def test_a_model_too_large_for_its_gpus_is_refused_at_start() -> None:
    outcome = subprocess.run(
        [sys.executable, "-m", "mockcli", "--engine", "llama-3.1-70b", "--dcgm-gpu-name", "h100-sxm"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == EXIT_INVALID_OPTION
    assert "does not fit in 1 x h100-sxm" in outcome.stderr
    assert "--tensor-parallel" in outcome.stderr


def test_an_engine_trace_the_server_cannot_write_is_refused_at_start(tmp_path: Path) -> None:
    outcome = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockcli",
            "--engine",
            "qwen3-0.6b",
            "--engine-trace",
            str(tmp_path / "no" / "t.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == EXIT_INVALID_OPTION
    assert "--engine-trace" in outcome.stderr
    assert "cannot write" in outcome.stderr


def test_the_installed_command_dispatches_simulate(tmp_path: Path) -> None:
    outcome = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mockcli.main import run; sys.argv[0] = 'x'; run()",
            "simulate",
            str(_write_trace(tmp_path)),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr
    assert json.loads(outcome.stdout)["requests"] == len(TRACE_LINES)


def test_trace_lines_sort_by_arrival() -> None:
    lines = [json.dumps(line) for line in reversed(TRACE_LINES)]
    assert [request.timestamp for request in parse_trace(lines)] == [0, 5, 40]
    assert isinstance(parse_trace(lines)[0], TraceRequest)
