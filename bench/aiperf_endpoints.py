"""`python -m bench.aiperf_endpoints`: every aiperf endpoint type against a `--fast` server.

aiperf 0.13 has seventeen endpoint types; each runs a short profile (20 requests, c = 2 by
default) against one server, and the table says how many requests completed, how many
failed and the request throughput aiperf measured. aiperf is not a dependency of this
project: pass the command that runs it (on a machine without internet, the repository's
sibling `../shared/tools/aiperf-offline`).

    python -m bench.aiperf_endpoints --aiperf ../shared/tools/aiperf-offline
    python -m bench.aiperf_endpoints --aiperf aiperf --requests 100 --only image_edit
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.processes import ServerProcess, free_port, mock_server_command


@dataclass(frozen=True)
class EndpointRun:
    """One aiperf run: its endpoint type and the options it needs here."""

    endpoint_type: str
    options: tuple[str, ...] = ()
    tokenizer: bool = True  # aiperf refuses `--tokenizer` for some media types

    @property
    def label(self) -> str:
        return " ".join((self.endpoint_type, *self.options))


_IMAGE_INPUT = ("--image-width-mean", "256", "--image-height-mean", "256", "--image-batch-size", "1")
RUNS = (
    EndpointRun("chat", ("--streaming",)),
    EndpointRun("completions", ("--streaming",)),
    EndpointRun("responses", ("--streaming",)),
    EndpointRun("messages", ("--streaming",)),
    EndpointRun("huggingface_generate", ("--streaming",)),
    EndpointRun("embeddings"),
    EndpointRun("nim_embeddings", ("--extra-inputs", "input_type:query", "--extra-inputs", "truncate:END")),
    EndpointRun("chat_embeddings", _IMAGE_INPUT),
    EndpointRun("nim_rankings"),
    EndpointRun("hf_tei_rankings"),
    EndpointRun("cohere_rankings"),
    EndpointRun("image_retrieval", _IMAGE_INPUT, tokenizer=False),
    EndpointRun("solido_rag", ("--streaming",)),
    EndpointRun("image_generation", ("--extra-inputs", "size:256x256")),
    EndpointRun(
        "image_generation",
        ("--streaming", "--extra-inputs", "partial_images:2", "--extra-inputs", "size:256x256"),
    ),
    EndpointRun("image_edit", ("--image-width-mean", "256", "--image-height-mean", "256")),
    EndpointRun("video_generation", ("--download-video-content",)),
    EndpointRun("audio_transcription", ("--audio-length-mean", "5"), tokenizer=False),
)  # fmt: skip


def _profile(
    aiperf: list[str], base_url: str, run: EndpointRun, requests: int, artifacts: Path
) -> dict[str, float]:
    command = [
        *aiperf, "profile", "--url", base_url, "--model", "mock-model", "--endpoint-type", run.endpoint_type,
        "--request-count", str(requests), "--concurrency", "2", "--ui-type", "none",
        "--artifact-dir", str(artifacts), *run.options,
    ]  # fmt: skip
    if run.tokenizer:
        command += ["--tokenizer", "builtin"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    export = artifacts / "profile_export_aiperf.json"
    if finished.returncode != 0 or not export.exists():
        tail = (finished.stdout + finished.stderr)[-2000:]
        print(f"  {run.label}: aiperf exited {finished.returncode}\n{tail}", file=sys.stderr)
        return {"completed": 0.0, "errors": float(requests), "throughput": 0.0}
    report = json.loads(export.read_text())
    completed = float(report["completed_request_count"]["avg"])
    errors = float(sum(entry.get("count", 1) for entry in report.get("error_summary", [])))
    return {
        "completed": completed,
        "errors": errors,
        "throughput": float(report["request_throughput"]["avg"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--aiperf", default="aiperf", help="the command that runs aiperf (split like a shell)"
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--only", action="append", help="an endpoint type to run (repeatable)")
    options = parser.parse_args()
    aiperf = shlex.split(options.aiperf)
    runs = [run for run in RUNS if not options.only or run.endpoint_type in options.only]
    port = free_port()
    argv = [mock_server_command(), "--port", str(port), "--fast", "--log-level", "WARNING"]
    failed = 0
    with (
        ServerProcess("aiperf-endpoints", argv, port, 1, None).start(),
        tempfile.TemporaryDirectory() as scratch,
    ):
        print(f"{'endpoint type (options)':<90} {'completed':>9} {'errors':>6} {'req/s':>8}")
        for index, run in enumerate(runs):
            figures = _profile(
                aiperf, f"http://127.0.0.1:{port}", run, options.requests, Path(scratch) / str(index)
            )
            failed += figures["errors"] > 0 or figures["completed"] < options.requests
            counts = f"{figures['completed']:>9.0f} {figures['errors']:>6.0f}"
            print(f"{run.label:<90} {counts} {figures['throughput']:>8.1f}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
