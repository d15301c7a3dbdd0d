"""`python -m bench.metrics_recording`: what recording one request's metrics costs, two ways.

The engine-metrics issue asked for a deliberate choice between `prometheus_client`'s
multiprocess mode (the well-kept library for metrics across worker processes) and cells in
the shared memory map the workers already have. This measures the part that runs on every
request, in one process, for the same updates: the families vLLM records per finished
request (11 histograms, prompt/generation token counters, success by finish reason, the
running gauge up and down) plus one inter-token observation per token of a 16-token answer.

    python -m bench.metrics_recording            # both, 20,000 requests each
    python -m bench.metrics_recording --requests 50000
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

TOKENS = 16
HISTOGRAMS = (
    "ttft_s", "itl_s", "e2e_s", "queue_s", "inference_s", "prefill_s", "decode_s", "prompt_tokens",
    "generation_tokens", "iteration_tokens", "max_tokens",
)  # fmt: skip


def time_ours(requests: int) -> float:
    """Microseconds per request with MetricsRecorder over a block of the shared state file."""
    from mockcore.metrics import LAYOUT, RequestOutcome
    from mockhttp.metrics_recorder import RequestFacts
    from mockhttp.shared_state import (
        SharedLoadTracker,
        SharedMetricsStore,
        SharedStateFile,
        create_shared_state_file,
    )

    path = create_shared_state_file(tempfile.gettempdir())
    state = SharedStateFile(path)
    store = SharedMetricsStore(state, SharedLoadTracker(state).slot_index)
    recorder = store.recorder
    outcome = RequestOutcome(
        prompt_tokens=120, completion_tokens=TOKENS, max_tokens=64, finish_reason="length",
        first_token_s=0.02, end_s=0.1,
    )  # fmt: skip
    facts = RequestFacts(True, 300, LAYOUT.request_cell("chat", True, 200))

    async def record() -> float:
        # On an event loop, as in the server: the recorder publishes on a timer of the loop,
        # which runs whenever the loop gets a turn (here every 64 requests).
        started = time.perf_counter()
        for request in range(requests):
            recorder.request_started(136, stream=True)
            for _token in range(TOKENS - 1):
                recorder.observe_gap(0.005, 1)
            recorder.request_finished(outcome, 136, facts, 4000)
            if request % 64 == 63:
                await asyncio.sleep(0)
        recorder.publish()
        return time.perf_counter() - started

    elapsed = asyncio.run(record())
    store.close()
    state.close()
    path.unlink()
    return elapsed / requests * 1e6


def time_prometheus_client(requests: int) -> float:
    """Microseconds per request with prometheus_client in multiprocess mode (run in a child)."""
    from prometheus_client import Counter, Gauge, Histogram

    labels = {"model_name": "mock-model", "engine": "0"}
    names = list(labels)
    histograms = [Histogram(f"h_{name}", name, names).labels(**labels) for name in HISTOGRAMS]
    itl = histograms[1]
    prompt = Counter("prompt_tokens", "p", names).labels(**labels)
    generation = Counter("generation_tokens", "g", names).labels(**labels)
    success = Counter("request_success", "s", [*names, "finished_reason"]).labels(
        **labels, finished_reason="length"
    )
    running = Gauge("running", "r", names, multiprocess_mode="livesum").labels(**labels)
    started = time.perf_counter()
    for _ in range(requests):
        running.inc()
        for _token in range(TOKENS - 1):
            itl.observe(0.005)
        running.dec()
        prompt.inc(120)
        generation.inc(TOKENS)
        success.inc()
        for histogram in histograms:
            histogram.observe(0.05)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    """Run both and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(f"{time_prometheus_client(options.requests):.2f}")
        return
    ours = time_ours(options.requests)
    with tempfile.TemporaryDirectory() as directory:
        # Multiprocess mode is chosen when prometheus_client is imported: a child with the variable set.
        child = subprocess.run(
            [sys.executable, "-m", "bench.metrics_recording", "--child", "--requests", str(options.requests)],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory},
            capture_output=True,
            text=True,
            check=True,
        )
        theirs = float(child.stdout)
    print(f"per request ({TOKENS} streamed tokens), {options.requests:,} requests:")
    print(f"  shared-memory cells (ours)             {ours:7.2f} us")
    print(f"  prometheus_client multiprocess mode    {theirs:7.2f} us   ({theirs / ours:.1f}x)")


if __name__ == "__main__":
    main()
