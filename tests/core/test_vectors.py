"""SPEC sections 7 and 11: deterministic embeddings and ranking."""

import itertools
import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import embedding_payloads, prompts, ranking_payloads, texts

from mockcore import EmbeddingPlan, RankingPlan, Settings, count_tokens, predict
from mockcore.digest import digest_texts
from mockcore.vectors import embedding_vector, float32_le_bytes, sigmoid

dimensions = st.integers(1, 768)


def embedding_plan(payload: dict[str, Any]) -> EmbeddingPlan:
    prediction = predict("embeddings", payload, Settings())
    assert isinstance(prediction.plan, EmbeddingPlan), prediction
    return prediction.plan


def ranking_plan(payload: dict[str, Any]) -> RankingPlan:
    prediction = predict("ranking", payload, Settings())
    assert isinstance(prediction.plan, RankingPlan), prediction
    return prediction.plan


def embed(text: str, size: int | None = None) -> tuple[float, ...]:
    payload: dict[str, Any] = {"model": "m", "input": text}
    if size is not None:
        payload["dimensions"] = size
    (vector,) = embedding_plan(payload).vectors
    return vector


def norm(vector: tuple[float, ...]) -> float:
    return math.sqrt(math.fsum(component * component for component in vector))


def is_float32(value: float) -> bool:
    (as_float32,) = struct.unpack("<f", struct.pack("<f", value))
    return bool(as_float32 == value)


# --- embeddings -------------------------------------------------------------------------------


@given(embedding_payloads())
def test_every_embedding_is_a_unit_vector_of_the_requested_size(payload: dict[str, Any]) -> None:
    plan = embedding_plan(payload)
    for vector in plan.vectors:
        assert len(vector) == (payload.get("dimensions") or 768)
        assert norm(vector) == pytest.approx(1.0, abs=1e-6)


@given(embedding_payloads())
def test_embedding_components_are_exact_float32_values(payload: dict[str, Any]) -> None:
    for vector in embedding_plan(payload).vectors:
        assert all(is_float32(component) for component in vector)


@given(texts(min_size=1), dimensions)
def test_an_embedding_is_a_pure_function_of_the_input_text(text: str, size: int) -> None:
    assert embed(text, size) == embed(text, size)
    assert embed(text, size) == embedding_vector(digest_texts([text]), size)


@given(st.lists(texts(min_size=1), min_size=1, max_size=5))
def test_each_input_of_a_batch_is_embedded_as_if_it_were_alone(inputs: list[str]) -> None:
    plan = embedding_plan({"model": "m", "input": inputs})
    assert plan.vectors == tuple(embed(text) for text in inputs)


@given(texts(min_size=1), dimensions)
def test_dimensions_keep_a_prefix_of_the_full_vector_re_normalised(text: str, size: int) -> None:
    full = embed(text)[:size]
    short = embed(text, size)
    prefix_norm = norm(full)
    if prefix_norm < 1e-3:  # too short a prefix to compare directions in float32
        return
    assert short == pytest.approx([component / prefix_norm for component in full], abs=1e-5)


def test_dimensions_1_is_a_unit_vector_even_when_its_component_is_drawn_as_zero() -> None:
    # The first 16 bits drawn for this text are 0x8000, the zero of the component scale.
    assert embed("zero-88389", 1) in {(1.0,), (-1.0,)}


@given(texts(min_size=1), dimensions)
def test_base64_carries_the_little_endian_float32_bytes_of_the_same_floats(text: str, size: int) -> None:
    vector = embed(text, size)
    raw = float32_le_bytes(vector)
    assert len(raw) == 4 * size
    assert struct.unpack(f"<{size}f", raw) == vector


@given(texts(min_size=1))
def test_the_encoding_format_does_not_change_the_vectors(text: str) -> None:
    as_float = embedding_plan({"model": "m", "input": text, "encoding_format": "float"})
    as_base64 = embedding_plan({"model": "m", "input": text, "encoding_format": "base64"})
    assert as_base64.encoding_format == "base64"
    assert as_float.vectors == as_base64.vectors


def test_the_encoding_format_defaults_to_float() -> None:
    assert embedding_plan({"model": "m", "input": "hello"}).encoding_format == "float"


@given(prompts(min_text_size=1))
def test_embedding_usage_counts_the_tokens_of_every_input(prompt: Any) -> None:
    plan = embedding_plan({"model": "m", "input": prompt})
    if isinstance(prompt, str):
        expected = count_tokens(prompt)
    elif isinstance(prompt[0], str):
        expected = sum(count_tokens(text) for text in prompt)
    elif isinstance(prompt[0], int):
        expected = len(prompt)
    else:
        expected = sum(len(ids) for ids in prompt)
    assert plan.usage.prompt_tokens == expected
    assert plan.usage.completion_tokens == 0


def test_different_texts_get_different_vectors() -> None:
    assert embed("cat") != embed("dog")


@pytest.mark.parametrize("size", [0, -1, 769, 4096])
def test_dimensions_outside_1_to_768_is_a_400_naming_dimensions(size: int) -> None:
    prediction = predict("embeddings", {"model": "m", "input": "hello", "dimensions": size})
    assert prediction.status_code == 400
    assert prediction.error is not None
    assert prediction.error.param == "dimensions"


# --- ranking ----------------------------------------------------------------------------------


@given(ranking_payloads())
def test_rankings_are_a_permutation_of_the_passages(payload: dict[str, Any]) -> None:
    indices = [ranking.index for ranking in ranking_plan(payload).rankings]
    assert sorted(indices) == list(range(len(payload["passages"])))


@given(ranking_payloads())
def test_rankings_are_sorted_by_score_descending_and_ties_keep_index_order(payload: dict[str, Any]) -> None:
    rankings = ranking_plan(payload).rankings
    for better, worse in itertools.pairwise(rankings):
        assert (better.relevance_score, -better.index) > (worse.relevance_score, -worse.index)


@given(texts(), texts(), st.integers(2, 6))
def test_identical_passages_tie_and_keep_their_index_order(query: str, passage: str, copies: int) -> None:
    plan = ranking_plan({"model": "m", "query": {"text": query}, "passages": [{"text": passage}] * copies})
    assert [ranking.index for ranking in plan.rankings] == list(range(copies))
    assert len({ranking.relevance_score for ranking in plan.rankings}) == 1


@given(ranking_payloads())
def test_relevance_scores_lie_strictly_between_0_and_1(payload: dict[str, Any]) -> None:
    assert all(0 < ranking.relevance_score < 1 for ranking in ranking_plan(payload).rankings)


@given(ranking_payloads())
def test_relevance_score_is_the_sigmoid_of_the_logit(payload: dict[str, Any]) -> None:
    for ranking in ranking_plan(payload).rankings:
        assert ranking.relevance_score == pytest.approx(1 / (1 + math.exp(-ranking.logit)), rel=1e-12)
        assert ranking.relevance_score == sigmoid(ranking.logit)


@given(ranking_payloads())
def test_ranking_usage_counts_the_query_and_every_passage(payload: dict[str, Any]) -> None:
    plan = ranking_plan(payload)
    expected = count_tokens(payload["query"]["text"]) + sum(
        count_tokens(passage["text"]) for passage in payload["passages"]
    )
    assert plan.usage.prompt_tokens == expected
    assert plan.usage.completion_tokens == 0


@given(texts(), st.lists(texts(), min_size=1, max_size=6), st.data())
def test_a_passage_score_depends_only_on_the_query_and_that_passage(
    query: str, passages: list[str], data: st.DataObject
) -> None:
    chosen = data.draw(st.integers(0, len(passages) - 1))
    batch = ranking_plan(
        {"model": "m", "query": {"text": query}, "passages": [{"text": p} for p in passages]}
    )
    alone = ranking_plan({"model": "m", "query": {"text": query}, "passages": [{"text": passages[chosen]}]})
    (in_batch,) = [ranking for ranking in batch.rankings if ranking.index == chosen]
    assert (in_batch.logit, in_batch.relevance_score) == (
        alone.rankings[0].logit,
        alone.rankings[0].relevance_score,
    )


def test_a_passage_sharing_the_query_words_ranks_above_an_unrelated_one() -> None:
    plan = ranking_plan(
        {
            "model": "m",
            "query": {"text": "deterministic mock server timing"},
            "passages": [
                {"text": "A recipe for bread with flour and water."},
                {"text": "The mock server has deterministic timing."},
            ],
        }
    )
    assert plan.rankings[0].index == 1
