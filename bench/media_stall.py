"""`python -m bench.media_stall`: the event loop's longest stall while the app serves media.

Media work (encoding an image or a video, decoding audio) runs in threads; what is left on
the event loop must not hold it for more than a few milliseconds. This drives each media
route through the ASGI app in process (`create_app(Settings(fast=True))`, so no simulated
latency hides the work), `--concurrency` requests at a time, while a watchdog task asks the
loop for a 1 ms sleep over and over and records how late each one wakes: the longest lateness
is the longest stall. It also prints the requests per second the one process managed.

The first row is the same watchdog on an idle loop (the app built, no requests) for
`--idle-seconds`: the machine's own floor. On a shared virtual machine an idle loop stalls
too (the vCPU is not always there), so a scenario's maximum says little unless it stands
clear of that row; its p99 is the figure to compare. The last column, the longest single
callback the loop ran, is what actually blocked it (the watchdog's lateness also counts
callbacks that were merely ready together when the loop is near saturation). Where Linux
says (the main thread's /proc schedstat), `core wait` is how long the loop's thread was
ready to run but had no core, summed over the scenario: media threads beyond the spare cores
show there.

    python -m bench.media_stall                      # every scenario, 64 requests each, c=8
    python -m bench.media_stall --requests 200 --scenario image-1024
    python -m bench.media_stall --media-threads 2    # the app's --media-threads (default: its own)
"""

import argparse
import asyncio
import contextlib
import gc
import io
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import msgspec

from bench.procfs import run_queue_wait_s
from mockcore import Settings
from mockhttp import create_app
from mockhttp.access_log import RawASGIApp
from mockhttp.media_jobs import media_thread_count

WATCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    content_type: str
    body: Callable[[], bytes]
    distinct_prompts: bool = False  # `{n}` in the body becomes the request's number


def _json(payload: dict[str, object]) -> Callable[[], bytes]:
    return lambda: msgspec.json.encode(payload)


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([(x % 256, y % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wav(seconds: float, rate: int = 16000) -> bytes:
    import math
    import struct
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        file.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    return buffer.getvalue()


BOUNDARY = "benchmediaboundary"


def _multipart(
    fields: dict[str, str], files: Callable[[], dict[str, tuple[str, str, bytes]]]
) -> Callable[[], bytes]:
    """A multipart body, built when a run starts (its files are made then)."""

    def build() -> bytes:
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, content_type, data) in files().items():
            head = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            )
            parts.append(head.encode() + data + b"\r\n")
        return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()

    return build


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
SCENARIOS = [
    Scenario(
        "image-256",
        "POST",
        "/v1/images/generations",
        "application/json",
        _json({"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "size": "256x256"}),
    ),
    Scenario(
        "image-256-distinct",
        "POST",
        "/v1/images/generations",
        "application/json",
        _json({"model": "gpt-image-1", "prompt": "a lighthouse at dusk, take {n}", "size": "256x256"}),
        distinct_prompts=True,
    ),
    Scenario(
        "image-1024",
        "POST",
        "/v1/images/generations",
        "application/json",
        _json({"model": "gpt-image-1", "prompt": "a lighthouse at dusk", "size": "1024x1024"}),
    ),
    Scenario(
        "image-1024-distinct",
        "POST",
        "/v1/images/generations",
        "application/json",
        _json({"model": "gpt-image-1", "prompt": "a lighthouse at dusk, take {n}", "size": "1024x1024"}),
        distinct_prompts=True,
    ),
    Scenario(
        "image-1024-jpeg-distinct",
        "POST",
        "/v1/images/generations",
        "application/json",
        _json(
            {
                "model": "gpt-image-1",
                "prompt": "a lighthouse at dusk, take {n}",
                "size": "1024x1024",
                "output_format": "jpeg",
            }
        ),
        distinct_prompts=True,
    ),
    Scenario(
        "image-edit-512",
        "POST",
        "/v1/images/edits",
        MULTIPART,
        _multipart(
            {"model": "gpt-image-1", "prompt": "make it snow", "size": "512x512"},
            lambda: {"image": ("in.png", "image/png", _png(512, 512))},
        ),
    ),
    Scenario(
        "transcription-30s",
        "POST",
        "/v1/audio/transcriptions",
        MULTIPART,
        _multipart(
            {"model": "whisper-1", "response_format": "verbose_json"},
            lambda: {"file": ("speech.wav", "audio/wav", _wav(30.0))},
        ),
    ),
]


async def _request(app: RawASGIApp, scenario: Scenario, body: bytes) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", scenario.content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return status


async def _watch(lateness: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(WATCH_INTERVAL_S)
        lateness.append(time.perf_counter() - started - WATCH_INTERVAL_S)


@contextlib.contextmanager
def _timed_callbacks(durations: list[float]) -> Iterator[None]:
    """Time every callback the loop runs (a task's step is one): how long each held the loop.

    The watchdog's lateness also counts callbacks that were merely ready at the same time
    (a loop near saturation runs many short ones back to back); the longest single callback
    is what blocked the loop, waits for the GIL inside it included.
    """
    original = asyncio.events.Handle._run  # the one place every callback passes

    def timed(handle: asyncio.events.Handle) -> None:
        started = time.perf_counter()
        original(handle)
        durations.append(time.perf_counter() - started)

    asyncio.events.Handle._run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]


async def run(scenario: Scenario, requests: int, concurrency: int, settings: Settings) -> dict[str, float]:
    app = create_app(settings)
    body = scenario.body()
    await _request(app, scenario, body)  # warm-up: imports, first encode
    gc.freeze()  # as a server's worker does once its app is built (mockcli.worker)
    lateness: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(lateness, stop))
    statuses: list[int] = []
    remaining = iter(range(requests))

    async def client() -> None:
        for number in remaining:
            sent = body.replace(b"{n}", str(number).encode()) if scenario.distinct_prompts else body
            status = await _request(app, scenario, sent)
            statuses.append(status)

    callbacks: list[float] = []
    started, waited = time.perf_counter(), _core_wait_s()
    with _timed_callbacks(callbacks):
        await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed, waited = time.perf_counter() - started, _core_wait_s() - waited
    stop.set()
    await watcher
    return {
        "requests": len(statuses),
        "ok": sum(status == 200 for status in statuses),
        "req_per_s": len(statuses) / elapsed,
        **_stall_figures(lateness),
        "callback_max_ms": max(callbacks) * 1000,
        "core_wait_ms": waited * 1000,
    }


async def idle(seconds: float, settings: Settings) -> dict[str, float]:
    """The watchdog's and the callbacks' figures over `seconds` with the app built and nothing to serve."""
    create_app(settings)
    gc.freeze()
    lateness: list[float] = []
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(lateness, stop))
    callbacks: list[float] = []
    waited = _core_wait_s()
    with _timed_callbacks(callbacks):
        await asyncio.sleep(seconds)
    waited = _core_wait_s() - waited
    stop.set()
    await watcher
    loop_figures = {"callback_max_ms": max(callbacks) * 1000, "core_wait_ms": waited * 1000}
    return {**_stall_figures(lateness), **loop_figures}


def _core_wait_s() -> float:
    """How long the loop's (main) thread has been ready to run without a core, seconds (NaN off Linux)."""
    waited = run_queue_wait_s(os.getpid())
    return math.nan if waited is None else waited


def _stall_figures(lateness: list[float]) -> dict[str, float]:
    lateness.sort()
    return {
        "stall_max_ms": lateness[-1] * 1000,
        "stall_p99_ms": lateness[int(len(lateness) * 0.99)] * 1000,
        "stall_median_ms": statistics.median(lateness) * 1000,
    }


def _stall_columns(figures: dict[str, float]) -> str:
    return " ".join(
        f"{figures[name]:>{width}.2f}"
        for name, width in (
            ("stall_max_ms", 10),
            ("stall_p99_ms", 7),
            ("stall_median_ms", 7),
            ("callback_max_ms", 13),
            ("core_wait_ms", 10),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--scenario", action="append", choices=[s.name for s in SCENARIOS])
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="the idle loop's row first (0: none)")
    parser.add_argument(
        "--media-threads", type=int, default=0, help="the app's --media-threads (0: the server's default)"
    )
    options = parser.parse_args()
    settings = Settings(fast=True, media_threads=options.media_threads)
    print(f"media threads: {media_thread_count(settings)} ({os.cpu_count()} cores)")
    chosen = [s for s in SCENARIOS if not options.scenario or s.name in options.scenario]
    print(
        f"{'scenario':<20} {'ok/requests':>12} {'req/s':>8} {'stall max':>10} {'p99':>7} {'median':>7}"
        f" {'callback max':>13} {'core wait':>10}  (ms)"
    )
    if options.idle_seconds > 0:
        figures = asyncio.run(idle(options.idle_seconds, settings))
        print(f"{'idle (no requests)':<20} {'-':>12} {'-':>8} {_stall_columns(figures)}")
    for scenario in chosen:
        figures = asyncio.run(run(scenario, options.requests, options.concurrency, settings))
        served = f"{figures['ok']:.0f}/{figures['requests']:.0f}"
        print(f"{scenario.name:<20} {served:>12} {figures['req_per_s']:>8.1f} {_stall_columns(figures)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
