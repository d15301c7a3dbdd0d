"""The services one app instance runs on, built eagerly by the app factory.

A mounted app gets no lifespan from its host, so nothing here may depend on startup hooks.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mockcore import Settings
from mockhttp.local_state import (
    LocalBlobStore,
    LocalControlLog,
    LocalLoadTracker,
    LocalMetricsStore,
    LocalSequence,
)
from mockhttp.ports import BlobStore, ControlLog, LoadTracker, MetricsStore, SequenceSource


@dataclass(frozen=True, kw_only=True)
class Services:
    """Settings plus the ports.

    `fault_seed` is `--random-seed` and `gpu_seed` is `--dcgm-seed`, or seeds drawn once at
    start (by the CLI for all workers together).
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
    started_at_unix: int = field(default_factory=lambda: int(time.time()))


def seed_or_fresh(seed: int | None) -> int:
    """The configured seed, or a fresh random one."""
    return seed if seed is not None else secrets.randbits(63)


def local_services(settings: Settings) -> Services:
    """Services for a single process: local counters, the configured or fresh seeds."""
    return Services(
        settings=settings,
        fault_seed=seed_or_fresh(settings.random_seed),
        gpu_seed=seed_or_fresh(settings.dcgm_seed),
    )
