"""The two simulated dcgm-exporter instances, driven by the server's live load.

The GPU physics state of each instance lives in the shared blob store, so whichever worker
answers a scrape advances the same state: counters never go backwards and gauges never jump
between consecutive scrapes. Each scrape advances the state by the wall time since the last
one, at the load the current traffic implies; with `--engine`, at the engine's busy fraction
over the window instead, with power and the tensor and DRAM activity from the FLOPs and bytes
its steps achieved (`mockcore.gpu.load.engine_utilisation`) and the framebuffer from the
weights and KV blocks it holds, all from the stats the route read.
"""

from typing import TYPE_CHECKING

import msgspec

from mockcore.engine.stats import EngineStats
from mockcore.gpu import DcgmRenderer, FleetState, advance, initial_fleet, load_from_traffic, target_load
from mockcore.gpu.load import (
    NO_ENGINE_SAMPLES,
    EngineSamples,
    EngineWork,
    TokenSample,
    engine_utilisation,
    follows_traffic,
    windowed_throughput,
)
from mockhttp.services import Services

if TYPE_CHECKING:
    from collections.abc import Callable

    from mockcore.gpu.physics import GpuWork
    from mockhttp.ports import BlobStore, LoadTracker

DCGM_INSTANCES = (1, 2)


class TelemetryRecord(msgspec.Struct, frozen=True, array_like=True):
    """What one instance keeps between scrapes."""

    fleet: FleetState
    updated_at_s: float
    tokens_seen: int
    # (time, tokens) readings of the throughput window, and the highest throughput seen.
    samples: tuple[TokenSample, ...] = ()
    peak_tokens_per_s: float = 0.0
    # (time, microseconds) readings of the engine's busy, compute and bandwidth seconds, with `--engine`.
    engine_samples: EngineSamples = NO_ENGINE_SAMPLES


_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder(TelemetryRecord)


class GpuTelemetry:
    """Scrapes of `/dcgm{1,2}/metrics` for one app."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self._initial_load = settings.dcgm_initial_load
        self._auto_load = settings.dcgm_auto_load
        self._min_throughput = float(settings.dcgm_min_throughput)
        self._window_s = settings.dcgm_window_sec
        self._store: BlobStore = services.gpu_states
        self._load: LoadTracker = services.load
        self._clock: Callable[[], float] = services.clock
        self._initial = {
            instance: initial_fleet(
                gpu_model=settings.dcgm_gpu_name,
                num_gpus=settings.dcgm_num_gpus,
                initial_load=settings.dcgm_initial_load,
                hostname=settings.dcgm_hostname,
                seed=services.gpu_seed,
                instance=instance,
                replica_name=settings.replica_name,
            )
            for instance in DCGM_INSTANCES
        }
        self._renderers = {
            instance: DcgmRenderer(fleet.identity) for instance, fleet in self._initial.items()
        }

    def scrape(self, instance: int, engine: EngineStats | None = None) -> bytes:
        """Advance instance `instance` (1 or 2) to now and render it; `engine`: the engine's stats now."""
        snapshot = self._load.snapshot()
        traffic_seen = snapshot.requests_served > 0 or snapshot.in_flight_requests > 0
        if engine is not None:
            traffic_seen = traffic_seen or engine.steps > 0

        def advanced(blob: bytes) -> bytes:
            now = self._clock()
            if not blob:
                record = TelemetryRecord(self._initial[instance], now, snapshot.tokens_emitted)
            else:
                record = _DECODER.decode(blob)
            elapsed_s = max(0.0, now - record.updated_at_s)
            tokens = max(record.tokens_seen, snapshot.tokens_emitted)
            tokens_per_s, samples = windowed_throughput(
                record.samples or ((record.updated_at_s, record.tokens_seen),), now, tokens, self._window_s
            )
            peak = max(record.peak_tokens_per_s, tokens_per_s)
            engine_samples = record.engine_samples
            work: GpuWork | None = None
            held_bytes: float | None = None
            if engine is None:
                traffic = load_from_traffic(
                    snapshot.in_flight_requests,
                    tokens_per_s,
                    peak_tokens_per_s=peak,
                    min_throughput=self._min_throughput,
                )
            else:
                done = EngineWork(engine.busy_s, engine.compute_s, engine.bandwidth_s)
                utilisation, engine_samples = engine_utilisation(engine_samples, now, done, self._window_s)
                traffic = utilisation.busy
                if follows_traffic(traffic_seen=traffic_seen, auto_load=self._auto_load):
                    work = utilisation.work
                held_bytes = engine.held_bytes_per_gpu
            load = target_load(
                self._initial_load, traffic, traffic_seen=traffic_seen, auto_load=self._auto_load
            )
            fleet = advance(record.fleet, elapsed_s, load, work=work, held_bytes=held_bytes)
            return _ENCODER.encode(TelemetryRecord(fleet, now, tokens, samples, peak, engine_samples))

        record = _DECODER.decode(self._store.transact(instance - 1, advanced))
        return self._renderers[instance].render(record.fleet).encode()
