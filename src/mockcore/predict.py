"""Offline prediction: everything the server would answer for a request, without a server.

`predict` runs the server's own code path (`mockcore.service`), so a prediction and a live
response cannot disagree, except for ids and timestamps, which depend on the moment, and for
the load term of the latency shape, which depends on the requests in flight (`in_flight`).
"""

from collections.abc import Mapping
from typing import Any

import msgspec

from mockcore.errors import ErrorInfo, RequestError, invalid_request_info
from mockcore.faults import InjectedFault
from mockcore.generation.planner import latency_shape
from mockcore.generation.prompt_cache import NOT_CACHED, with_cache_usage
from mockcore.image_retrieval import ImageRetrievalPlan, plan_image_retrieval_request
from mockcore.overrides import NO_OVERRIDES, RequestOverrides, parse_overrides
from mockcore.plan import GenerationPlan, ResponsePlan
from mockcore.rag import RagPlan, plan_rag_request
from mockcore.requests import Route
from mockcore.rerank import RERANK_ROUTES, plan_rerank_request
from mockcore.service import admitted_schedule, fault_for, plan_request
from mockcore.settings import Settings

_ENCODER = msgspec.json.Encoder()


class Prediction(msgspec.Struct, frozen=True, kw_only=True):
    """What the server sends: a plan (200), a 400 error, or an injected fault.

    `fault_predictable` is False when faults are random but no seed was configured: the
    plan is still what a request that passes would receive. A transport fault (`abort`,
    `stall`, `truncate`, `slow_headers`) comes with the plan whose answer it breaks.
    """

    status_code: int
    plan: ResponsePlan | None = None
    error: ErrorInfo | None = None
    fault: InjectedFault | None = None
    fault_predictable: bool = True


def _overrides(headers: Mapping[str, str] | None, settings: Settings) -> RequestOverrides:
    if not headers or not settings.control_headers:
        return NO_OVERRIDES
    mock_headers = {
        name.lower(): value for name, value in headers.items() if name.lower().startswith("x-mock-")
    }
    return parse_overrides(mock_headers, settings.max_output_tokens) if mock_headers else NO_OVERRIDES


def predict(
    route: Route,
    payload: Mapping[str, Any] | bytes,
    settings: Settings | None = None,
    *,
    sequence_number: int = 1,
    in_flight: int = 1,
    headers: Mapping[str, str] | None = None,
    warm_prompt_cache: bool = False,
) -> Prediction:
    """Predict the answer to `payload` sent to `route`, as valid request `sequence_number`.

    `payload` is the JSON body as a mapping or as the raw bytes on the wire; `headers` the
    request's headers (only `X-Mock-*` matter); `in_flight` the requests on the server when
    it arrives, itself included (it matters only with a concurrency term in the latency shape).
    `warm_prompt_cache` says the server's prompt cache already holds every cacheable prefix of
    the request (sent before, within its lifetime); otherwise the request writes them.
    """
    effective = settings or Settings()
    body = payload if isinstance(payload, bytes) else _ENCODER.encode(payload)
    shape = latency_shape(effective)
    seed = effective.random_seed or 0
    try:
        overrides = _overrides(headers, effective)
        if route in RERANK_ROUTES:
            plan: ResponsePlan = plan_rerank_request(route, body, effective, overrides)
        else:
            plan = plan_request(route, body, effective, shape=shape, overrides=overrides)
    except RequestError as error:
        return Prediction(status_code=400, error=invalid_request_info(error))
    if (
        isinstance(plan, GenerationPlan)
        and (shape.jittered or shape.load_dependent)
        and not overrides.timing_forced
    ):
        schedule = admitted_schedule(
            plan, shape, in_flight=in_flight, seed=seed, sequence_number=sequence_number
        )
        plan = msgspec.structs.replace(plan, schedule=schedule)
    if isinstance(plan, GenerationPlan) and plan.cache_points:
        plan = with_cache_usage(plan, len(plan.cache_points) - 1 if warm_prompt_cache else NOT_CACHED)
    random_faults = overrides.fault is None and 0 < effective.error_rate < 100  # noqa: PLR2004
    if effective.random_seed is None and random_faults:
        return Prediction(status_code=200, plan=plan, fault_predictable=False)
    fault = fault_for(effective, seed, sequence_number, plan, forced=overrides.fault)
    if fault is None:
        return Prediction(status_code=200, plan=plan)
    if fault.is_transport:
        return Prediction(status_code=200, plan=plan, fault=fault)
    return Prediction(status_code=fault.status_code, fault=fault)


class RetrievalPrediction(msgspec.Struct, frozen=True, kw_only=True):
    """What NIM image retrieval or SOLIDO RAG answers: a plan (200) or a 400 error.

    These routes draw no sequence number, so no fault strikes them.
    """

    status_code: int
    plan: ImageRetrievalPlan | RagPlan | None = None
    error: ErrorInfo | None = None


def predict_image_retrieval(
    payload: Mapping[str, Any] | bytes,
    settings: Settings | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> RetrievalPrediction:
    """The answer of `POST /v1/infer` (or `/v1/image/infer`), for images whose pixels decode.

    The server also decodes every image in full and answers 400 for one that does not;
    predicting that takes an image decoder, which the core does not have.
    """
    effective = settings or Settings()
    body = payload if isinstance(payload, bytes) else _ENCODER.encode(payload)
    try:
        plan, _ = plan_image_retrieval_request(body, effective, _overrides(headers, effective))
    except RequestError as error:
        return RetrievalPrediction(status_code=400, error=invalid_request_info(error))
    return RetrievalPrediction(status_code=200, plan=plan)


def predict_rag(
    payload: Mapping[str, Any] | bytes,
    settings: Settings | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    accepts_event_stream: bool = False,
) -> RetrievalPrediction:
    """The answer of `POST /rag/api/prompt`; `accepts_event_stream` is the client's `Accept`."""
    effective = settings or Settings()
    body = payload if isinstance(payload, bytes) else _ENCODER.encode(payload)
    try:
        plan = plan_rag_request(
            body,
            effective,
            accepts_event_stream=accepts_event_stream,
            shape=latency_shape(effective),
            overrides=_overrides(headers, effective),
        )
    except RequestError as error:
        return RetrievalPrediction(status_code=400, error=invalid_request_info(error))
    return RetrievalPrediction(status_code=200, plan=plan)
