"""SPEC section 9: fault injection, a pure function of (seed, n)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore import InjectedFault, Settings, draw_fault, fault_for, predict

seeds = st.integers(-(2**63), 2**63 - 1)
sequence_numbers = st.integers(1, 10**12)
rates = st.floats(0, 100, allow_nan=False)
REQUESTS = 10_000
Z_99_9 = 3.29  # two-sided 99.9 % quantile of the normal distribution
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@given(seeds, sequence_numbers, rates)
def test_the_outcome_depends_only_on_seed_and_sequence_number(seed: int, n: int, rate: float) -> None:
    assert draw_fault(seed, n, rate) == draw_fault(seed, n, rate)


@given(seeds, st.lists(sequence_numbers, min_size=1, max_size=50, unique=True), st.data())
def test_the_outcome_does_not_depend_on_the_order_requests_are_drawn(
    seed: int, numbers: list[int], data: st.DataObject
) -> None:
    in_order = {n: draw_fault(seed, n, 50) for n in numbers}
    shuffled = data.draw(st.permutations(numbers))
    assert {n: draw_fault(seed, n, 50) for n in shuffled} == in_order


@given(seeds, sequence_numbers)
def test_rate_0_never_fails(seed: int, n: int) -> None:
    assert draw_fault(seed, n, 0.0) is None
    assert fault_for(Settings(error_rate=0.0, random_seed=seed), seed, n) is None


@given(seeds, sequence_numbers)
def test_rate_100_always_fails(seed: int, n: int) -> None:
    assert draw_fault(seed, n, 100.0) is not None


@given(seeds, sequence_numbers, rates, rates)
def test_a_request_that_fails_at_some_rate_fails_at_every_higher_rate(
    seed: int, n: int, rate: float, other_rate: float
) -> None:
    low, high = sorted((rate, other_rate))
    if draw_fault(seed, n, low) is not None:
        assert draw_fault(seed, n, high) is not None


@pytest.mark.parametrize("rate_percent", [1, 5, 10, 50])
def test_the_observed_rate_over_10000_requests_lies_in_the_binomial_99_9_percent_interval(
    rate_percent: float,
) -> None:
    failures = sum(draw_fault(2024, n, rate_percent) is not None for n in range(1, REQUESTS + 1))
    p = rate_percent / 100
    half_width = Z_99_9 * math.sqrt(REQUESTS * p * (1 - p))
    assert REQUESTS * p - half_width <= failures <= REQUESTS * p + half_width


def test_different_seeds_give_different_fault_sequences() -> None:
    def pattern(seed: int) -> list[bool]:
        return [draw_fault(seed, n, 50) is not None for n in range(1, 65)]

    assert pattern(1) != pattern(2)


@given(seeds, sequence_numbers)
def test_an_injected_fault_is_a_500_server_error_naming_the_request(seed: int, n: int) -> None:
    fault = draw_fault(seed, n, 100)
    assert isinstance(fault, InjectedFault)
    assert fault.status_code == 500
    assert fault.type == "server_error"
    assert fault.sequence_number == n
    assert str(n) in fault.message


@given(st.floats(0, 100, exclude_min=True, exclude_max=True), sequence_numbers)
def test_without_a_seed_a_fractional_rate_is_not_predictable(rate: float, n: int) -> None:
    prediction = predict("chat", CHAT, Settings(error_rate=rate), sequence_number=n)
    assert prediction.fault_predictable is False
    assert prediction.status_code == 200
    assert prediction.plan is not None


@given(st.one_of(st.none(), seeds), sequence_numbers)
def test_rate_100_predicts_a_fault_with_or_without_a_seed(seed: int | None, n: int) -> None:
    prediction = predict("chat", CHAT, Settings(error_rate=100, random_seed=seed), sequence_number=n)
    assert prediction.fault_predictable is True
    assert prediction.status_code == 500
    assert prediction.fault is not None
    assert prediction.plan is None


@given(st.one_of(st.none(), seeds), sequence_numbers)
def test_rate_0_predicts_success_with_or_without_a_seed(seed: int | None, n: int) -> None:
    prediction = predict("chat", CHAT, Settings(error_rate=0, random_seed=seed), sequence_number=n)
    assert prediction.fault_predictable is True
    assert prediction.status_code == 200


@given(seeds, sequence_numbers, rates)
def test_a_seeded_prediction_reports_exactly_the_drawn_fault(seed: int, n: int, rate: float) -> None:
    prediction = predict("chat", CHAT, Settings(error_rate=rate, random_seed=seed), sequence_number=n)
    expected = fault_for(Settings(error_rate=rate, random_seed=seed), seed, n)
    assert prediction.fault == expected
    assert prediction.status_code == (500 if expected else 200)


def test_an_invalid_request_is_a_400_even_when_every_request_fails() -> None:
    prediction = predict("chat", {"model": "m", "messages": []}, Settings(error_rate=100, random_seed=1))
    assert prediction.status_code == 400
    assert prediction.fault is None
