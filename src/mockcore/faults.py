"""Fault injection: whether inference request number n fails is a function of (seed, n)."""

import msgspec

from mockcore.digest import derived_unit, digest_texts

FAULT_STATUS_CODE = 500


class InjectedFault(msgspec.Struct, frozen=True, kw_only=True):
    """A simulated server failure, answered before any byte of the response."""

    sequence_number: int
    message: str
    status_code: int = FAULT_STATUS_CODE
    type: str = "server_error"
    code: str = "injected_fault"


def draw_fault(seed: int, sequence_number: int, error_rate_percent: float) -> InjectedFault | None:
    """Decide request `sequence_number`'s fate: fails with probability error_rate / 100.

    The draw hashes (seed, n), so it does not depend on which worker serves the request, on
    timing, or on any earlier draw. Rate 0 never fails; rate 100 always does (the draw lies
    in [0, 1)).
    """
    draw = derived_unit(digest_texts((str(seed), str(sequence_number))), b"fault")
    if draw >= error_rate_percent / 100.0:
        return None
    return InjectedFault(
        sequence_number=sequence_number,
        message=f"Injected server error (request {sequence_number}, error rate {error_rate_percent:g}%).",
    )
