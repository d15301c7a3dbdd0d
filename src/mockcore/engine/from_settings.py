"""From the server's options to the engine's configuration (one mapping, documented in docs/engine.md).

The reference server's scheduler options map onto this engine: `--scheduler-max-batch-size`
is `--max-num-seqs`, `--scheduler-step-ms` a floor under every step's time, the prefill
options limit chunking, and goodput collapse shrinks the batch when the engine is overloaded.
"""

from mockcore.engine.config import EngineConfig
from mockcore.engine.profiles import ModelProfile
from mockcore.gpu.catalog import gpu_spec
from mockcore.settings import Settings

PROFILE_FILE_SUFFIXES = (".toml", ".json")
# vLLM's API-server defaults (`get_batch_defaults` in vllm/engine/arg_utils.py, since about
# 0.9): a GPU of at least 70 GiB other than the A100 batches 1024 sequences and 8192 tokens a
# step; smaller GPUs and the A100, 256 and 2048.
LARGE_GPU_MIB = 70 * 1024
LARGE_GPU_BATCH = (1024, 8192)
SMALL_GPU_BATCH = (256, 2048)


def default_batch_limits(gpu: str) -> tuple[int, int]:
    """VLLM's (max_num_seqs, max_num_batched_tokens) on one GPU of this model."""
    large = gpu_spec(gpu).memory_total_mib >= LARGE_GPU_MIB and gpu != "a100"
    return LARGE_GPU_BATCH if large else SMALL_GPU_BATCH


def is_profile_file(name: str) -> bool:
    """Whether `--engine` names a file (read by the adapter) rather than a built-in profile."""
    return name.lower().endswith(PROFILE_FILE_SUFFIXES)


def engine_config(settings: Settings, profile: ModelProfile) -> EngineConfig:
    """The engine `settings` describe, serving `profile` on `--tensor-parallel` GPUs of `--dcgm-gpu-name`."""
    default_seqs, default_tokens = default_batch_limits(settings.dcgm_gpu_name)
    max_num_seqs = settings.scheduler_max_batch_size or settings.max_num_seqs or default_seqs
    return EngineConfig(
        profile=profile,
        gpu=settings.dcgm_gpu_name,
        tensor_parallel=settings.tensor_parallel,
        mfu=settings.engine_mfu,
        mbu=settings.engine_mbu,
        step_overhead_ms=settings.engine_step_overhead_ms,
        step_floor_ms=settings.scheduler_step_ms,
        gpu_memory_utilization=settings.gpu_memory_utilization,
        max_num_seqs=max_num_seqs,
        max_num_batched_tokens=settings.max_num_batched_tokens or default_tokens,
        max_waiting_requests=settings.max_waiting_requests,
        prefix_caching=settings.enable_prefix_caching,
        prefill_chunk_tokens=settings.scheduler_prefill_chunk_tokens,
        max_prefill_seqs_per_step=settings.scheduler_max_prefill_chunks_per_step,
        goodput_collapse=settings.scheduler_goodput_collapse_enabled,
        goodput_collapse_threshold=settings.scheduler_goodput_collapse_threshold,
        goodput_collapse_slope=settings.scheduler_goodput_collapse_slope,
        goodput_collapse_floor=settings.scheduler_goodput_collapse_floor,
    )
