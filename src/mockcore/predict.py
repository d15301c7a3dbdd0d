"""Offline prediction: everything the server would answer for a request, without a server.

`predict` runs the server's own code path (`mockcore.service`), so a prediction and a live
response cannot disagree, except for ids and timestamps, which depend on the moment.
"""

from collections.abc import Mapping
from typing import Any

import msgspec

from mockcore.errors import ErrorInfo, RequestError, invalid_request_info
from mockcore.faults import InjectedFault
from mockcore.plan import ResponsePlan
from mockcore.requests import Route
from mockcore.service import fault_for, plan_request
from mockcore.settings import Settings

_ENCODER = msgspec.json.Encoder()


class Prediction(msgspec.Struct, frozen=True, kw_only=True):
    """What the server sends: a plan (200), a 400 error, or an injected 500 fault.

    `fault_predictable` is False when faults are random but no seed was configured: the
    plan is still what a request that passes would receive.
    """

    status_code: int
    plan: ResponsePlan | None = None
    error: ErrorInfo | None = None
    fault: InjectedFault | None = None
    fault_predictable: bool = True


def predict(
    route: Route,
    payload: Mapping[str, Any] | bytes,
    settings: Settings | None = None,
    *,
    sequence_number: int = 1,
) -> Prediction:
    """Predict the answer to `payload` sent to `route`, as valid request `sequence_number`.

    `payload` is the JSON body as a mapping or as the raw bytes on the wire.
    """
    effective = settings or Settings()
    body = payload if isinstance(payload, bytes) else _ENCODER.encode(payload)
    try:
        plan = plan_request(route, body, effective)
    except RequestError as error:
        return Prediction(status_code=400, error=invalid_request_info(error))
    if effective.random_seed is None and 0 < effective.error_rate < 100:  # noqa: PLR2004
        return Prediction(status_code=200, plan=plan, fault_predictable=False)
    fault = fault_for(effective, effective.random_seed or 0, sequence_number)
    if fault is not None:
        return Prediction(status_code=fault.status_code, fault=fault)
    return Prediction(status_code=200, plan=plan)
