"""A continuous-batching inference engine on a virtual clock (vLLM-like scheduling, roofline steps).

Offline, `replay` runs a trace through it; live, the HTTP layer feeds it arrivals and paces
each token at the time the engine says it was sampled. See docs/engine.md.
"""

from mockcore.engine.config import EngineConfig
from mockcore.engine.profiles import (
    BUILTIN_PROFILES,
    ModelProfile,
    ProfileError,
    builtin_profile,
    profile_from_document,
)
from mockcore.engine.replay import ReplayResult, RequestResult, replay
from mockcore.engine.scheduler import Engine, Rejection, StepRecord, StepResult
from mockcore.engine.sequence import Sequence
from mockcore.engine.stats import EngineStats, engine_stats
from mockcore.engine.summary import ReplaySummary, summarize
from mockcore.engine.trace import TraceError, TraceRequest, parse_trace, trace_line

__all__ = [
    "BUILTIN_PROFILES",
    "Engine",
    "EngineConfig",
    "EngineStats",
    "ModelProfile",
    "ProfileError",
    "Rejection",
    "ReplayResult",
    "ReplaySummary",
    "RequestResult",
    "Sequence",
    "StepRecord",
    "StepResult",
    "TraceError",
    "TraceRequest",
    "builtin_profile",
    "engine_stats",
    "parse_trace",
    "profile_from_document",
    "replay",
    "summarize",
    "trace_line",
]
