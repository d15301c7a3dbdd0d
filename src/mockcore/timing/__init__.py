"""When each byte of an answer is due: schedules, the latency shape and its jitter."""

from mockcore.timing.jitter import LognormalFactors, lognormal_factor_from_unit, lognormal_sigma
from mockcore.timing.schedule import Schedule
from mockcore.timing.shape import LatencyShape, shaped_schedule

__all__ = [
    "LatencyShape",
    "LognormalFactors",
    "Schedule",
    "lognormal_factor_from_unit",
    "lognormal_sigma",
    "shaped_schedule",
]
