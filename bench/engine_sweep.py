"""Saturation sweep of the engine simulation: closed-loop clients from 1 to 512, and its knee.

python -m bench.engine_sweep                         # offline (default): mockcore only, deterministic
python -m bench.engine_sweep --live http://127.0.0.1:8501 --max-waiting-requests 64
                                                     # the same sweep against a running server

C clients each send a request (ISL prompt tokens, OSL +- 25 % output tokens, seeded), wait for
its last token and send the next at once (a closed loop), so concurrency, not an arrival rate,
is the load. Offline, the clients drive `mockcore.engine.scheduler.Engine` on its virtual
clock, as `replay` does for an open-loop trace; live, they stream chat completions with
`max_tokens == min_tokens` from a server started with `--engine` (and, for 429s,
`--max-waiting-requests`), with a distinct prompt prefix each so no prefix cache hit helps. A
429 is answered as its Retry-After asks: the client waits a second and sends again.

The sweep is compared with the roofline's knee: the batch past which a step is bound by
arithmetic, not by reading the weights (see `predict_knee`). The measured knee is where the
low-load line (concurrency x the throughput of one client) meets the plateau (the highest
throughput of the sweep): the ridge point of the measured curve, as a roofline's is.
"""

import argparse
import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import math
import os
import platform
import random
import re
import sys
import time
import uuid
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from bench.http1 import HTTPConnection, build_request
from bench.processes import REPO_ROOT
from bench.svg_plot import Panel, Series, VerticalLine, line_chart_svg
from mockcore.engine import Engine, EngineConfig, Sequence, builtin_profile
from mockcore.engine.from_settings import engine_config
from mockcore.engine.summary import percentile
from mockcore.settings import Settings

RESULTS_DIR = REPO_ROOT / "bench" / "results"
IMAGE = REPO_ROOT / "docs" / "images" / "engine-sweep.svg"
CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512)
# The server's Retry-After on a 429 (mockcore.faults.kinds.RETRY_AFTER_S): the clients honour it.
RETRY_AFTER_S = 1.0
CHARS_PER_TOKEN = 4
# Output lengths vary by this fraction either side of OSL (uniformly, seeded): with one fixed
# length, requests prefilled in the same step finish in the same step, are sent again together,
# and the closed loop locks the whole batch into waves (see `--osl-spread 0`).
OSL_SPREAD = 0.25
SEED = 20260101
# The measured knee is where the curve reaches this fraction of its plateau, as a second opinion.
PLATEAU_FRACTION = 0.9


class SweepPoint(msgspec.Struct, kw_only=True):
    """One concurrency's figures, over the measurement window (times in ms)."""

    concurrency: int
    window_s: float
    output_tokens_per_s: float
    requests: int
    ttft_p50_ms: float
    ttft_p90_ms: float
    itl_p50_ms: float
    # None live: a client cannot see the queue apart from the first token.
    queue_p50_ms: float | None
    # 429s to requests sent in the window, and in the whole run (warm-up included).
    rejected_429: int
    rejected_429_in_run: int
    # The longest waiting queue seen in the window (offline: before each step; live: /metrics).
    max_waiting: int
    mean_batch: float | None = None


class KneePrediction(msgspec.Struct, kw_only=True):
    """The roofline's knee and the three limits it is the least of."""

    tokens_per_sequence_step: float
    compute_bound_batch: float
    decode_only_compute_bound_batch: float
    max_num_seqs: int
    kv_limit_sequences: float
    knee: float
    plateau_tokens_per_s: float


class Knee(msgspec.Struct, kw_only=True):
    """The measured knee by both definitions, and the low-load slope and plateau behind them."""

    single_client_tokens_per_s: float
    plateau_tokens_per_s: float
    ridge: float
    at_90_percent: float


# ---------------------------------------------------------------------------- roofline prediction


class Roofline:
    """Steady-state steps of a closed loop of ISL/OSL requests, on the roofline.

    A step of B sequences computes B x r tokens, r = (ISL + OSL - 1) / OSL: each request
    prefills ISL tokens and decodes OSL - 1 over its OSL steps (a decode-only batch has r = 1).
    It reads the weights once and B x context KV tokens (context = ISL + OSL/2 on average).
    Attention arithmetic and the step overhead are left out (a few per cent here).
    """

    def __init__(self, config: EngineConfig, isl: int, osl: int) -> None:
        profile = config.profile
        self.config = config
        self.flop_rate = config.peak_flops * config.mfu
        byte_rate = config.peak_bandwidth * config.mbu
        self.active = profile.active
        self.weights_s = profile.weight_bytes / byte_rate
        self.kv_s_per_sequence = (isl + osl / 2) * profile.kv_bytes_per_token / byte_rate
        self.tokens_per_step = (isl + osl - 1) / osl
        self.kv_limit = config.kv_capacity_blocks * config.block_size / (isl + osl)
        self.largest_batch = min(config.max_num_seqs, self.kv_limit)

    def compute_bound_batch(self, tokens_per_step: float) -> float:
        """The batch past which arithmetic, not memory, sets a step's time (inf: never)."""
        excess = 2.0 * self.active * tokens_per_step / self.flop_rate - self.kv_s_per_sequence
        return self.weights_s / excess if excess > 0 else math.inf

    def tokens_per_s(self, concurrency: float) -> float:
        """Output tokens/s: the batch (at most the engine's largest) over the longer of the two times."""
        batch = min(concurrency, self.largest_batch)
        compute_s = 2.0 * self.active * batch * self.tokens_per_step / self.flop_rate
        return batch / max(compute_s, self.weights_s + batch * self.kv_s_per_sequence)


def predict_knee(config: EngineConfig, isl: int, osl: int) -> KneePrediction:
    """The concurrency past which output tokens/s stops rising, from the roofline alone.

    A step turns compute-bound when 2 x active x B x r / (peak x MFU) >= (weights + B x context
    x kv_bytes) / (bandwidth x MBU) (see `Roofline`); past that batch its time grows as fast as
    its tokens. The knee is the least of that batch, `max_num_seqs`, and the sequences the KV
    cache holds; the plateau is the throughput of the largest batch the engine runs.
    """
    roofline = Roofline(config, isl, osl)
    compute_bound = roofline.compute_bound_batch(roofline.tokens_per_step)
    return KneePrediction(
        tokens_per_sequence_step=roofline.tokens_per_step,
        compute_bound_batch=compute_bound,
        decode_only_compute_bound_batch=roofline.compute_bound_batch(1.0),
        max_num_seqs=config.max_num_seqs,
        kv_limit_sequences=roofline.kv_limit,
        knee=min(compute_bound, roofline.largest_batch),
        plateau_tokens_per_s=roofline.tokens_per_s(roofline.largest_batch),
    )


def measure_knee(points: Seq[SweepPoint]) -> Knee:
    """The measured knee: where the single-client line meets the plateau, and the 90 % point.

    The ridge is plateau / (tokens/s of one client). The 90 % point is where the curve first
    reaches 90 % of the plateau, interpolated on the log-concurrency axis.
    """
    ordered = sorted(points, key=lambda point: point.concurrency)
    first = ordered[0]
    slope = first.output_tokens_per_s / first.concurrency
    plateau = max(point.output_tokens_per_s for point in ordered)
    target = PLATEAU_FRACTION * plateau
    at_90 = float(ordered[-1].concurrency)
    for low, high in itertools.pairwise(ordered):
        if high.output_tokens_per_s >= target > low.output_tokens_per_s:
            share = (target - low.output_tokens_per_s) / (high.output_tokens_per_s - low.output_tokens_per_s)
            log_c = math.log2(low.concurrency) + share * (
                math.log2(high.concurrency) - math.log2(low.concurrency)
            )
            at_90 = 2.0**log_c
            break
    else:
        if first.output_tokens_per_s >= target:
            at_90 = float(first.concurrency)
    return Knee(
        single_client_tokens_per_s=slope,
        plateau_tokens_per_s=plateau,
        ridge=plateau / slope if slope > 0 else math.inf,
        at_90_percent=at_90,
    )


# ---------------------------------------------------------------------------- offline closed loop


class _Window:
    """What the offline clients measured between `start_s` and `end_s`."""

    def __init__(self, start_s: float, end_s: float) -> None:
        self.start_s = start_s
        self.end_s = end_s
        self.tokens = 0
        self.batch_time = 0.0
        self.busy_s = 0.0
        self.ttft: list[float] = []
        self.itl: list[float] = []
        self.queue: list[float] = []
        self.rejected = 0
        self.rejected_in_run = 0
        self.max_waiting = 0

    def inside(self, at_s: float) -> bool:
        return self.start_s <= at_s < self.end_s

    def rejection(self, sent_s: float) -> None:
        self.rejected_in_run += 1
        if self.inside(sent_s):
            self.rejected += 1

    def waiting(self, now_s: float, count: int) -> None:
        if self.inside(now_s):
            self.max_waiting = max(self.max_waiting, count)

    def step(self, start_s: float, end_s: float, batch: int, sampled: int) -> None:
        if self.inside(end_s):
            self.tokens += sampled
        overlap = min(end_s, self.end_s) - max(start_s, self.start_s)
        if overlap > 0:
            self.busy_s += overlap
            self.batch_time += overlap * batch

    def finished(self, sequence: Sequence) -> None:
        if not self.inside(sequence.arrival_s):
            return
        times = sequence.token_times or []
        if sequence.first_token_s is not None:
            self.ttft.append(sequence.first_token_s - sequence.arrival_s)
        if sequence.admitted_s is not None:
            self.queue.append(sequence.admitted_s - sequence.arrival_s)
        self.itl.extend(later - earlier for earlier, later in itertools.pairwise(times))


class OutputLengths:
    """Each request's output length: OSL, spread uniformly by a fraction either side, from a seed."""

    def __init__(self, osl: int, spread: float, seed: int = SEED) -> None:
        self.low = max(1, round(osl * (1.0 - spread)))
        self.high = max(self.low, 2 * osl - self.low)
        self._random = random.Random(seed)  # a reproducible spread, not a secret

    def next(self) -> int:
        return self._random.randint(self.low, self.high)


def closed_loop(
    config: EngineConfig,
    concurrency: int,
    *,
    isl: int,
    osl: int,
    warmup_s: float,
    window_s: float,
    osl_spread: float = OSL_SPREAD,
    retry_after_s: float = RETRY_AFTER_S,
) -> SweepPoint:
    """`concurrency` closed-loop clients against the engine, on its virtual clock.

    The clients start spread over `ramp_s`, measure for `window_s` from `warmup_s` after the
    ramp, and stop sending at the window's end; the requests in flight then finish.
    """
    engine = Engine(config)
    lengths = OutputLengths(osl, osl_spread)
    ramp = ramp_s(config, isl, osl, concurrency)
    window = _Window(ramp + warmup_s, ramp + warmup_s + window_s)
    # (time, order, client): sends due; `order` keeps the heap deterministic.
    sends: list[tuple[float, int, int]] = [
        (client * ramp / concurrency, client, client) for client in range(concurrency)
    ]
    heapq.heapify(sends)
    client_of: dict[int, int] = {}
    order = concurrency
    request_id = 0
    now = 0.0
    while sends or engine.busy:
        if not engine.busy and sends:
            now = max(now, sends[0][0])
        while sends and sends[0][0] <= now:
            sent_s, _, client = heapq.heappop(sends)
            sequence = Sequence(request_id, sent_s, isl, lengths.next())
            if engine.arrive(sequence) is None:
                client_of[request_id] = client
            else:
                window.rejection(sent_s)
                if sent_s + retry_after_s < window.end_s:
                    heapq.heappush(sends, (sent_s + retry_after_s, order, client))
                    order += 1
            request_id += 1
        window.waiting(now, len(engine.waiting))
        if not engine.busy:
            continue
        result = engine.step(now)
        record = result.record
        window.step(record.start_s, record.end_s, record.batch, len(result.sampled))
        now = record.end_s
        for sequence in result.finished:
            window.finished(sequence)
            client = client_of.pop(sequence.request_id)
            if now < window.end_s:
                heapq.heappush(sends, (now, order, client))
                order += 1
    return _point(concurrency, window)


def ramp_s(config: EngineConfig, isl: int, osl: int, concurrency: int) -> float:
    """One request's time at this concurrency's steady state, on the roofline: OSL steps of its batch.

    Clients start spread over it, so about as many arrive each step as will in the steady
    state. Started closer together, a step's token budget packs their prefills into groups
    that then finish, and are sent again, together: the loop settles into waves slowly.
    """
    roofline = Roofline(config, isl, osl)
    batch = min(concurrency, roofline.largest_batch)
    return osl * (batch / roofline.tokens_per_s(batch) + config.step_overhead_ms / 1000.0)


def _ms(values: list[float], fraction: float) -> float:
    return percentile(values, fraction) * 1000.0


def _point(concurrency: int, window: _Window) -> SweepPoint:
    span = window.end_s - window.start_s
    return SweepPoint(
        concurrency=concurrency,
        window_s=span,
        output_tokens_per_s=window.tokens / span,
        requests=len(window.ttft),
        ttft_p50_ms=_ms(window.ttft, 0.5),
        ttft_p90_ms=_ms(window.ttft, 0.9),
        itl_p50_ms=_ms(window.itl, 0.5),
        queue_p50_ms=_ms(window.queue, 0.5),
        rejected_429=window.rejected,
        rejected_429_in_run=window.rejected_in_run,
        max_waiting=window.max_waiting,
        mean_batch=window.batch_time / window.busy_s if window.busy_s else 0.0,
    )


# ---------------------------------------------------------------------------- live closed loop

_TOKEN = re.compile(rb'"content":"[^"]')
_WAITING = re.compile(rb"^vllm:num_requests_waiting\{[^}]*\} ([0-9.e+]+)", re.MULTILINE)
_METRICS_POLL_S = 0.25
_DRAIN_S = 30.0


class _LiveRun:
    """The clients of one live point, sharing their records."""

    def __init__(self, host: str, port: int, concurrency: int, isl: int, lengths: OutputLengths) -> None:
        self.host = host
        self.port = port
        self.concurrency = concurrency
        self.isl = isl
        self.lengths = lengths
        # Prompts differ from run to run too: the server's prefix cache outlives a point.
        self.nonce = uuid.uuid4().hex[:12]
        self.window_start = 0.0
        self.window_end = math.inf
        self.stop = False
        self.tokens = 0
        self.ttft: list[float] = []
        self.itl: list[float] = []
        self.rejected = 0
        self.rejected_in_run = 0
        self.errors = 0
        self.max_waiting = 0

    def inside(self, at: float) -> bool:
        return self.window_start <= at < self.window_end

    def _request(self, client: int, serial: int) -> bytes:
        # A distinct first block (16 tokens) per request: no prefix is shared, every prompt is prefilled.
        prefix = f"{self.nonce} client {client:04d} request {serial:08d} "
        content = prefix + "x" * max(0, self.isl * CHARS_PER_TOKEN - len(prefix))
        osl = self.lengths.next()
        body = msgspec.json.encode(
            {
                "model": "mock-model",
                "messages": [{"role": "user", "content": content}],
                "max_tokens": osl,
                "min_tokens": osl,
                "stream": True,
            }
        )
        return build_request("POST", self.host, self.port, "/v1/chat/completions", body)

    async def client(self, client: int, start_delay_s: float) -> None:
        await asyncio.sleep(start_delay_s)
        conn = await HTTPConnection.open(self.host, self.port)
        serial = 0
        try:
            while not self.stop:
                serial += 1
                conn = await self._one(conn, client, serial)
        finally:
            conn.close()

    async def _one(self, conn: HTTPConnection, client: int, serial: int) -> HTTPConnection:
        sent = time.perf_counter()
        conn.send(self._request(client, serial))
        head = await conn.read_head()
        if head.status != 200:
            await conn.read_body(head)
            if head.status == 429:
                self.rejected_in_run += 1
                self.rejected += self.inside(sent)
                await asyncio.sleep(RETRY_AFTER_S)
            else:
                self.errors += 1
            if not head.keep_alive:
                conn.close()
                conn = await HTTPConnection.open(self.host, self.port)
            return conn
        times: list[float] = []

        def sink(data: bytes, at: float) -> None:
            times.extend([at] * len(_TOKEN.findall(data)))

        await conn.stream_body(head, sink)
        self.tokens += sum(map(self.inside, times))
        if self.inside(sent) and times:
            self.ttft.append(times[0] - sent)
            self.itl.extend(later - earlier for earlier, later in itertools.pairwise(times))
        if not head.keep_alive:
            conn.close()
            conn = await HTTPConnection.open(self.host, self.port)
        return conn

    async def watch_queue(self) -> None:
        request = build_request("GET", self.host, self.port, "/metrics")
        conn = await HTTPConnection.open(self.host, self.port)
        try:
            while not self.stop:
                conn.send(request)
                body = await conn.read_body(await conn.read_head())
                if self.inside(time.perf_counter()):
                    for match in _WAITING.finditer(body):
                        self.max_waiting = max(self.max_waiting, int(float(match.group(1))))
                await asyncio.sleep(_METRICS_POLL_S)
        finally:
            conn.close()


async def _live_point(
    url: str,
    concurrency: int,
    *,
    isl: int,
    osl: int,
    osl_spread: float,
    warmup_s: float,
    window_s: float,
    ramp_s: float,
) -> SweepPoint:
    parts = urlsplit(url)
    run = _LiveRun(
        parts.hostname or "127.0.0.1", parts.port or 80, concurrency, isl, OutputLengths(osl, osl_spread)
    )
    start = time.perf_counter()
    run.window_start = start + ramp_s + warmup_s
    run.window_end = run.window_start + window_s
    watcher = asyncio.create_task(run.watch_queue())
    clients = [
        asyncio.create_task(run.client(client, client * ramp_s / concurrency))
        for client in range(concurrency)
    ]
    await asyncio.sleep(run.window_end - time.perf_counter())
    run.stop = True
    _, pending = await asyncio.wait([*clients, watcher], timeout=_DRAIN_S)
    for task in pending:
        task.cancel()
    for task in [*clients, watcher]:
        with contextlib.suppress(BaseException):
            await task
    if run.errors:
        print(f"  concurrency {concurrency}: {run.errors} non-429 errors", file=sys.stderr)
    return SweepPoint(
        concurrency=concurrency,
        window_s=window_s,
        output_tokens_per_s=run.tokens / window_s,
        requests=len(run.ttft),
        ttft_p50_ms=_ms(run.ttft, 0.5),
        ttft_p90_ms=_ms(run.ttft, 0.9),
        itl_p50_ms=_ms(run.itl, 0.5),
        queue_p50_ms=None,
        rejected_429=run.rejected,
        rejected_429_in_run=run.rejected_in_run,
        max_waiting=run.max_waiting,
    )


# ---------------------------------------------------------------------------- report


def table(points: Seq[SweepPoint]) -> str:
    """The sweep as a fixed-width table."""
    header = (
        f"{'C':>5} {'out tok/s':>10} {'TTFT p50':>9} {'TTFT p90':>9} {'ITL p50':>8} "
        f"{'queue p50':>9} {'429s':>6} {'max wait':>8} {'batch':>6}"
    )
    lines = [header, f"{'':>5} {'':>10} {'ms':>9} {'ms':>9} {'ms':>8} {'ms':>9}"]
    for point in points:
        queue = "-" if point.queue_p50_ms is None else f"{point.queue_p50_ms:.1f}"
        batch = "-" if point.mean_batch is None else f"{point.mean_batch:.1f}"
        lines.append(
            f"{point.concurrency:>5} {point.output_tokens_per_s:>10.0f} {point.ttft_p50_ms:>9.1f} "
            f"{point.ttft_p90_ms:>9.1f} {point.itl_p50_ms:>8.2f} {queue:>9} {point.rejected_429:>6} "
            f"{point.max_waiting:>8} {batch:>6}"
        )
    return "\n".join(lines)


def chart(runs: dict[str, list[SweepPoint]], roofline: Roofline, knee: Knee, title: str) -> str:
    """The sweep's picture: tokens/s with the roofline, TTFT p50, 429s/s; the knees dashed."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
    concurrencies = sorted({point.concurrency for points in runs.values() for point in points})
    fine = [2.0 ** (step / 8) for step in range(8 * round(math.log2(max(concurrencies))) + 1)]
    throughput = [
        Series(label, [(p.concurrency, p.output_tokens_per_s) for p in points], colours[index % 4])
        for index, (label, points) in enumerate(runs.items())
    ]
    throughput.append(
        Series(
            "roofline", [(c, roofline.tokens_per_s(c)) for c in fine], "#777777", dashed=True, markers=False
        )
    )
    ttft = [
        Series(label, [(p.concurrency, max(p.ttft_p50_ms, 1e-3)) for p in points], colours[index % 4])
        for index, (label, points) in enumerate(runs.items())
    ]
    rejected = [
        Series(label, [(p.concurrency, p.rejected_429 / p.window_s) for p in points], colours[index % 4])
        for index, (label, points) in enumerate(runs.items())
    ]
    predicted = min(roofline.compute_bound_batch(roofline.tokens_per_step), roofline.largest_batch)
    max_num_seqs = roofline.config.max_num_seqs
    lines = [
        VerticalLine(predicted, f"roofline knee {predicted:.0f}", "#555555"),
        VerticalLine(knee.ridge, f"measured knee {knee.ridge:.0f}", "#2ca02c"),
        VerticalLine(max_num_seqs, f"max_num_seqs {max_num_seqs}", "#999999"),
    ]
    return line_chart_svg(
        [
            Panel("output tokens/s", throughput),
            Panel("TTFT p50 (ms, log)", ttft, log_y=True),
            Panel("429 responses/s", rejected, height=150),
        ],
        x_label="concurrency (closed-loop clients, log2)",
        title=title,
        vertical_lines=lines,
    )


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "argv": sys.argv[1:],
        "mode": "live" if args.live else "offline",
        "url": args.live,
        "engine": args.engine,
        "gpu": args.gpu,
        "max_num_seqs": args.max_num_seqs,
        "max_waiting_requests": args.max_waiting_requests,
        "isl": args.isl,
        "osl": args.osl,
        "osl_spread": args.osl_spread,
        "warmup_s": args.warmup,
        "window_s": args.window,
    }


def _config(args: argparse.Namespace, max_waiting: int | None) -> EngineConfig:
    settings = Settings(
        engine=args.engine,
        dcgm_gpu_name=args.gpu,
        max_num_seqs=args.max_num_seqs,
        max_waiting_requests=max_waiting,
    )
    return engine_config(settings, builtin_profile(args.engine))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine_sweep",
        description=(__doc__ or "").split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="simulate with mockcore only (the default)")
    mode.add_argument("--live", metavar="URL", help="sweep a running server started with the same engine")
    parser.add_argument("--engine", default="llama-3.1-8b", help="model profile (default llama-3.1-8b)")
    parser.add_argument("--gpu", default="h100-sxm", help="GPU model id (default h100-sxm)")
    parser.add_argument("--max-num-seqs", type=int, default=256)
    parser.add_argument(
        "--max-waiting-requests",
        type=int,
        default=64,
        help="offline: the bound of the second run (0: no second run); live: what the server was given",
    )
    parser.add_argument("--isl", type=int, default=512, help="prompt tokens (default 512)")
    parser.add_argument("--osl", type=int, default=128, help="output tokens (default 128)")
    parser.add_argument(
        "--osl-spread",
        type=float,
        default=OSL_SPREAD,
        help="output lengths spread uniformly by this fraction either side of OSL (default 0.25; 0: fixed)",
    )
    parser.add_argument(
        "--concurrency",
        default=",".join(map(str, CONCURRENCIES)),
        help="comma-separated client counts (default 1 to 512)",
    )
    parser.add_argument(
        "--warmup", type=float, help="seconds before measuring (after the clients' ramp; offline 30, live 3)"
    )
    parser.add_argument("--window", type=float, help="seconds measured (offline 60, live 8)")
    parser.add_argument(
        "--image", type=Path, default=IMAGE, help="SVG to write (default docs/images/engine-sweep.svg)"
    )
    parser.add_argument("--no-image", action="store_true", help="write no SVG")
    parser.add_argument("--output", type=Path, help="raw figures (default bench/results/sweep-<time>.json)")
    args = parser.parse_args(argv)
    args.concurrencies = [int(value) for value in args.concurrency.split(",") if value.strip()]
    if args.warmup is None:
        args.warmup = 3.0 if args.live else 30.0
    if args.window is None:
        args.window = 8.0 if args.live else 60.0
    return args


def _run(args: argparse.Namespace, label: str, max_waiting: int | None) -> list[SweepPoint]:
    config = _config(args, max_waiting)
    points: list[SweepPoint] = []
    for concurrency in args.concurrencies:
        started = time.perf_counter()
        if args.live:
            point = asyncio.run(
                _live_point(
                    args.live,
                    concurrency,
                    isl=args.isl,
                    osl=args.osl,
                    osl_spread=args.osl_spread,
                    warmup_s=args.warmup,
                    window_s=args.window,
                    ramp_s=ramp_s(config, args.isl, args.osl, concurrency),
                )
            )
        else:
            point = closed_loop(
                config,
                concurrency,
                isl=args.isl,
                osl=args.osl,
                warmup_s=args.warmup,
                window_s=args.window,
                osl_spread=args.osl_spread,
            )
        points.append(point)
        print(
            f"[{label}] C={concurrency}: {point.output_tokens_per_s:.0f} tok/s, TTFT p50 "
            f"{point.ttft_p50_ms:.1f} ms, 429s {point.rejected_429} ({time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
    return points


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    base = _config(args, None)
    prediction = predict_knee(base, args.isl, args.osl)
    runs: dict[str, list[SweepPoint]] = {}
    if args.live:
        bound = args.max_waiting_requests or None
        label = f"live, max_waiting_requests={bound}" if bound else "live, unbounded queue"
        runs[label] = _run(args, label, bound)
    else:
        runs["unbounded queue"] = _run(args, "unbounded queue", None)
        if args.max_waiting_requests:
            label = f"max_waiting_requests={args.max_waiting_requests}"
            runs[label] = _run(args, label, args.max_waiting_requests)
    first = next(iter(runs.values()))
    knee = measure_knee(first)
    print(
        f"\n{args.engine} on {args.gpu}, max_num_seqs {args.max_num_seqs}, ISL {args.isl} / OSL {args.osl}, "
        f"{'live ' + args.live if args.live else 'offline'}, window {args.window:g} s after {args.warmup:g} s"
    )
    for label, points in runs.items():
        print(f"\n{label}\n{table(points)}")
    error = knee.ridge / prediction.knee - 1.0
    print(
        f"\nroofline knee {prediction.knee:.1f} (compute-bound batch {prediction.compute_bound_batch:.1f} at "
        f"{prediction.tokens_per_sequence_step:.2f} tokens per sequence per step; decode only "
        f"{prediction.decode_only_compute_bound_batch:.0f}; max_num_seqs {prediction.max_num_seqs}; KV "
        f"holds {prediction.kv_limit_sequences:.0f}), plateau {prediction.plateau_tokens_per_s:.0f} tok/s"
        f"\nmeasured knee {knee.ridge:.1f} (one client {knee.single_client_tokens_per_s:.0f} tok/s, plateau "
        f"{knee.plateau_tokens_per_s:.0f} tok/s), {error:+.0%} from the roofline; 90 % of the plateau at "
        f"{knee.at_90_percent:.0f}"
    )
    output = args.output or RESULTS_DIR / f"sweep-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {"meta": _meta(args), "prediction": prediction, "measured_knee": knee, "runs": runs}
    output.write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    print(f"raw figures: {output}", file=sys.stderr)
    if not args.no_image:
        title = (
            f"{args.engine} on {args.gpu}: closed loop, ISL {args.isl} / OSL {args.osl}, "
            f"max_num_seqs {args.max_num_seqs}{' (live)' if args.live else ''}"
        )
        args.image.parent.mkdir(parents=True, exist_ok=True)
        args.image.write_text(chart(runs, Roofline(base, args.isl, args.osl), knee, title))
        print(f"picture: {args.image}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
