"""What the engine reports about itself at one moment: the metrics' and telemetry's view."""

from typing import Annotated

import msgspec

from mockcore.engine.scheduler import Engine


class EngineStats(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Gauges now, and counters since the engine started."""

    running: int
    waiting: int
    kv_blocks_used: int
    kv_blocks_total: int
    block_size: int
    weight_bytes: float
    kv_block_bytes: float
    steps: int
    busy_s: float
    prefill_tokens: int
    decode_tokens: int
    preemptions: int
    prefix_query_tokens: int
    prefix_hit_tokens: int
    finished: int
    rejected: int
    flops: float
    bytes_moved: float
    peak_flops: float
    peak_bandwidth: float
    prefix_caching: bool = True
    gpu_memory_utilization: float = 0.9
    # The GPUs the model spans: weights, KV blocks, FLOP/s and bandwidth are split evenly over them.
    tensor_parallel: Annotated[int, msgspec.Meta(ge=1)] = 1

    @property
    def kv_usage(self) -> float:
        """Fraction of the KV cache in use."""
        return self.kv_blocks_used / self.kv_blocks_total if self.kv_blocks_total else 0.0

    @property
    def weight_bytes_per_gpu(self) -> float:
        """One GPU's shard of the weights."""
        return self.weight_bytes / self.tensor_parallel

    @property
    def kv_block_bytes_per_gpu(self) -> float:
        """One GPU's share of a KV block (the engine pools its GPUs' memory into one cache)."""
        return self.kv_block_bytes / self.tensor_parallel

    @property
    def held_bytes_per_gpu(self) -> float:
        """What the model holds on each GPU now: its weights and the KV blocks in use."""
        return self.weight_bytes_per_gpu + self.kv_blocks_used * self.kv_block_bytes_per_gpu

    @property
    def compute_s(self) -> float:
        """Seconds the FLOPs executed so far take at the GPUs' peak FLOP/s (its rate is their utilisation)."""
        return self.flops / self.peak_flops if self.peak_flops > 0 else 0.0

    @property
    def bandwidth_s(self) -> float:
        """Seconds the bytes moved so far take at the GPUs' peak bandwidth."""
        return self.bytes_moved / self.peak_bandwidth if self.peak_bandwidth > 0 else 0.0


def engine_stats(engine: Engine, pending: int = 0) -> EngineStats:
    """`engine`'s stats; `pending` arrivals not yet handed to it count as waiting."""
    counters = engine.counters
    config = engine.config
    return EngineStats(
        running=engine.running_count,
        waiting=len(engine.waiting) + pending,
        kv_blocks_used=engine.pool.used,
        kv_blocks_total=engine.pool.total,
        block_size=config.block_size,
        weight_bytes=config.profile.weight_bytes,
        kv_block_bytes=config.kv_block_bytes,
        steps=counters.steps,
        busy_s=counters.busy_s,
        prefill_tokens=counters.prefill_tokens,
        decode_tokens=counters.decode_tokens,
        preemptions=counters.preemptions,
        prefix_query_tokens=counters.prefix_query_tokens,
        prefix_hit_tokens=counters.prefix_hit_tokens,
        finished=counters.finished,
        rejected=counters.rejected,
        flops=counters.flops,
        bytes_moved=counters.bytes_moved,
        peak_flops=config.peak_flops,
        peak_bandwidth=config.peak_bandwidth,
        prefix_caching=config.prefix_caching,
        gpu_memory_utilization=config.gpu_memory_utilization,
        tensor_parallel=config.tensor_parallel,
    )
