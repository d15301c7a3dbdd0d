"""The services one app instance runs on, built eagerly by the app factory.

A mounted app gets no lifespan from its host, so nothing here may depend on startup hooks.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mockcore import Settings
from mockhttp.local_state import LocalLoadTracker, LocalSequence
from mockhttp.ports import LoadTracker, SequenceSource


@dataclass(frozen=True, kw_only=True)
class Services:
    """Settings plus the ports; `fault_seed` is `--random-seed`, or one drawn at start."""

    settings: Settings
    sequence: SequenceSource = field(default_factory=LocalSequence)
    load: LoadTracker = field(default_factory=LocalLoadTracker)
    fault_seed: int = 0
    clock: Callable[[], float] = time.monotonic
    started_at_unix: int = field(default_factory=lambda: int(time.time()))


def local_services(settings: Settings) -> Services:
    """Services for a single process: local counters, the configured or a fresh fault seed."""
    seed = settings.random_seed if settings.random_seed is not None else secrets.randbits(63)
    return Services(settings=settings, fault_seed=seed)
