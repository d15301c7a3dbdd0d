"""The engine-metrics routes: one store, every engine's format, and this machine's figures.

Each scrape sums every worker's block once (`MetricsStore.snapshot`) and renders it in the
format of the path asked for; `/node_exporter/metrics` reads `/proc` instead. With `--engine`
the engine gauges (batch, queue, KV cache, preemptions, prefix cache) are the engine's own,
read with `await engine.stats()` (a round trip to the engine process when workers > 1), so the
engine-format handlers are async; without an engine they await nothing, and the scrape costs
what the sync handler did (a coroutine next to rendering some hundred samples).
"""

import time
from collections.abc import Callable
from pathlib import Path

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from mockcore.metrics import (
    PROMETHEUS_CONTENT_TYPE,
    EngineView,
    MetricsSnapshot,
    render_families,
    view_from_traffic,
)
from mockcore.metrics.dynamo import component_families, frontend_families
from mockcore.metrics.engine_view import view_from_engine
from mockcore.metrics.exposition import RUST_STYLE, Family
from mockcore.metrics.node import ProcTexts, node_families
from mockcore.metrics.server import server_families
from mockcore.metrics.sglang import sglang_families
from mockcore.metrics.trtllm import trtllm_families
from mockcore.metrics.vllm import vllm_families
from mockhttp.services import Services

PROC = Path("/proc")


class GenerationThroughput:
    """Generation tokens per second between two scrapes served by this worker (SGLang's gauge)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last: tuple[float, int] | None = None

    def update(self, generation_tokens: int) -> float:
        """The rate since the previous call; 0 on the first."""
        now = self._clock()
        last, self._last = self._last, (now, generation_tokens)
        if last is None or now <= last[0]:
            return 0.0
        return max(0, generation_tokens - last[1]) / (now - last[0])


def read_proc(root: Path = PROC) -> ProcTexts:
    """The `/proc` files node_exporter reads, as text, and the wall clock."""
    return ProcTexts(
        stat=(root / "stat").read_text(),
        loadavg=(root / "loadavg").read_text(),
        meminfo=(root / "meminfo").read_text(),
        net_dev=(root / "net" / "dev").read_text(),
        unix_time_s=time.time(),
    )


def build_metrics_handlers(services: Services) -> list[HTTPRouteHandler]:
    """The route handlers of every metrics path."""
    store = services.metrics
    settings = services.settings
    model = settings.default_model
    throughput = GenerationThroughput(services.clock)
    engine = services.engine

    def prometheus(families: list[Family], *, rust: bool = False) -> Response[bytes]:
        text = render_families(families, RUST_STYLE) if rust else render_families(families)
        return Response(text.encode(), media_type=PROMETHEUS_CONTENT_TYPE)

    async def measured() -> tuple[MetricsSnapshot, EngineView]:
        """Every worker's cells summed once, and the engine's view: its own, or what they imply."""
        current = store.snapshot()
        if engine is not None:
            return current, view_from_engine(await engine.stats())
        return current, view_from_traffic(current, settings.dcgm_gpu_name)

    @get(["/metrics", "/vllm/metrics"])
    async def vllm_metrics() -> Response[bytes]:
        """The vLLM engine metrics, then the server's own (`aiperf_mock_*`)."""
        current, view = await measured()
        control_calls = services.control.report().counts
        return prometheus([*vllm_families(current, view, model), *server_families(current, control_calls)])

    @get("/sglang/metrics")
    async def sglang_metrics() -> Response[bytes]:
        """SGLang's metrics."""
        current, view = await measured()
        rate = throughput.update(current.counters["generation_tokens"])
        return prometheus(sglang_families(current, view, model, rate))

    @get("/trtllm/metrics")
    async def trtllm_metrics() -> Response[bytes]:
        """TensorRT-LLM's metrics."""
        return prometheus(trtllm_families(*(await measured()), model))

    @get("/dynamo_frontend/metrics")
    async def dynamo_frontend_metrics() -> Response[bytes]:
        """Dynamo's HTTP frontend metrics."""
        current, view = await measured()
        return prometheus(frontend_families(current, view, model), rust=True)

    async def dynamo_component(component: str) -> Response[bytes]:
        current, view = await measured()
        return prometheus(component_families(current, view, model, component), rust=True)

    @get("/dynamo_component/prefill/metrics")
    async def dynamo_prefill_metrics() -> Response[bytes]:
        """Dynamo's prefill worker metrics."""
        return await dynamo_component("prefill")

    @get("/dynamo_component/decode/metrics")
    async def dynamo_decode_metrics() -> Response[bytes]:
        """Dynamo's decode worker metrics."""
        return await dynamo_component("decode")

    @get("/node_exporter/metrics", sync_to_thread=False)
    def node_exporter_metrics() -> Response[bytes]:
        """This machine's CPU, load, memory and network figures, in node_exporter's names."""
        return prometheus(node_families(read_proc()), rust=True)

    return [
        vllm_metrics,
        sglang_metrics,
        trtllm_metrics,
        dynamo_frontend_metrics,
        dynamo_prefill_metrics,
        dynamo_decode_metrics,
        node_exporter_metrics,
    ]
