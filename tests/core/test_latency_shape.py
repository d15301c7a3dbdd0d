"""The latency shape, its log-normal jitter, `--fast`, the retrieval latencies, `X-Mock-*` headers."""

import asyncio
import itertools
import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore import EmbeddingPlan, GenerationPlan, RankingPlan, RequestError, Settings, predict
from mockcore.overrides import parse_overrides
from mockcore.timing import (
    LatencyShape,
    LognormalFactors,
    Schedule,
    lognormal_factor_from_unit,
    shaped_schedule,
)
from mockhttp.pacing import StreamProgress, send_paced

coefficients = st.floats(0, 50, allow_nan=False, allow_infinity=False)
counts = st.integers(0, 10_000)
PROMPT = "the quick brown fox jumps over the lazy dog " * 4
CHAT = {"model": "m", "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 12}
JITTERED = Settings(ttft=100.0, itl=20.0, ttft_jitter_cv=0.25, itl_jitter_cv=0.25, random_seed=3)
SAMPLES = 5000


@given(
    coefficients, coefficients, coefficients, coefficients, coefficients, coefficients, counts, counts, counts
)
def test_the_shape_adds_its_terms_to_ttft_and_itl(  # noqa: PLR0917 - one per coefficient
    ttft: float,
    itl: float,
    per_isl: float,
    quad: float,
    per_osl: float,
    lin: float,
    isl: int,
    osl: int,
    in_flight: int,
) -> None:
    shape = LatencyShape(
        ttft_ms=ttft,
        itl_ms=itl,
        ttft_per_isl_token_ms=per_isl,
        ttft_concurrency_quad_ms=quad,
        itl_per_osl_token_ms=per_osl,
        itl_concurrency_lin_ms=lin,
    )
    schedule = shaped_schedule(
        shape, input_tokens=isl, output_tokens=osl, in_flight=in_flight, jitter_digest=b"d"
    )
    assert schedule.ttft_ms == pytest.approx(ttft + per_isl * isl + quad * in_flight**2)
    assert schedule.itl_ms == pytest.approx(itl + per_osl * osl + lin * in_flight)
    assert schedule.itl_cv == 0.0


def test_a_shape_of_zeros_is_the_constant_schedule() -> None:
    shape = LatencyShape(ttft_ms=20.0, itl_ms=5.0)
    assert not shape.jittered
    assert not shape.load_dependent
    assert shaped_schedule(shape, input_tokens=900, output_tokens=70, in_flight=30) == Schedule(
        ttft_ms=20, itl_ms=5
    )


def test_predict_applies_the_prompt_and_output_terms_and_the_load_it_is_told() -> None:
    settings = Settings(
        ttft=10.0, itl=2.0, ttft_per_isl_token_ms=0.5, itl_per_osl_token_ms=0.25, ttft_concurrency_quad_ms=1.0
    )
    plan = predict("chat", CHAT, settings, in_flight=3).plan
    assert isinstance(plan, GenerationPlan)
    isl = plan.usage.prompt_tokens
    osl = plan.usage.completion_tokens
    assert plan.schedule.ttft_ms == pytest.approx(10.0 + 0.5 * isl + 1.0 * 9)
    assert plan.schedule.itl_ms == pytest.approx(2.0 + 0.25 * osl)


# -- jitter ------------------------------------------------------------------------------------


@given(st.floats(0.001, 0.999), st.floats(0.01, 3.0))
def test_a_quantile_factor_is_log_normal_with_mean_one(unit: float, cv: float) -> None:
    sigma = math.sqrt(math.log1p(cv * cv))
    factor = lognormal_factor_from_unit(unit, cv)
    z = statistics.NormalDist().inv_cdf(unit)
    assert factor == pytest.approx(math.exp(sigma * z - sigma * sigma / 2))
    assert lognormal_factor_from_unit(unit, 0.0) == 1.0


@pytest.mark.parametrize("cv", [0.1, 0.5, 1.0])
def test_the_gap_factors_have_mean_one_and_the_cv_asked_for(cv: float) -> None:
    factors = LognormalFactors(seed=2024, cv=cv)
    values = [factors.next() for _ in range(100_000)]
    mean = statistics.fmean(values)
    assert mean == pytest.approx(1.0, abs=0.02 * max(1.0, cv))
    assert statistics.pstdev(values) / mean == pytest.approx(cv, rel=0.1)


def test_the_gap_factors_are_a_pure_function_of_the_seed() -> None:
    first = LognormalFactors(seed=7, cv=0.3)
    again = LognormalFactors(seed=7, cv=0.3)
    other = LognormalFactors(seed=8, cv=0.3)
    sequence = [first.next() for _ in range(50)]
    assert sequence == [again.next() for _ in range(50)]
    assert sequence != [other.next() for _ in range(50)]


def test_a_jittered_schedule_keeps_absolute_increasing_deadlines() -> None:
    plan = predict("chat", CHAT, JITTERED, sequence_number=9).plan
    assert isinstance(plan, GenerationPlan)
    schedule = plan.schedule
    offsets = schedule.event_offsets_s(plan.event_count)
    assert list(offsets) == sorted(offsets)
    assert offsets[0] == schedule.first_token_offset_s
    assert [schedule.event_offset_s(k) for k in range(plan.event_count)] == list(offsets)
    assert plan.response_offset_s == schedule.event_offsets()(plan.event_count)
    assert plan.response_offset_s > offsets[-1]
    reader = schedule.event_offsets()
    reader(5)
    with pytest.raises(ValueError, match="asked after"):
        reader(4)


def test_jitter_depends_on_the_request_number_and_the_prompt_not_on_anything_else() -> None:
    def ttft(sequence_number: int, content: str = PROMPT) -> float:
        payload = {"model": "m", "messages": [{"role": "user", "content": content}], "max_tokens": 12}
        plan = predict("chat", payload, JITTERED, sequence_number=sequence_number).plan
        assert isinstance(plan, GenerationPlan)
        return plan.schedule.ttft_ms

    assert ttft(4) == ttft(4)
    assert len({ttft(n) for n in range(1, 20)}) == 19
    assert ttft(4) != ttft(4, "another prompt entirely")


class FakeClock:
    """Time that passes only when the pacer sleeps, by exactly what it asks."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def _paced_write_times(schedule: Schedule, events: int, clock: FakeClock) -> tuple[float, list[float]]:
    t0 = clock.now
    times: list[float] = []

    async def record(_: bytes) -> None:
        times.append(clock.now)

    offset_of = schedule.event_offsets()
    await send_paced(
        ((offset_of(k), b"x") for k in range(events)),
        t0,
        clock=clock,
        sleep=clock.sleep,
        send_chunk=record,
        progress=StreamProgress(events),
    )
    return t0, times


def test_observed_ttft_and_itl_spread_as_configured_over_5000_samples() -> None:
    """Requests 1..5000 through the real pacer with a fake clock: the CV seen is the CV set."""
    clock = FakeClock()
    ttfts: list[float] = []
    gaps: list[float] = []

    async def run() -> None:
        for n in range(1, SAMPLES + 1):
            plan = predict("chat", CHAT, JITTERED, sequence_number=n).plan
            assert isinstance(plan, GenerationPlan)
            t0, times = await _paced_write_times(plan.schedule, 3, clock)
            ttfts.append(times[0] - t0)
            gaps.extend(later - earlier for earlier, later in itertools.pairwise(times))

    asyncio.run(run())
    gaps = gaps[:SAMPLES]
    assert len(gaps) == SAMPLES
    for samples, base_s in ((ttfts, 0.100), (gaps, 0.020)):
        mean = statistics.fmean(samples)
        assert mean == pytest.approx(base_s, rel=0.03)
        assert statistics.pstdev(samples) / mean == pytest.approx(0.25, abs=0.03)


# -- --fast and the retrieval latencies --------------------------------------------------------


def test_fast_zeroes_every_latency_whatever_else_is_given() -> None:
    settings = Settings(
        fast=True, ttft=80.0, itl=9.0, embedding_base_latency=5.0, ranking_per_passage_latency=2.0
    )
    assert (settings.ttft, settings.itl) == (0.0, 0.0)
    assert settings.embedding_base_latency == settings.ranking_per_passage_latency == 0.0
    assert settings.image_retrieval_base_latency == settings.image_retrieval_per_image_latency == 0.0
    plan = predict("embeddings", {"model": "e", "input": ["a", "b"]}, settings).plan
    assert isinstance(plan, EmbeddingPlan)
    assert plan.response_offset_s == 0.0


def test_embeddings_and_ranking_answer_after_ttft_unless_their_latencies_are_set() -> None:
    embeddings = {"model": "e", "input": ["a", "b", "c"]}
    ranking = {"model": "r", "query": {"text": "q"}, "passages": [{"text": "p"}, {"text": "s"}]}
    plain = Settings(ttft=30.0)
    shaped = Settings(
        ttft=30.0,
        embedding_base_latency=10.0,
        embedding_per_input_latency=2.0,
        ranking_base_latency=10.0,
        ranking_per_passage_latency=1.0,
    )
    per_item_only = Settings(ttft=30.0, embedding_per_input_latency=2.0)
    for settings, embedding_s, ranking_s in ((plain, 0.030, 0.030), (shaped, 0.016, 0.012)):
        embedding_plan = predict("embeddings", embeddings, settings).plan
        ranking_plan = predict("ranking", ranking, settings).plan
        assert isinstance(embedding_plan, EmbeddingPlan)
        assert isinstance(ranking_plan, RankingPlan)
        assert embedding_plan.response_offset_s == pytest.approx(embedding_s)
        assert ranking_plan.response_offset_s == pytest.approx(ranking_s)
    plan = predict("embeddings", embeddings, per_item_only).plan
    assert isinstance(plan, EmbeddingPlan)
    assert plan.response_offset_s == pytest.approx(0.036)


# -- X-Mock-* headers --------------------------------------------------------------------------


@pytest.mark.parametrize("tokens", [1, 7, 300])
def test_x_mock_output_tokens_fixes_the_length_of_every_choice(tokens: int) -> None:
    headers = {"X-Mock-Output-Tokens": str(tokens)}
    chat = predict("chat", {**CHAT, "max_tokens": 2}, headers=headers).plan
    batch = predict("completions", {"model": "m", "prompt": ["a", "bb", "ccc"]}, headers=headers).plan
    reasoning = predict(
        "chat",
        {"model": "openai/gpt-oss-20b", "messages": [{"role": "user", "content": "why"}]},
        headers=headers,
    ).plan
    for plan in (chat, batch, reasoning):
        assert isinstance(plan, GenerationPlan)
        assert [choice.token_count for choice in plan.choices] == [tokens] * len(plan.choices)


def test_x_mock_ttft_and_itl_replace_the_shape_and_the_jitter() -> None:
    headers = {"x-mock-ttft-ms": "250", "X-Mock-ITL-Ms": "0.5"}
    plan = predict("chat", CHAT, JITTERED, headers=headers).plan
    assert isinstance(plan, GenerationPlan)
    assert plan.schedule == Schedule(ttft_ms=250.0, itl_ms=0.5)
    embedding = predict("embeddings", {"model": "e", "input": "a"}, headers={"X-Mock-TTFT-Ms": "75"}).plan
    assert isinstance(embedding, EmbeddingPlan)
    assert embedding.response_offset_s == pytest.approx(0.075)


@pytest.mark.parametrize(
    ("headers", "param"),
    [
        ({"x-mock-fault": "meltdown"}, "x-mock-fault"),
        ({"x-mock-ttft-ms": "-1"}, "x-mock-ttft-ms"),
        ({"x-mock-ttft-ms": "soon"}, "x-mock-ttft-ms"),
        ({"x-mock-itl-ms": "nan"}, "x-mock-itl-ms"),
        ({"x-mock-itl-ms": "inf"}, "x-mock-itl-ms"),
        ({"x-mock-output-tokens": "0"}, "x-mock-output-tokens"),
        ({"x-mock-output-tokens": "2.5"}, "x-mock-output-tokens"),
        ({"x-mock-output-tokens": "131073"}, "x-mock-output-tokens"),
        ({"x-mock-faults": "abort"}, "x-mock-faults"),
    ],
)
def test_a_malformed_control_header_is_a_400_naming_it(headers: dict[str, str], param: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse_overrides(headers, 131_072)
    assert raised.value.param == param
    prediction = predict("chat", CHAT, headers=headers)
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.param == param
