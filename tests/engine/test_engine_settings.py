"""The engine's options: vLLM's defaults per GPU, and the reference server's scheduler options mapped."""

import msgspec
import pytest

from mockcore.engine import BUILTIN_PROFILES, TraceRequest, replay
from mockcore.engine.from_settings import default_batch_limits, engine_config
from mockcore.settings import Settings

PROFILE = BUILTIN_PROFILES["llama-3.1-8b"]


@pytest.mark.parametrize(
    ("gpu", "limits"),
    [("h100-sxm", (1024, 8192)), ("h200", (1024, 8192)), ("a100", (256, 2048)), ("rtx6000", (256, 2048))],
)
def test_unset_batch_limits_are_vllms_defaults_for_the_gpu(gpu: str, limits: tuple[int, int]) -> None:
    assert default_batch_limits(gpu) == limits
    config = engine_config(Settings(engine="qwen3-0.6b", dcgm_gpu_name=gpu), PROFILE)
    assert (config.max_num_seqs, config.max_num_batched_tokens) == limits


def test_scheduler_enabled_turns_the_engine_on_with_the_8b_profile() -> None:
    assert Settings(scheduler_enabled=True).engine == "llama-3.1-8b"
    assert Settings(scheduler_enabled=True, engine="qwen3-0.6b").engine == "qwen3-0.6b"
    assert Settings().engine is None


def test_the_reference_options_map_onto_the_engine() -> None:
    settings = Settings(
        engine="llama-3.1-8b",
        max_num_seqs=64,
        scheduler_max_batch_size=8,
        scheduler_step_ms=5.0,
        scheduler_prefill_chunk_tokens=128,
        scheduler_max_prefill_chunks_per_step=2,
        scheduler_goodput_collapse_enabled=True,
    )
    config = engine_config(settings, PROFILE)
    assert config.max_num_seqs == 8  # the reference's batch size wins
    assert config.step_floor_ms == 5.0
    assert config.prefill_chunk_tokens == 128
    assert config.max_prefill_seqs_per_step == 2
    assert config.goodput_collapse
    # The step floor: no step is shorter than the reference's fixed step.
    steps = replay([TraceRequest(timestamp=0, input_length=16, output_length=10)], config).steps
    assert min(step.end_s - step.start_s for step in steps) == pytest.approx(0.005)


def test_goodput_collapse_shrinks_the_batch_under_overload() -> None:
    base = engine_config(Settings(engine="qwen3-0.6b", max_num_seqs=8), BUILTIN_PROFILES["qwen3-0.6b"])
    collapsing = msgspec.structs.replace(
        base,
        goodput_collapse=True,
        goodput_collapse_threshold=1.0,
        goodput_collapse_slope=1.0,
        goodput_collapse_floor=0.3,
    )
    # 40 requests for 8 places: an overload of 5x, so the batch falls to its floor, 8 x 0.3 = 2.
    burst = [TraceRequest(timestamp=0, input_length=32, output_length=50) for _ in range(40)]
    plain_batch = max(step.batch for step in replay(burst, base).steps)
    collapsed = replay(burst, collapsing).steps
    assert plain_batch == 8
    assert collapsed[0].batch == 2
    # While the overload lasts the batch stays small; it grows back as the queue drains.
    overloaded = [step.batch for step in collapsed if step.waiting + step.batch >= 5 * 8]
    assert overloaded
    assert max(overloaded) <= 2
    assert collapsed[-1].end_s > replay(burst, base).steps[-1].end_s
