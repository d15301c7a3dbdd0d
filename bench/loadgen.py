"""The load generator: one process, one event loop, N keep-alive connections.

Each connection sends the same request back to back for a warm-up and then a measurement
window (or until a request count is reached), and the process prints its raw figures as one
JSON object on stdout. Latency figures come from requests *started* in the window; throughput
from responses (or token events) *arriving* in it. The process reports its own CPU use over the
window, and that of any server processes it is told to watch, so a reader can tell whether the
generator or the server was the limit.

Run it directly for a one-off: `python -m bench.loadgen --port 8000 --stream --concurrency 100
--ttft-ms 20 --itl-ms 5 --expect-tokens 200 --body '{...}'`.
"""

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import sys
from array import array
from time import perf_counter
from typing import Any

import msgspec

from bench.http1 import HTTPConnection, build_request
from bench.procfs import machine_busy_s, process_cpu_s, run_queue_wait_s
from bench.stats import summarize

_CONTENT = b'"content":"'
_EMPTY_CONTENT = b'"content":""'
_REASONING = b'"reasoning_content":"'
_EMPTY_REASONING = b'"reasoning_content":""'
# What marks a token event in the other protocols' streams (`--token-marker`).
TOKEN_MARKERS = {
    "openai": None,
    "responses": b'"delta":"',
    "messages": b'"text_delta"',
    "tgi": b'"token":{"id"',
}
_ZEROS = array("d", bytes(8 * 4096))
_MAX_ERROR_SAMPLES = 5
_RECONNECT_PAUSE_S = 0.01
_LAG_PROBE_S = 0.01


def _self_cpu_s() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


class _Recorder:
    """Everything measured, in seconds, shared by all connections of the run."""

    def __init__(self) -> None:
        self.latency = array("d")
        self.ttft = array("d")
        self.itl = array("d")
        self.e2e = array("d")
        self.lateness = array("d")
        self.tail = array("d")
        self.client_gap = array("d")
        self.completed_in_window = 0
        self.completed_total = 0
        self.tokens_in_window = 0
        self.tokens_total = 0
        self.loop_lag = array("d")
        self.body_reads = 0  # network reads that brought stream data: tokens per read shows batching
        self.streams_measured = 0
        self.errors = 0
        self.error_kinds: dict[str, int] = {}
        self.error_samples: list[str] = []

    def error(self, kind: str, detail: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if len(self.error_samples) < _MAX_ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail[:300]}")


class _Stream:
    """One SSE response: counts token events and timestamps them per network read."""

    __slots__ = ("first_s", "gen", "last_s", "measured", "offset_sum_s", "pending", "sent_s", "tokens")

    def __init__(self, gen: "LoadGenerator", sent_s: float, measured: bool) -> None:
        self.gen = gen
        self.sent_s = sent_s
        self.measured = measured
        self.pending = b""
        self.tokens = 0
        self.first_s = 0.0
        self.last_s = 0.0
        self.offset_sum_s = 0.0

    def feed(self, data: bytes, t: float) -> None:
        self.gen.rec.body_reads += 1
        if self.pending:
            data = self.pending + data
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        if self.gen.token_marker is not None:
            self._marked(data, self.gen.token_marker, t)
            return
        if data.endswith(b"\n\n") and data.count(b"\n\n") == 1:  # the usual case: one whole event
            self.pending = b""
            if _CONTENT in data:
                if _EMPTY_CONTENT not in data:
                    self._tokens(1, t)
            elif _REASONING in data and _EMPTY_REASONING not in data:
                self._tokens(1, t)
            return
        events = data.split(b"\n\n")
        self.pending = events.pop()
        count = 0
        for event in events:
            if _CONTENT in event:
                if _EMPTY_CONTENT not in event:
                    count += 1
            elif _REASONING in event and _EMPTY_REASONING not in event:
                count += 1
        if count:
            self._tokens(count, t)

    def _marked(self, data: bytes, marker: bytes, t: float) -> None:
        """Count the whole events of `data` that carry a token of another protocol."""
        events = data.split(b"\n\n")
        self.pending = events.pop()
        count = sum(marker in event for event in events)
        if count:
            self._tokens(count, t)

    def _tokens(self, count: int, t: float) -> None:
        gen = self.gen
        rec = gen.rec
        if self.measured:
            if self.tokens == 0:
                rec.ttft.append(t - self.sent_s)
            else:
                rec.itl.append(t - self.last_s)
            if count > 1:  # events that arrived in the same read are 0 ms apart, as a client sees
                rec.itl.extend(_ZEROS[: count - 1])
        if self.tokens == 0:
            self.first_s = t
        self.tokens += count
        self.last_s = t
        self.offset_sum_s += count * (t - self.sent_s)
        rec.tokens_total += count
        if gen.w0 <= t < gen.w1:
            rec.tokens_in_window += count


class LoadGenerator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.request = build_request(
            "POST", args.host, args.port, args.path, args.body.encode(), tuple(args.header)
        )
        self.token_marker = TOKEN_MARKERS[args.protocol]
        self.rec = _Recorder()
        self.issued = 0
        self.limit = args.requests or sys.maxsize
        self.w0 = 0.0
        self.w1 = float("inf")
        self.expected_ttft_s = args.ttft_ms / 1000 if args.ttft_ms is not None else None
        self.expected_itl_s = args.itl_ms / 1000 if args.itl_ms is not None else None
        self.window: dict[str, Any] = {}

    # -- one request ---------------------------------------------------------------------------

    async def _one_json(self, conn: HTTPConnection, validate: bool) -> bool:
        sent = perf_counter()
        conn.send(self.request)
        head = await conn.read_head()
        body = await conn.read_body(head)
        done = conn.last_read_s
        rec = self.rec
        if head.status != 200:
            rec.error(f"status {head.status}", body.decode(errors="replace"))
            return head.keep_alive
        if validate and (problem := self._check_json(body)):
            rec.error("invalid response", problem)
            return head.keep_alive
        rec.completed_total += 1
        if self.w0 <= done < self.w1:
            rec.completed_in_window += 1
            if sent >= self.w0:
                rec.latency.append(done - sent)
        return head.keep_alive

    def _check_json(self, body: bytes) -> str | None:
        try:
            doc = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            return f"not JSON ({exc}): {body[:200]!r}"
        args = self.args
        if args.expect_tokens is not None:
            got = (doc.get("usage") or {}).get("completion_tokens")
            if got != args.expect_tokens:
                return f"completion_tokens {got}, expected {args.expect_tokens}"
        if args.expect_dims is not None:
            vectors = [item.get("embedding") for item in doc.get("data") or []]
            if not vectors or any(len(v or ()) != args.expect_dims for v in vectors):
                return f"embedding lengths {[len(v or ()) for v in vectors]}, expected {args.expect_dims}"
        return None

    async def _one_stream(self, conn: HTTPConnection, previous_end_s: float | None) -> bool:
        sent = perf_counter()
        measured = self.w0 <= sent < self.w1
        rec = self.rec
        if measured and previous_end_s is not None:
            rec.client_gap.append(sent - previous_end_s)
        conn.send(self.request)
        head = await conn.read_head()
        if head.status != 200:
            body = await conn.read_body(head)
            rec.error(f"status {head.status}", body.decode(errors="replace"))
            return head.keep_alive
        stream = _Stream(self, sent, measured)
        await conn.stream_body(head, stream.feed)
        expected = self.args.expect_tokens
        if expected is not None and stream.tokens != expected:
            rec.error("token count", f"{stream.tokens} token events, expected {expected}")
            return head.keep_alive
        rec.completed_total += 1
        if self.w0 <= conn.last_read_s < self.w1:
            rec.completed_in_window += 1
        if measured and stream.tokens:
            rec.streams_measured += 1
            rec.e2e.append(stream.last_s - sent)
            rec.tail.append(conn.last_read_s - stream.last_s)
            if self.expected_ttft_s is not None and self.expected_itl_s is not None:
                n = stream.tokens
                scheduled_mean_s = self.expected_ttft_s + self.expected_itl_s * (n - 1) / 2
                rec.lateness.append(stream.offset_sum_s / n - scheduled_mean_s)
        return head.keep_alive

    # -- connections ---------------------------------------------------------------------------

    async def _connection(self) -> None:
        args = self.args
        conn: HTTPConnection | None = None
        validate = False
        previous_end_s: float | None = None
        try:
            while self.issued < self.limit and perf_counter() < self.w1:
                self.issued += 1
                try:
                    if conn is None:
                        conn = await HTTPConnection.open(args.host, args.port)
                        validate = True
                        previous_end_s = None
                    if args.stream:
                        keep_alive = await self._one_stream(conn, previous_end_s)
                        previous_end_s = conn.last_read_s
                    else:
                        keep_alive = await self._one_json(conn, validate)
                        validate = False
                except Exception as exc:
                    self.rec.error(type(exc).__name__, str(exc))
                    keep_alive = False
                    await asyncio.sleep(_RECONNECT_PAUSE_S)
                if not keep_alive and conn is not None:
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def _snapshot(self) -> dict[str, Any]:
        return {
            "t": perf_counter(),
            "self_cpu_s": _self_cpu_s(),
            "watched_cpu_s": {pid: process_cpu_s(pid) for pid in self.args.watch_pid},
            "machine_busy_s": machine_busy_s(),
            "wait_s": {pid: run_queue_wait_s(pid) for pid in [os.getpid(), *self.args.watch_pid]},
        }

    async def _watch_window(self) -> None:
        """Snapshot CPU counters at the window's edges."""
        await asyncio.sleep(max(0.0, self.w0 - perf_counter()))
        self.window["start"] = self._snapshot()
        if self.w1 != float("inf"):
            await asyncio.sleep(max(0.0, self.w1 - perf_counter()))
            self.window["end"] = self._snapshot()

    async def _watch_loop_lag(self) -> None:
        """How late the generator's own event loop wakes a 10 ms timer: its scheduling delay."""
        lag = self.rec.loop_lag
        while True:
            due = perf_counter() + _LAG_PROBE_S
            await asyncio.sleep(_LAG_PROBE_S)
            now = perf_counter()
            if self.w0 <= now < self.w1:
                lag.append(now - due)

    async def run(self) -> dict[str, Any]:
        args = self.args
        # The hot path makes no reference cycles worth collecting; a collector pause would show up
        # as server latency, so it stays off for the run (peak RSS is reported to keep this honest).
        gc.collect()
        gc.freeze()
        gc.disable()
        t_start = perf_counter()
        if args.requests:
            self.w0 = t_start
        else:
            self.w0 = t_start + args.warmup
            self.w1 = self.w0 + args.duration
        watchers = [asyncio.create_task(self._watch_window()), asyncio.create_task(self._watch_loop_lag())]
        tasks = [asyncio.create_task(self._connection()) for _ in range(args.concurrency)]
        timeout = None if args.requests else self.w1 - perf_counter() + args.grace
        _done, unfinished = await asyncio.wait(tasks, timeout=timeout)
        for task in unfinished:
            task.cancel()
            self.rec.error("unfinished", f"still running {args.grace} s after the window")
        if unfinished:
            await asyncio.wait(unfinished)
        if "end" not in self.window:
            self.window["end"] = self._snapshot()
        for watcher in watchers:
            if not watcher.done():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        return self._report(perf_counter() - t_start)

    def _report(self, elapsed_s: float) -> dict[str, Any]:
        rec = self.rec
        start, end = self.window.get("start"), self.window["end"]
        window_s = end["t"] - start["t"] if start else 0.0
        watched: dict[str, float | None] = {}
        for pid in self.args.watch_pid:
            a = start["watched_cpu_s"].get(pid) if start else None
            b = end["watched_cpu_s"].get(pid)
            watched[str(pid)] = (b - a) / window_s if a is not None and b is not None and window_s else None
        nominal_s = window_s if self.args.requests else self.args.duration
        per_cpu_busy = (
            [(b - a) / window_s for a, b in zip(start["machine_busy_s"], end["machine_busy_s"], strict=True)]
            if start and window_s
            else []
        )
        gen_user, gen_system = (
            ((b - a) / window_s for a, b in zip(start["self_cpu_s"], end["self_cpu_s"], strict=True))
            if start and window_s
            else (None, None)
        )
        gen_cpu = gen_user + gen_system if gen_user is not None and gen_system is not None else None
        server_cpu = sum(v for v in watched.values() if v is not None)
        waits: dict[int, float] = {}
        for pid, b in end["wait_s"].items():
            a = start["wait_s"].get(pid) if start else None
            if a is not None and b is not None and window_s:
                waits[pid] = (b - a) / window_s
        server_waits = [waits[pid] for pid in self.args.watch_pid if pid in waits]
        return {
            "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
            "concurrency": self.args.concurrency,
            "stream": self.args.stream,
            "warmup_s": 0.0 if self.args.requests else self.args.warmup,
            "window_s": window_s,
            "elapsed_s": elapsed_s,
            "completed_in_window": rec.completed_in_window,
            "completed_total": rec.completed_total,
            "req_per_s": rec.completed_in_window / nominal_s if nominal_s else 0.0,
            "tokens_in_window": rec.tokens_in_window,
            "tokens_total": rec.tokens_total,
            "tokens_per_s": rec.tokens_in_window / nominal_s if nominal_s else 0.0,
            "streams_measured": rec.streams_measured,
            "tokens_per_read": rec.tokens_total / rec.body_reads if rec.body_reads else None,
            "errors": rec.errors,
            "error_kinds": rec.error_kinds,
            "error_samples": rec.error_samples,
            "gen_cpu": gen_cpu,
            "gen_cpu_user": gen_user,
            "gen_cpu_system": gen_system,
            "gen_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "server_cpu": watched,
            "server_cpu_total": server_cpu,
            "per_cpu_busy": per_cpu_busy,
            # Share of the window spent runnable but waiting for a CPU: interference.
            "gen_wait": waits.get(os.getpid()),
            "server_wait": max(server_waits) if server_waits else None,  # main threads only
            # Everything else the machine did meanwhile (other processes, unattributed kernel work).
            "other_cpu": sum(per_cpu_busy) - (gen_cpu or 0.0) - server_cpu if per_cpu_busy else None,
            "latency_ms": summarize(rec.latency),
            "ttft_ms": summarize(rec.ttft),
            "itl_ms": summarize(rec.itl),
            "e2e_ms": summarize(rec.e2e),
            "stream_lateness_ms": summarize(rec.lateness),
            "tail_ms": summarize(rec.tail),
            "loop_lag_ms": summarize(rec.loop_lag),
            "client_gap_ms": summarize(rec.client_gap),
        }


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/v1/chat/completions")
    parser.add_argument("--body", required=True, help="the JSON request body, sent verbatim")
    parser.add_argument("--stream", action="store_true", help="parse the response as SSE token events")
    parser.add_argument(
        "--header", action="append", default=[], help="an extra request header, `Name: value`"
    )
    parser.add_argument(
        "--protocol", choices=sorted(TOKEN_MARKERS), default="openai", help="whose token events to count"
    )
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="measurement window, seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before the window")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds for in-flight work after it")
    parser.add_argument("--requests", type=int, default=0, help="send this many requests instead of a window")
    parser.add_argument("--expect-tokens", type=int, help="completion tokens every response must have")
    parser.add_argument("--expect-dims", type=int, help="embedding length every vector must have")
    parser.add_argument("--ttft-ms", type=float, help="the server's TTFT, for per-stream lateness")
    parser.add_argument("--itl-ms", type=float, help="the server's ITL, for per-stream lateness")
    parser.add_argument("--watch-pid", type=int, action="append", default=[], help="report its CPU use")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    return parser.parse_args(argv)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    _raise_fd_limit()
    generator = LoadGenerator(args)
    if args.loop == "uvloop":
        import uvloop

        report = uvloop.run(generator.run())
    else:
        report = asyncio.run(generator.run())
    sys.stdout.write(msgspec.json.encode(report).decode() + "\n")


if __name__ == "__main__":
    main()
