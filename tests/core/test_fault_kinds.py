"""Fault kinds and `--fault-mix`: what each kind answers, and how the mix divides the faults."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore import Settings, predict
from mockcore.faults import (
    FAULT_KINDS,
    TRANSPORT_FAULT_KINDS,
    FaultContext,
    FaultKind,
    draw_fault,
    fault_of_kind,
    parse_fault_mix,
)

seeds = st.integers(-(2**63), 2**63 - 1)
sequence_numbers = st.integers(1, 10**12)
CHAT = {"model": "gpt-x", "messages": [{"role": "user", "content": "tell me about the sea"}], "max_tokens": 8}
CONTEXT = FaultContext(model="gpt-x", prompt_tokens=40, output_tokens=100, prompt_param="messages")
Z_99_9 = 3.29

# kind -> (status, type, code, param)
ERROR_ANSWERS: dict[str, tuple[int, str, str, str | None]] = {
    "server_error": (500, "server_error", "injected_fault", None),
    "unavailable": (503, "server_error", "service_unavailable", None),
    "rate_limit": (429, "requests", "rate_limit_exceeded", None),
    "context_length": (400, "invalid_request_error", "context_length_exceeded", "messages"),
    "auth": (401, "invalid_request_error", "invalid_api_key", None),
    "not_found": (404, "invalid_request_error", "model_not_found", None),
}


def test_every_kind_is_an_error_or_a_transport_fault() -> None:
    assert set(ERROR_ANSWERS) | TRANSPORT_FAULT_KINDS == set(FAULT_KINDS)
    assert not set(ERROR_ANSWERS) & TRANSPORT_FAULT_KINDS


@pytest.mark.parametrize("kind", list(ERROR_ANSWERS))
def test_an_error_fault_answers_what_a_real_server_sends(kind: FaultKind) -> None:
    fault = fault_of_kind(kind, 17, cause="X-Mock-Fault", context=CONTEXT)
    assert (fault.status_code, fault.type, fault.code, fault.param) == ERROR_ANSWERS[kind]
    assert not fault.is_transport
    assert "request 17" in fault.message
    assert "X-Mock-Fault" in fault.message


def test_a_rate_limit_carries_retry_after_and_openais_rate_limit_headers() -> None:
    headers = dict(fault_of_kind("rate_limit", 1, cause="c", context=CONTEXT).headers)
    assert headers["retry-after"] == "1"
    assert headers["x-ratelimit-limit-requests"] == "60"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1s"
    assert int(headers["x-ratelimit-remaining-tokens"]) == 150_000 - CONTEXT.prompt_tokens
    assert "gpt-x" in fault_of_kind("rate_limit", 1, cause="c", context=CONTEXT).message


def test_unavailable_asks_to_retry_and_the_others_do_not() -> None:
    assert dict(fault_of_kind("unavailable", 1, cause="c").headers) == {"retry-after": "1"}
    for kind in ("server_error", "context_length", "auth", "not_found"):
        assert fault_of_kind(kind, 1, cause="c").headers == ()  # type: ignore[arg-type]


def test_context_length_names_the_sizes_like_openai() -> None:
    message = fault_of_kind("context_length", 3, cause="c", context=CONTEXT).message
    assert "maximum context length is 139 tokens" in message
    assert "you requested 140 tokens (40 in the messages, 100 in the completion)" in message


def test_not_found_names_the_model() -> None:
    assert "`gpt-x` does not exist" in fault_of_kind("not_found", 3, cause="c", context=CONTEXT).message


@pytest.mark.parametrize("kind", sorted(TRANSPORT_FAULT_KINDS))
def test_a_transport_fault_starts_as_200(kind: FaultKind) -> None:
    fault = fault_of_kind(kind, 2, cause="c", position=0.5, delay_s=1.5)
    assert fault.status_code == 200
    assert fault.is_transport
    assert fault.delay_s == (1.5 if kind in {"stall", "slow_headers"} else 0.0)


@given(st.floats(0, 1, exclude_max=True), st.integers(1, 100_000))
def test_a_transport_fault_strikes_before_the_last_token_event(position: float, events: int) -> None:
    fault = fault_of_kind("abort", 1, cause="c", position=position)
    assert 0 <= fault.strike_after(events) <= events - 1
    assert fault.strike_after(events) == min(events - 1, math.floor(position * events))


# -- the mix ---------------------------------------------------------------------------------


def test_a_mix_parses_kinds_and_relative_weights() -> None:
    mix = parse_fault_mix(" rate_limit=3, server_error=1 ,abort=0.5,stall=0")
    assert mix.weights == (("rate_limit", 3.0), ("server_error", 1.0), ("abort", 0.5))
    assert mix.as_text() == "rate_limit=3,server_error=1,abort=0.5"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "is not kind=weight"),
        ("rate_limit", "is not kind=weight"),
        ("=3", "is not kind=weight"),
        ("teapot=1", "unknown fault kind 'teapot'"),
        ("abort=1,abort=2", "given twice"),
        ("abort=x", "not a number"),
        ("abort=-1", "finite number >= 0"),
        ("abort=inf", "finite number >= 0"),
        ("abort=nan", "finite number >= 0"),
        ("abort=0", "at least one kind with a positive weight"),
    ],
)
def test_a_bad_mix_is_refused_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_fault_mix(text)
    with pytest.raises(ValueError, match=complaint):
        Settings(fault_mix=text)


def test_the_kinds_fall_in_proportion_to_their_weights() -> None:
    mix = parse_fault_mix("rate_limit=3,server_error=1")
    draws = 10_000
    kinds = [fault.kind for n in range(1, draws + 1) if (fault := draw_fault(99, n, 100, mix)) is not None]
    assert len(kinds) == draws
    p = 0.75
    half_width = Z_99_9 * math.sqrt(draws * p * (1 - p))
    assert draws * p - half_width <= kinds.count("rate_limit") <= draws * p + half_width
    assert kinds.count("rate_limit") + kinds.count("server_error") == draws


@given(seeds, st.lists(sequence_numbers, min_size=1, max_size=40))
def test_the_mix_never_changes_which_requests_fail(seed: int, numbers: list[int]) -> None:
    plain = [draw_fault(seed, n, 30) is None for n in numbers]
    mixed = [draw_fault(seed, n, 30, parse_fault_mix("abort=1,rate_limit=2,auth=1")) is None for n in numbers]
    assert mixed == plain


def test_the_default_mix_is_the_500_of_before() -> None:
    assert Settings().fault_mix == "server_error=1"
    assert {draw_fault(5, n, 100).kind for n in range(1, 200)} == {"server_error"}  # type: ignore[union-attr]


# -- predict ---------------------------------------------------------------------------------


def test_predict_says_which_kind_strikes_a_seeded_request() -> None:
    settings = Settings(error_rate=50, fault_mix="rate_limit=1,truncate=1", random_seed=11)
    outcomes = {predict("chat", CHAT, settings, sequence_number=n) for n in range(1, 60)}
    kinds = {(o.status_code, o.fault.kind if o.fault else None) for o in outcomes}
    assert kinds == {(200, None), (429, "rate_limit"), (200, "truncate")}
    for outcome in outcomes:
        if outcome.fault is not None and outcome.fault.kind == "truncate":
            assert outcome.plan is not None, "a transport fault comes with the plan it breaks"


def test_predict_honours_a_forced_fault_header() -> None:
    prediction = predict("chat", CHAT, headers={"X-Mock-Fault": "not_found"})
    assert prediction.status_code == 404
    assert prediction.fault is not None
    assert prediction.fault.code == "model_not_found"
    assert "X-Mock-Fault" in prediction.fault.message
    ignored = predict("chat", CHAT, Settings(control_headers=False), headers={"X-Mock-Fault": "not_found"})
    assert ignored.status_code == 200


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("abort", [0.0, 0.1, None, None]),
        ("truncate", [0.0, 0.1, None, None]),
        ("stall", [0.0, 0.1, 1.7, 1.8]),
        ("slow_headers", [1.5, 1.6, 1.7, 1.8]),
    ],
)
def test_a_transport_fault_shapes_the_deadlines_from_its_strike(
    kind: FaultKind, expected: list[float | None]
) -> None:
    fault = fault_of_kind(kind, 1, cause="c", position=0.5, delay_s=1.5)
    strike = fault.strike_after(4)
    assert strike == 2
    shaped = [fault.shaped_offset(index, index * 0.1, strike) for index in range(4)]
    assert [None if value is None else round(value, 9) for value in shaped] == expected


@given(st.floats(0, 1, exclude_max=True), st.integers(2, 1_000_000))
def test_a_truncated_body_sends_some_of_it_never_all(position: float, size: int) -> None:
    assert 1 <= fault_of_kind("truncate", 1, cause="c", position=position).truncated_length(size) < size
