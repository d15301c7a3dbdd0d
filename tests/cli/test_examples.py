"""Every example of the original product description runs as written (only the port is free).

The commands are copied verbatim from the seed document's Quick Start, Configuration and Usage
Examples sections. A command without `--port` gets its free port from `MOCK_SERVER_PORT` so
that its command line stays exactly as written; `--port 8080` / `--port 8000` and
`localhost:8000` get the free port in place of theirs.
"""

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from tests.cli.conftest import CliServer, StartCliServer
from tests.server_process import free_port

from mockcore import Settings, predict
from mockcore.settings import settings_as_config

pytestmark = pytest.mark.e2e

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed")


@dataclass(frozen=True)
class Example:
    """A server command from the seed document and the settings it must run with."""

    command: str
    expected: dict[str, Any]
    environment: dict[str, str] = field(default_factory=dict)


EXAMPLES = {
    "defaults": Example("aiperf-mock-server", {}),
    "custom-server": Example(
        "aiperf-mock-server --port 8080 --ttft 50 --itl 10 --workers 4",
        {"ttft": 50.0, "itl": 10.0, "workers": 4},
    ),
    "gpu-4xh100": Example(
        "aiperf-mock-server --dcgm-num-gpus 4 --dcgm-gpu-name h100",
        {"dcgm_num_gpus": 4, "dcgm_gpu_name": "h100"},
    ),
    "fault-5": Example(
        "aiperf-mock-server --error-rate 5 --random-seed 42", {"error_rate": 5.0, "random_seed": 42}
    ),
    "verbose": Example("aiperf-mock-server -v", {"verbose": True}),
    "environment": Example(
        "aiperf-mock-server",
        {"ttft": 30.0, "dcgm_gpu_name": "h100"},
        {"MOCK_SERVER_PORT": "8080", "MOCK_SERVER_TTFT": "30", "MOCK_SERVER_DCGM_GPU_NAME": "h100"},
    ),
    "workers-32": Example("aiperf-mock-server --workers 32 --port 8000", {"workers": 32}),
    "gpu-8xa100": Example(
        "aiperf-mock-server \\\n  --dcgm-num-gpus 8 \\\n  --dcgm-gpu-name a100 \\\n  --dcgm-initial-load 0.5",
        {"dcgm_num_gpus": 8, "dcgm_gpu_name": "a100", "dcgm_initial_load": 0.5},
    ),
    "fault-10": Example(
        "aiperf-mock-server --error-rate 10 --random-seed 42", {"error_rate": 10.0, "random_seed": 42}
    ),
}


def start_example(cli_server: StartCliServer, example: Example) -> CliServer:
    """Run the example with a free port in place of its own; check /health shows its settings."""
    port = free_port()
    argv = shlex.split(example.command.replace("\\\n", " "))  # as the shell splits it
    assert argv[0] == "aiperf-mock-server"
    argv = [
        str(port) if index and argv[index - 1] in {"--port", "-p"} else word
        for index, word in enumerate(argv)
    ]
    environment = {**example.environment, "MOCK_SERVER_PORT": str(port)}
    server = cli_server(argv[1:], port=port, env=environment)
    health = server.wait_until_healthy()
    expected = settings_as_config(Settings(**{"port": port, **example.expected}))
    assert health["status"] == "healthy"
    assert health["config"] == expected
    return server


def run_curl(command: str, port: int) -> str:
    """Run a curl example from the document, as written but for the port."""
    assert CURL is not None
    script = command.replace("localhost:8000", f"localhost:{port}")
    completed = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=[pytest.mark.slow] if name == "workers-32" else []) for name in EXAMPLES],
)
def test_server_example_runs_as_written(cli_server: StartCliServer, name: str) -> None:
    example = EXAMPLES[name]
    server = start_example(cli_server, example)
    workers = example.expected.get("workers", 1)
    assert len(server.wait_for_workers(workers)) == workers
    assert server.stop() == 0, server.describe()


# -- the curl examples, against the servers they go with --------------------------------------

STREAMING_CHAT = """curl -N -X POST http://localhost:8000/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "gpt-4",
    "messages": [{"role": "user", "content": "Explain machine learning"}],
    "stream": true,
    "stream_options": {"include_usage": true}
  }'"""

REASONING_CHAT = """curl -X POST http://localhost:8000/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "openai/gpt-oss-120b",
    "messages": [{"role": "user", "content": "Solve: What is 2+2?"}],
    "reasoning_effort": "high",
    "max_completion_tokens": 1000
  }'"""

ENDPOINT_CHAT = """curl -X POST http://localhost:8000/v1/chat/completions \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "openai/gpt-oss-120b",
    "messages": [{"role": "user", "content": "Explain quantum entanglement"}],
    "max_completion_tokens": 100,
    "reasoning_effort": "high",
    "stream": false
  }'"""

DCGM_QUERIES = """# Query both DCGM instances
curl http://localhost:8000/dcgm1/metrics
curl http://localhost:8000/dcgm2/metrics"""

FAULT_LOOP = """# Test error handling
for i in {1..100}; do
  curl -X POST http://localhost:8000/v1/chat/completions \\
    -H "Content-Type: application/json" \\
    -d '{"model": "gpt-4", "messages": [{"role": "user", "content": "test"}]}'
done"""


def _payload(command: str) -> dict[str, Any]:
    match = re.search(r"-d '(.*)'", command, re.DOTALL)
    assert match is not None
    payload: dict[str, Any] = msgspec.json.decode(match[1])
    return payload


@needs_curl
def test_chat_curl_examples(cli_server: StartCliServer) -> None:
    server = start_example(cli_server, EXAMPLES["defaults"])

    events = [line.removeprefix("data: ") for line in run_curl(STREAMING_CHAT, server.port).splitlines()]
    events = [event for event in events if event]
    assert events[-1] == "[DONE]"
    chunks = [msgspec.json.decode(event) for event in events[:-1]]
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks[:-1])
    plan = predict("chat", _payload(STREAMING_CHAT)).plan
    assert plan is not None
    assert text == plan.choices[0].content_text
    assert usage["completion_tokens"] == plan.usage.completion_tokens

    for command in (REASONING_CHAT, ENDPOINT_CHAT):
        body = msgspec.json.decode(run_curl(command, server.port))
        message = body["choices"][0]["message"]
        assert message["reasoning_content"], body
        plan = predict("chat", _payload(command)).plan
        assert plan is not None
        assert message["content"] == plan.choices[0].content_text
        assert message["reasoning_content"] == plan.choices[0].reasoning_text
        assert body["usage"]["completion_tokens"] == plan.usage.completion_tokens


@needs_curl
def test_dcgm_curl_example(cli_server: StartCliServer) -> None:
    server = start_example(cli_server, EXAMPLES["gpu-8xa100"])
    output = run_curl(DCGM_QUERIES, server.port)
    utilisation = [line for line in output.splitlines() if line.startswith("DCGM_FI_DEV_GPU_UTIL{")]
    assert len(utilisation) == 2 * 8  # two exporters, eight GPUs each
    assert all("A100" in line for line in utilisation)


@needs_curl
@pytest.mark.slow
def test_fault_injection_curl_loop(cli_server: StartCliServer) -> None:
    server = start_example(cli_server, EXAMPLES["fault-10"])
    output = run_curl(FAULT_LOOP, server.port)
    # 100 JSON bodies back to back; each is one line.
    bodies = [msgspec.json.decode(line) for line in output.replace("}{", "}\n{").splitlines() if line]
    assert len(bodies) == 100
    failed = ["error" in body for body in bodies]
    settings = Settings(error_rate=10.0, random_seed=42)
    payload = _payload(FAULT_LOOP)
    predicted = [
        predict("chat", payload, settings, sequence_number=n).status_code == 500 for n in range(1, 101)
    ]
    assert failed == predicted
    assert 0 < sum(failed) < 30
    assert all(body["error"]["type"] == "server_error" for body in bodies if "error" in body)
