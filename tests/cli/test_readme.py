"""The README's examples run as written (only the port is made free)."""

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.cli.conftest import StartCliServer
from tests.server_process import clean_environ, free_port, installed_script

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def fenced_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_python_example_talks_to_a_running_server(cli_server: StartCliServer) -> None:
    (example,) = fenced_blocks("python")
    assert 'base_url="http://127.0.0.1:8000/v1"' in example
    port = free_port()
    cli_server(["--port", str(port), "--ttft", "0", "--itl", "0"], port=port)
    script = example.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "completion_tokens=" in result.stdout
    assert result.stderr == ""


def test_the_help_command_prints_every_option() -> None:
    commands = [line for block in fenced_blocks("bash") for line in block.splitlines()]
    assert ".venv/bin/aiperf-mock-server --help" in commands
    result = subprocess.run(
        [installed_script("aiperf-mock-server"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=clean_environ(),
    )
    assert result.returncode == 0, result.stderr
    assert "--error-rate" in result.stdout
    assert "--random-seed" in result.stdout


def test_the_environment_example_mixes_a_variable_and_flags(cli_server: StartCliServer) -> None:
    commands = [line for block in fenced_blocks("bash") for line in block.splitlines()]
    assert "MOCK_SERVER_TTFT=30 .venv/bin/aiperf-mock-server --error-rate 5 --random-seed 42" in commands
    port = free_port()
    server = cli_server(
        ["--error-rate", "5", "--random-seed", "42", "--port", str(port)],
        port=port,
        env={"MOCK_SERVER_TTFT": "30"},
    )
    with httpx.Client(base_url=server.base_url, timeout=30.0, trust_env=False) as client:
        config = client.get("/health").json()["config"]
    assert (config["ttft"], config["error_rate"], config["random_seed"]) == (30.0, 5.0, 42)
