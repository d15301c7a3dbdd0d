"""Fault injection: which requests fail, how, and what a client sees of it."""

from mockcore.faults.draw import (
    FAULT_STATUS_CODE,
    FaultContext,
    InjectedFault,
    draw_fault,
    fault_of_kind,
    fault_position,
)
from mockcore.faults.kinds import (
    ANSWER_BREAKING_KINDS,
    FAULT_KINDS,
    RETRY_AFTER_S,
    TRANSPORT_FAULT_KINDS,
    FaultKind,
    is_transport_fault,
)
from mockcore.faults.mix import DEFAULT_FAULT_MIX, FaultMix, parse_fault_mix

__all__ = [
    "ANSWER_BREAKING_KINDS",
    "DEFAULT_FAULT_MIX",
    "FAULT_KINDS",
    "FAULT_STATUS_CODE",
    "RETRY_AFTER_S",
    "TRANSPORT_FAULT_KINDS",
    "FaultContext",
    "FaultKind",
    "FaultMix",
    "InjectedFault",
    "draw_fault",
    "fault_of_kind",
    "fault_position",
    "is_transport_fault",
    "parse_fault_mix",
]
