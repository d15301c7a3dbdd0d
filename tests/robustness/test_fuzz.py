"""Schemathesis fuzzes the real server from the OpenAPI document it serves at `/openapi.json`.

It generates valid and invalid requests for every operation and checks every answer: no 5xx,
statuses, content types, headers and bodies as the document says, invalid data refused.
"""

import subprocess
from pathlib import Path

import pytest
from tests.robustness.conftest import StartCliServer, assert_healthy
from tests.server_process import installed_script

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FUZZED = [
    *("--ttft", "0", "--itl", "0", "--max-output-tokens", "256", "--max-prompt-chars", "20000"),
    # Ten edited images of 1.5 megapixels at high quality would take 25 s of simulated time.
    *("--image-base-latency", "0", "--image-latency-per-megapixel", "0"),
]
# Every warning but `validation_mismatch`: no generator makes valid audio, so the audio routes
# refuse most generated uploads (random bytes as a file) by design.
WARNINGS = ",".join([
    "missing_auth", "missing_test_data", "base_url_mismatch", "missing_deserializer", "unused_openapi_auth",
    "unsupported_regex", "method_not_allowed", "constants_extraction", "unmatched_filter",
    "unresolvable_reference", "low_valid_rate", "rate_limited", "dictionary_mismatch", "timeout_units",
])  # fmt: skip
EXAMPLES_PER_OPERATION = 30
RUN_TIMEOUT_S = 150


def test_schemathesis_finds_no_server_error_and_no_nonconformance(
    cli_server: StartCliServer, tmp_path: Path
) -> None:
    server = cli_server(FUZZED)
    command = [
        installed_script("st"),
        "run",
        f"{server.base_url}/openapi.json",
        "--checks",
        "all",
        # Excluded: positive_data_acceptance expects every schema-valid request to succeed.
        # Three kinds of rule are outside what JSON Schema can say, and the server is right
        # to answer 400 to them: (1) cross-field rules (`min_tokens` <= `max_tokens`);
        # (2) the configured limits, which are options of the server, not of the document
        # (`max_tokens` <= --max-output-tokens, total prompt characters); (3) JSON Schema
        # counts 5.0 as an integer, while the server decodes strictly, as the OpenAI
        # reference types say (an integer field takes an integer literal).
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        # One worker: concurrent workers share hypothesis internals that are not thread-safe.
        "--workers",
        "1",
        "--seed",
        "20240601",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--warnings",
        WARNINGS,
    ]
    # In a scratch directory: schemathesis keeps a cache of failures where it runs.
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    report = result.stdout[-20_000:] + result.stderr[-5_000:]
    assert result.returncode == 0, report
    assert "No issues found" in result.stdout, report
    assert_healthy(server.base_url)
    log = server.log_text()
    assert "Traceback" not in log
    assert "unhandled exception" not in log
