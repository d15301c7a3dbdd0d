"""The services one app instance runs on, built eagerly by the app factory.

A mounted app gets no lifespan from its host, so nothing here may depend on startup hooks.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mockcore import Settings
from mockhttp.engine.port import EnginePort
from mockhttp.engine.setup import engine_for
from mockhttp.local_state import (
    LocalBlobStore,
    LocalControlLog,
    LocalLoadTracker,
    LocalMetricsStore,
    LocalPromptCache,
    LocalSequence,
    LocalSettingsSource,
)
from mockhttp.media_jobs import MediaJobs, media_thread_count
from mockhttp.media_store import LocalMediaStore
from mockhttp.ports import (
    BlobStore,
    ControlLog,
    LoadTracker,
    MediaStore,
    MetricsStore,
    PromptCache,
    SequenceSource,
    SettingsSource,
)


@dataclass(frozen=True, kw_only=True)
class Services:
    """Settings plus the ports.

    `fault_seed` is `--random-seed` and `gpu_seed` is `--dcgm-seed`, or seeds drawn once at
    start (by the CLI for all workers together). `settings` are the start-up settings; `live`
    has those in effect now (`PATCH /admin/config` changes them). `started_at_unix` is when
    the server started (the CLI's clock for all workers), from which the readiness delays count.
    """

    settings: Settings
    sequence: SequenceSource = field(default_factory=LocalSequence)
    load: LoadTracker = field(default_factory=LocalLoadTracker)
    gpu_states: BlobStore = field(default_factory=LocalBlobStore)
    metrics: MetricsStore = field(default_factory=LocalMetricsStore)
    control: ControlLog = field(default_factory=LocalControlLog)
    fault_seed: int = 0
    gpu_seed: int = 0
    clock: Callable[[], float] = time.monotonic
    started_at_unix: float = field(default_factory=time.time)
    live_source: SettingsSource | None = None
    prompt_cache: PromptCache = field(default_factory=LocalPromptCache)
    media: MediaStore = field(default_factory=LocalMediaStore)
    # The batching engine (`--engine`); None keeps the constant TTFT and ITL.
    engine: EnginePort | None = None
    # Where media work runs: the process's `--media-threads` threads.
    media_jobs: MediaJobs = field(init=False)

    def __post_init__(self) -> None:
        if self.live_source is None:
            object.__setattr__(self, "live_source", LocalSettingsSource(self.settings))
        object.__setattr__(self, "media_jobs", MediaJobs(media_thread_count(self.settings)))

    @property
    def live(self) -> SettingsSource:
        """The settings in effect now (local ones unless the app was given a shared source)."""
        source = self.live_source
        assert source is not None  # noqa: S101 - set in __post_init__
        return source


def seed_or_fresh(seed: int | None) -> int:
    """The configured seed, or a fresh random one."""
    return seed if seed is not None else secrets.randbits(63)


def local_services(settings: Settings, *, engine_socket: str | None = None) -> Services:
    """Services for a single process: local counters, the configured or fresh seeds.

    With `--engine` the engine runs in this process, or is the engine process listening on
    `engine_socket` when the CLI started one for several workers.
    """
    return Services(
        settings=settings,
        fault_seed=seed_or_fresh(settings.random_seed),
        gpu_seed=seed_or_fresh(settings.dcgm_seed),
        engine=engine_for(settings, engine_socket),
    )
