"""The reference mock server's command line, option by option, as flags and as environment.

A CI script that starts the reference server must start this one unchanged: every option the
reference documents is accepted with the reference's meaning, or, for the few this server does
not have yet, refused with one line that says so (never accepted and ignored). The option
list is the reference's, by name, with its meaning written as the Settings it must produce.
"""

from typing import Any

import pytest
from typer.testing import CliRunner

from mockcli.main import EXIT_INVALID_OPTION, app
from mockcli.unsupported import UNSUPPORTED_OPTIONS
from mockcore.settings import Settings

# (flag, value or None for a switch, the Settings fields it sets)
SUPPORTED: list[tuple[str, str | None, dict[str, Any]]] = [
    ("--port", "8080", {"port": 8080}),
    ("--host", "0.0.0.0", {"host": "0.0.0.0"}),  # noqa: S104 - a value, not a bind
    ("--workers", "4", {"workers": 4}),
    ("--ttft", "50", {"ttft": 50.0}),
    ("--itl", "10", {"itl": 10.0}),
    ("--ttft-per-isl-token-ms", "0.05", {"ttft_per_isl_token_ms": 0.05}),
    ("--ttft-concurrency-quad-ms", "0.001", {"ttft_concurrency_quad_ms": 0.001}),
    ("--itl-per-osl-token-ms", "0.01", {"itl_per_osl_token_ms": 0.01}),
    ("--itl-concurrency-lin-ms", "0.05", {"itl_concurrency_lin_ms": 0.05}),
    ("--ttft-jitter-cv", "0.2", {"ttft_jitter_cv": 0.2}),
    ("--itl-jitter-cv", "0.15", {"itl_jitter_cv": 0.15}),
    ("--embedding-base-latency", "10", {"embedding_base_latency": 10.0}),
    ("--embedding-per-input-latency", "2", {"embedding_per_input_latency": 2.0}),
    ("--ranking-base-latency", "10", {"ranking_base_latency": 10.0}),
    ("--ranking-per-passage-latency", "1", {"ranking_per_passage_latency": 1.0}),
    ("--image-retrieval-base-latency", "12", {"image_retrieval_base_latency": 12.0}),
    ("--image-retrieval-per-image-latency", "6", {"image_retrieval_per_image_latency": 6.0}),
    ("--log-level", "WARNING", {"log_level": "WARNING"}),
    ("--verbose", None, {"verbose": True, "effective_log_level": "DEBUG"}),
    ("--access-logs", None, {"access_logs": True}),
    ("--error-rate", "5", {"error_rate": 5.0}),
    ("--random-seed", "42", {"random_seed": 42}),
    ("--dcgm-gpu-name", "b200", {"dcgm_gpu_name": "b200"}),
    ("--dcgm-num-gpus", "8", {"dcgm_num_gpus": 8}),
    ("--dcgm-min-throughput", "500", {"dcgm_min_throughput": 500}),
    ("--dcgm-window-sec", "5", {"dcgm_window_sec": 5.0}),
    ("--dcgm-hostname", "node-7", {"dcgm_hostname": "node-7"}),
    ("--dcgm-seed", "3", {"dcgm_seed": 3}),
    ("--dcgm-auto-load", None, {"dcgm_auto_load": True}),
    ("--no-dcgm-auto-load", None, {"dcgm_auto_load": False}),
    ("--no-tokenizer", None, {"no_tokenizer": True}),
    ("--default-model", "my-model", {"default_model": "my-model"}),
    ("--models-ready-delay-seconds", "3", {"models_ready_delay_seconds": 3.0}),
    ("--disable-models-endpoint", None, {"disable_models_endpoint": True}),
    ("--inference-ready-delay-seconds", "2.5", {"inference_ready_delay_seconds": 2.5}),
    ("--api-key", "sk-test", {"api_key": "sk-test"}),
    ("--auth-header-name", "X-API-Key", {"auth_header_name": "X-API-Key"}),
    (
        "--fast",
        None,
        {
            "fast": True,
            "ttft": 0.0,
            "itl": 0.0,
            "embedding_base_latency": 0.0,
            "embedding_per_input_latency": 0.0,
            "ranking_base_latency": 0.0,
            "ranking_per_passage_latency": 0.0,
            "image_retrieval_base_latency": 0.0,
            "image_retrieval_per_image_latency": 0.0,
        },
    ),
]
SHORT: list[tuple[list[str], dict[str, Any]]] = [
    (["-p", "9000"], {"port": 9000}),
    (["-w", "2"], {"workers": 2}),
    (["-t", "35"], {"ttft": 35.0}),
    (["-v"], {"verbose": True}),
    (["-f"], {"fast": True, "ttft": 0.0}),
]
# The reference's unsupported options with a value a script would give.
UNSUPPORTED_VALUES = {
    "scheduler_step_ms": "5",
    "scheduler_max_batch_size": "256",
    "scheduler_max_prefill_chunks_per_step": "8",
    "scheduler_prefill_chunk_tokens": "512",
    "scheduler_goodput_collapse_threshold": "1.5",
    "scheduler_goodput_collapse_slope": "0.5",
    "scheduler_goodput_collapse_floor": "0.3",
    "tokenizer": "builtin",
    "tokenizer_revision": "main",
    "record_requests": "requests.jsonl",
    "accuracy_dataset": "dataset.jsonl",
    "accuracy_format": "mmlu",
    "accuracy_match": "substring",
    "accuracy_correct_rate": "0.5",
    "accuracy_cot_rate": "0.1",
    "accuracy_adversarial_rate": "0.1",
}


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


# The off side of a switch pair (`--no-tokenizer` is an option of its own, not a negation).
NEGATIONS = {"--no-dcgm-auto-load"} | {
    "--no-" + name.replace("_", "-") for name, (is_switch, _) in UNSUPPORTED_OPTIONS.items() if is_switch
}


def environment_of(flag: str, value: str | None) -> dict[str, str]:
    """The reference's environment form: MOCK_SERVER_<OPTION>, switches as true/false."""
    if flag in NEGATIONS:
        return {"MOCK_SERVER_" + flag.removeprefix("--no-").replace("-", "_").upper(): "false"}
    name = "MOCK_SERVER_" + flag.removeprefix("--").replace("-", "_").upper()
    return {name: "true" if value is None else value}


def assert_means(settings: Settings, expected: dict[str, Any]) -> None:
    for field, value in expected.items():
        assert getattr(settings, field) == value, field


@pytest.mark.parametrize(("flag", "value", "expected"), SUPPORTED, ids=[row[0] for row in SUPPORTED])
def test_a_reference_flag_is_accepted_with_its_meaning(
    captured_settings: list[Settings], flag: str, value: str | None, expected: dict[str, Any]
) -> None:
    result = invoke([flag] if value is None else [flag, value])
    assert result.exit_code == 0, result.output
    assert_means(captured_settings[-1], expected)


@pytest.mark.parametrize(("flag", "value", "expected"), SUPPORTED, ids=[row[0] for row in SUPPORTED])
def test_a_reference_environment_variable_is_accepted_with_its_meaning(
    captured_settings: list[Settings], flag: str, value: str | None, expected: dict[str, Any]
) -> None:
    result = invoke([], environment_of(flag, value))
    assert result.exit_code == 0, result.output
    assert_means(captured_settings[-1], expected)


@pytest.mark.parametrize(("args", "expected"), SHORT, ids=[row[0][0] for row in SHORT])
def test_the_reference_short_flags(captured_settings: list[Settings], args: list[str], expected: Any) -> None:
    assert invoke(args).exit_code == 0
    assert_means(captured_settings[-1], expected)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["--fast"],
        ["--port", "8080", "--ttft", "50", "--itl", "10"],
        ["-v"],
        ["--fast", "--no-tokenizer", "--workers", "2", "--error-rate", "5", "--random-seed", "7"],
        ["--api-key", "k", "--auth-header-name", "X-API-Key", "--default-model", "mock-model"],
        ["--ttft", "5", "--itl", "1", "--ttft-concurrency-quad-ms", "0.035"],
    ],
)
def test_the_reference_documented_command_lines_start(
    captured_settings: list[Settings], command: list[str]
) -> None:
    result = invoke(command)
    assert result.exit_code == 0, result.output
    assert len(captured_settings) == 1


def test_the_reference_environment_example_starts(captured_settings: list[Settings]) -> None:
    result = invoke([], {"MOCK_SERVER_PORT": "8080", "MOCK_SERVER_FAST": "true"})
    assert result.exit_code == 0, result.output
    assert_means(captured_settings[0], {"port": 8080, "fast": True, "ttft": 0.0, "itl": 0.0})


@pytest.mark.parametrize("name", list(UNSUPPORTED_OPTIONS))
@pytest.mark.parametrize("source", ["flag", "environment"])
def test_an_unsupported_reference_option_fails_with_one_line_naming_it(
    captured_settings: list[Settings], name: str, source: str
) -> None:
    is_switch, work = UNSUPPORTED_OPTIONS[name]
    flag = "--" + name.replace("_", "-")
    value = None if is_switch else UNSUPPORTED_VALUES[name]
    if source == "flag":
        result = invoke([flag] if value is None else [flag, value])
    else:
        result = invoke([], environment_of(flag, value))
    assert result.exit_code == EXIT_INVALID_OPTION
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert flag in lines[0]
    assert "does not support yet" in lines[0]
    assert work in lines[0]
    assert captured_settings == [], "the server must not start"


@pytest.mark.parametrize("name", [name for name, (is_switch, _) in UNSUPPORTED_OPTIONS.items() if is_switch])
def test_an_unsupported_switch_turned_off_asks_for_what_this_server_does(
    captured_settings: list[Settings], name: str
) -> None:
    flag = "--" + name.replace("_", "-")
    assert invoke(["--no-" + flag.removeprefix("--")]).exit_code == 0
    assert invoke([], environment_of("--no-" + flag.removeprefix("--"), None)).exit_code == 0
    assert len(captured_settings) == 2


def test_the_reference_accuracy_example_is_refused_for_its_dataset(captured_settings: list[Settings]) -> None:
    command = ["--fast", "--no-tokenizer", "--accuracy-dataset", "dataset.jsonl", "--accuracy-format", "mmlu"]
    result = invoke(command)
    assert result.exit_code == EXIT_INVALID_OPTION
    assert "--accuracy-dataset" in result.output
    assert captured_settings == []
