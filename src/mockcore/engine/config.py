"""The engine's settings: a model profile on some GPUs, and vLLM-like scheduling limits."""

import math
from typing import Annotated

import msgspec

from mockcore.engine.profiles import ModelProfile
from mockcore.gpu.catalog import gpu_spec
from mockcore.settings import DEFAULT_MBU, DEFAULT_MFU, DEFAULT_STEP_OVERHEAD_MS

MIB = 1024 * 1024
# vLLM's default KV block size, in tokens.
BLOCK_SIZE_TOKENS = 16
# Fewer KV blocks than this and no sequence could both prefill and decode.
MIN_KV_BLOCKS = 2


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a replay (or the live engine) depends on besides its arrivals."""

    profile: ModelProfile
    gpu: str = "h100-sxm"
    tensor_parallel: Annotated[int, msgspec.Meta(ge=1, le=8)] = 1
    mfu: Annotated[float, msgspec.Meta(gt=0, le=1)] = DEFAULT_MFU
    mbu: Annotated[float, msgspec.Meta(gt=0, le=1)] = DEFAULT_MBU
    step_overhead_ms: Annotated[float, msgspec.Meta(ge=0)] = DEFAULT_STEP_OVERHEAD_MS
    # A step never takes less than this (the reference server's fixed `--scheduler-step-ms`).
    step_floor_ms: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    gpu_memory_utilization: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.9
    block_size: Annotated[int, msgspec.Meta(ge=1)] = BLOCK_SIZE_TOKENS
    max_num_seqs: Annotated[int, msgspec.Meta(ge=1)] = 1024
    max_num_batched_tokens: Annotated[int, msgspec.Meta(ge=1)] = 8192
    # None: the waiting queue is unbounded, as vLLM's is.
    max_waiting_requests: Annotated[int, msgspec.Meta(ge=0)] | None = None
    prefix_caching: bool = True
    # Prefill tokens one sequence may take per step (None: up to the step's token budget).
    prefill_chunk_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # Sequences whose prefill may advance in one step (None: no limit).
    max_prefill_seqs_per_step: Annotated[int, msgspec.Meta(ge=1)] | None = None
    # The reference server's goodput collapse: past `threshold` x max_num_seqs requests in the
    # engine, the batch shrinks by (overload x slope), down to `floor` x max_num_seqs.
    goodput_collapse: bool = False
    goodput_collapse_threshold: Annotated[float, msgspec.Meta(ge=0)] = 1.5
    goodput_collapse_slope: Annotated[float, msgspec.Meta(ge=0)] = 0.5
    goodput_collapse_floor: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.3

    @property
    def peak_flops(self) -> float:
        """Dense BF16 FLOP/s of all the GPUs (FP8 weights do not change the arithmetic rate here)."""
        return gpu_spec(self.gpu).bf16_dense_tflops * 1e12 * self.tensor_parallel

    @property
    def peak_bandwidth(self) -> float:
        """Memory bytes/s of all the GPUs."""
        return gpu_spec(self.gpu).memory_bandwidth_gb_s * 1e9 * self.tensor_parallel

    @property
    def memory_bytes(self) -> float:
        """Memory of all the GPUs."""
        return float(gpu_spec(self.gpu).memory_total_mib) * MIB * self.tensor_parallel

    @property
    def kv_block_bytes(self) -> float:
        """Bytes of one KV block."""
        return self.profile.kv_bytes_per_token * self.block_size

    @property
    def kv_capacity_blocks(self) -> int:
        """KV blocks in the memory vLLM leaves after the weights; at least 0."""
        usable = self.memory_bytes * self.gpu_memory_utilization - self.profile.weight_bytes
        return max(0, math.floor(usable / self.kv_block_bytes))

    def check_fits(self) -> None:
        """`ValueError` when the weights leave no room for even one sequence's KV."""
        if self.kv_capacity_blocks < MIN_KV_BLOCKS:
            raise ValueError(
                f"{self.profile.name} ({self.profile.weight_bytes / 1e9:.1f} GB of weights) does not fit "
                f"in {self.tensor_parallel} x {self.gpu} at {self.gpu_memory_utilization:.0%} memory "
                "utilisation; raise --tensor-parallel"
            )
