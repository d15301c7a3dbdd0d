"""The two simulated dcgm-exporter instances, driven by the server's live load.

The GPU physics state of each instance lives in the shared blob store, so whichever worker
answers a scrape advances the same state: counters never go backwards and gauges never jump
between consecutive scrapes. Each scrape advances the state by the wall time since the last
one, at the load the current traffic implies; with `--engine`, at the engine's busy fraction
over the window instead (`mockcore.gpu.load.busy_fraction`), from the stats the route read.
"""

from typing import TYPE_CHECKING

import msgspec

from mockcore.engine.stats import EngineStats
from mockcore.gpu import DcgmRenderer, FleetState, advance, initial_fleet, load_from_traffic, target_load
from mockcore.gpu.load import US_PER_S, TokenSample, busy_fraction, windowed_throughput
from mockhttp.services import Services

if TYPE_CHECKING:
    from collections.abc import Callable

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
    # (time, engine busy microseconds) readings of the window, with `--engine`.
    busy_samples: tuple[TokenSample, ...] = ()


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
            busy_samples = record.busy_samples
            if engine is None:
                traffic = load_from_traffic(
                    snapshot.in_flight_requests,
                    tokens_per_s,
                    peak_tokens_per_s=peak,
                    min_throughput=self._min_throughput,
                )
            else:
                # Another worker may have stored a later reading than the stats this one read.
                busy_s = max(engine.busy_s, busy_samples[-1][1] / US_PER_S if busy_samples else 0.0)
                traffic, busy_samples = busy_fraction(busy_samples, now, busy_s, self._window_s)
            load = target_load(
                self._initial_load, traffic, traffic_seen=traffic_seen, auto_load=self._auto_load
            )
            fleet = advance(record.fleet, elapsed_s, load)
            return _ENCODER.encode(TelemetryRecord(fleet, now, tokens, samples, peak, busy_samples))

        record = _DECODER.decode(self._store.transact(instance - 1, advanced))
        return self._renderers[instance].render(record.fleet).encode()
