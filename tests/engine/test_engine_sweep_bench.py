"""The saturation-sweep benchmark's pieces (bench/engine_sweep.py, bench/svg_plot.py) on a tiny engine."""

import xml.etree.ElementTree as ET

import pytest
from bench.engine_sweep import (
    OutputLengths,
    Roofline,
    SweepPoint,
    chart,
    closed_loop,
    measure_knee,
    predict_knee,
)
from bench.svg_plot import Panel, Series, VerticalLine, line_chart_svg

from mockcore.engine import EngineConfig, builtin_profile

SVG = "{http://www.w3.org/2000/svg}"


def _config(max_num_seqs: int = 8, max_waiting: int | None = None) -> EngineConfig:
    return EngineConfig(
        profile=builtin_profile("llama-3.1-8b"),
        gpu="h100-sxm",
        max_num_seqs=max_num_seqs,
        max_waiting_requests=max_waiting,
    )


def _point(concurrency: int, tokens_per_s: float) -> SweepPoint:
    return SweepPoint(
        concurrency=concurrency,
        window_s=1.0,
        output_tokens_per_s=tokens_per_s,
        requests=1,
        ttft_p50_ms=1.0,
        ttft_p90_ms=1.0,
        itl_p50_ms=1.0,
        queue_p50_ms=0.0,
        rejected_429=0,
        rejected_429_in_run=0,
        max_waiting=0,
    )


def test_the_predicted_knee_is_the_least_of_the_three_limits() -> None:
    prediction = predict_knee(_config(max_num_seqs=256), isl=512, osl=128)
    assert prediction.knee == min(
        prediction.compute_bound_batch, prediction.max_num_seqs, prediction.kv_limit_sequences
    )
    # A prefill-heavy mix turns compute-bound at a far smaller batch than decode alone.
    assert prediction.compute_bound_batch < prediction.decode_only_compute_bound_batch
    assert predict_knee(_config(max_num_seqs=4), isl=512, osl=128).knee == 4


def test_roofline_throughput_rises_then_flattens_at_the_largest_batch() -> None:
    roofline = Roofline(_config(max_num_seqs=8), 512, 128)
    assert roofline.tokens_per_s(1) < roofline.tokens_per_s(4) < roofline.tokens_per_s(8)
    assert roofline.tokens_per_s(8) == roofline.tokens_per_s(64)


def test_measured_knee_is_where_the_single_client_line_meets_the_plateau() -> None:
    points = [_point(1, 100.0), _point(2, 200.0), _point(4, 380.0), _point(8, 400.0), _point(16, 400.0)]
    knee = measure_knee(points)
    assert knee.ridge == pytest.approx(4.0)
    assert 2.0 < knee.at_90_percent < 4.0


def test_output_lengths_spread_evenly_about_the_mean_and_repeat() -> None:
    lengths = [OutputLengths(128, 0.25).next() for _ in range(3)]
    assert lengths == [OutputLengths(128, 0.25).next() for _ in range(3)]
    fixed = OutputLengths(128, 0.0)
    assert {fixed.next() for _ in range(10)} == {128}
    spread = OutputLengths(128, 0.25)
    assert (spread.low, spread.high) == (96, 160)


def test_closed_loop_saturates_at_max_num_seqs_and_queues_past_it() -> None:
    config = _config(max_num_seqs=4)
    light = closed_loop(config, 2, isl=64, osl=16, warmup_s=0.5, window_s=1.0)
    full = closed_loop(config, 4, isl=64, osl=16, warmup_s=0.5, window_s=1.0)
    over = closed_loop(config, 8, isl=64, osl=16, warmup_s=0.5, window_s=1.0)
    assert light.output_tokens_per_s < full.output_tokens_per_s
    assert over.output_tokens_per_s == pytest.approx(full.output_tokens_per_s, rel=0.1)
    assert over.ttft_p50_ms > 2 * full.ttft_p50_ms
    assert over.queue_p50_ms is not None
    assert over.queue_p50_ms > 0
    assert over.mean_batch == pytest.approx(4.0, rel=0.05)
    assert full.rejected_429 == over.rejected_429 == 0


def test_a_bounded_queue_answers_429_only_once_it_is_full() -> None:
    config = _config(max_num_seqs=4, max_waiting=2)
    within = closed_loop(config, 6, isl=64, osl=16, warmup_s=0.5, window_s=1.0)
    beyond = closed_loop(config, 12, isl=64, osl=16, warmup_s=0.5, window_s=1.0)
    assert within.rejected_429_in_run == 0
    assert beyond.rejected_429 > 0


def test_the_svg_writer_produces_well_formed_svg() -> None:
    svg = line_chart_svg(
        [
            Panel("tokens/s <linear>", [Series("a & b", [(1, 1.0), (2, 3.0), (512, 5.0)], "#123456")]),
            Panel("ms", [Series("c", [(1, 0.5), (512, 5000.0)], "#654321", dashed=True)], log_y=True),
        ],
        x_label="concurrency",
        title='a "title" & more',
        vertical_lines=[VerticalLine(44.7, "knee", "#555"), VerticalLine(256, "max_num_seqs", "#999")],
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own writer's output
    assert root.tag == f"{SVG}svg"
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "a & b" in texts
    assert "512" in texts
    assert len(list(root.iter(f"{SVG}polyline"))) == 2


def test_the_sweep_chart_parses() -> None:
    config = _config(max_num_seqs=4)
    points = [closed_loop(config, c, isl=64, osl=16, warmup_s=0.2, window_s=0.5) for c in (1, 2, 4, 8)]
    svg = chart({"run": points}, Roofline(config, 64, 16), measure_knee(points), "tiny")
    root = ET.fromstring(svg)  # noqa: S314 - our own writer's output
    assert len(list(root.iter(f"{SVG}polyline"))) == 4  # tokens/s, roofline, TTFT, 429s
