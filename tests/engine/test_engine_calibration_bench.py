"""The calibration replay (bench/engine_calibration.py): its data, its arithmetic, and the docs' table."""

import json
from pathlib import Path

import pytest
from bench.engine_calibration import DATA, GPU, PROFILE, burst_figures, burst_trace, calibrate, markdown

from mockcore.engine import RequestResult
from mockcore.settings import Settings

DOCS = Path(__file__).parents[2] / "docs" / "engine.md"


def _data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


@pytest.mark.parametrize("size", ["40", "160"])
def test_the_lengths_add_up_to_the_published_totals(size: str) -> None:
    run = _data()["runs"][size]
    assert len(run["input_lens"]) == len(run["output_lens"]) == int(size)
    assert sum(run["input_lens"]) == run["published"]["total_input_tokens"]
    assert sum(run["output_lens"]) == run["published"]["total_output_tokens"]


def test_a_burst_arrives_at_once_without_the_requests_that_got_no_token() -> None:
    trace = burst_trace([10, 20, 30], [5, 0, 7])
    assert [(request.input_length, request.output_length) for request in trace] == [(10, 5), (30, 7)]
    assert {request.arrival_s for request in trace} == {0.0}


def _result(index: int, output_tokens: int, ttft_s: float, e2e_s: float) -> RequestResult:
    return RequestResult(
        index=index, arrival_s=0.0, prompt_tokens=10, output_tokens=output_tokens, ttft_s=ttft_s, e2e_s=e2e_s
    )


def test_figures_are_computed_as_benchmark_serving_does() -> None:
    results = (
        _result(0, 11, 0.1, 1.1),  # TPOT (1.1 - 0.1) / 10 = 100 ms
        _result(1, 5, 0.2, 0.6),  # TPOT 100 ms
        _result(2, 3, 0.3, 0.9),  # TPOT 300 ms
        _result(3, 1, 0.4, 0.4),  # one token: no TPOT
    )
    figures = burst_figures(results)
    assert figures.duration_s == pytest.approx(1.1)
    assert figures.output_tokens_per_s == pytest.approx(20 / 1.1)
    assert figures.median_tpot_ms == pytest.approx(100.0)
    assert figures.mean_tpot_ms == pytest.approx(500.0 / 3)
    assert figures.mean_ttft_ms == pytest.approx(250.0)
    assert figures.median_ttft_ms == pytest.approx(250.0)


def test_the_docs_show_what_the_replay_gives() -> None:
    """The table in docs/engine.md is the script's output: a changed default shows up here."""
    report = calibrate(_data(), Settings(engine=PROFILE, dcgm_gpu_name=GPU))
    assert markdown(report) in DOCS.read_text(encoding="utf-8")
    for sides in report.values():
        assert sides["engine"].output_tokens_per_s == pytest.approx(
            sides["published"].output_tokens_per_s, rel=0.25
        )
