"""The settings that may change while the server runs (`PATCH /admin/config`).

Latency and faults only: what a test wants to turn up or down mid-run. Ports, workers,
limits and keys stay as the server started. A change is validated exactly like the command
line (through the Settings Struct), so `/admin/config` accepts what `--ttft` accepts.
"""

from collections.abc import Mapping
from typing import Any

import msgspec

from mockcore.errors import RequestError, error_from_validation
from mockcore.settings import Settings

TUNABLE_FIELDS: tuple[str, ...] = (
    "ttft",
    "itl",
    "ttft_per_isl_token_ms",
    "ttft_concurrency_quad_ms",
    "itl_per_osl_token_ms",
    "itl_concurrency_lin_ms",
    "ttft_jitter_cv",
    "itl_jitter_cv",
    "embedding_base_latency",
    "embedding_per_input_latency",
    "ranking_base_latency",
    "ranking_per_passage_latency",
    "error_rate",
    "fault_mix",
    "fault_delay_seconds",
)


def tunables(settings: Settings) -> dict[str, Any]:
    """The tunable values of `settings`, by field name."""
    return {name: getattr(settings, name) for name in TUNABLE_FIELDS}


def tuned(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """`settings` with `changes` applied; raises `RequestError` naming a bad field.

    `--fast` is a start-up switch: a server started with it keeps its zero latencies unless
    a change names them.
    """
    unknown = sorted(set(changes) - set(TUNABLE_FIELDS))
    if unknown:
        raise RequestError(
            f"{unknown[0]!r} cannot be changed while the server runs; the tunable settings are "
            f"{', '.join(TUNABLE_FIELDS)}.",
            unknown[0],
        )
    values = msgspec.to_builtins(settings)
    values.update(changes)
    values["fast"] = False  # already applied to `settings`; it must not zero the changes
    try:
        return msgspec.convert(values, Settings)
    except msgspec.ValidationError as error:
        request_error = error_from_validation(error)
        if request_error.param is None and "fault_mix" in changes:  # the mix's own check names no path
            request_error.param = "fault_mix"
        raise request_error from None
