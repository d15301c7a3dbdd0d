"""What an inference engine would report about itself: batch, queue, KV cache.

Every engine format renders its gauges from an `EngineView`. Without `--engine` the view is
derived from the measured traffic (`view_from_traffic`): every open request is running, none
waits, and the KV cache holds the prompt and planned output of each open request against the
capacity of one simulated GPU (`kv_capacity_tokens`). With `--engine` the view is the batching
engine's own state (`view_from_engine`): its batch, its queue, its KV blocks, its preemptions
and prefix-cache lookups; no renderer tells the two apart.
"""

import math

import msgspec

from mockcore.engine.stats import EngineStats
from mockcore.gpu.catalog import gpu_spec
from mockcore.metrics.store import MetricsSnapshot

# The reference model the KV capacity is sized for: Llama 3.1 8B in BF16 (32 layers,
# 8 KV heads of 128 dimensions: 2 x 32 x 8 x 128 x 2 bytes = 128 KiB of KV per token) and
# 16.06 GB of weights, with vLLM's defaults of 16-token blocks and 90 % of GPU memory.
KV_BYTES_PER_TOKEN = 2 * 32 * 8 * 128 * 2
WEIGHT_BYTES = 16_060_000_000
GPU_MEMORY_UTILIZATION = 0.9
BLOCK_SIZE_TOKENS = 16
MIB = 1024 * 1024


def kv_capacity_tokens(gpu_model: str) -> int:
    """Tokens of KV cache one GPU of `gpu_model` holds for the reference model, whole blocks."""
    usable = gpu_spec(gpu_model).memory_total_mib * MIB * GPU_MEMORY_UTILIZATION - WEIGHT_BYTES
    blocks = max(1, math.floor(usable / KV_BYTES_PER_TOKEN / BLOCK_SIZE_TOKENS))
    return blocks * BLOCK_SIZE_TOKENS


class EngineView(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An engine's state at one scrape, in the units engines report it."""

    running: int
    waiting: int
    kv_tokens_used: int
    kv_capacity_tokens: int
    block_size_tokens: int
    preemptions: int
    prefix_cache_queries: int
    prefix_cache_hits: int
    # The cache configuration vLLM reports in `vllm:cache_config_info`.
    prefix_caching: bool = False
    gpu_memory_utilization: float = GPU_MEMORY_UTILIZATION

    @property
    def kv_usage(self) -> float:
        """Fraction of the KV cache in use, 0 to 1."""
        return min(1.0, self.kv_tokens_used / self.kv_capacity_tokens)

    @property
    def total_blocks(self) -> int:
        """KV blocks of the whole cache."""
        return self.kv_capacity_tokens // self.block_size_tokens

    @property
    def used_blocks(self) -> int:
        """KV blocks holding at least one token, never more than the cache has."""
        return min(self.total_blocks, math.ceil(self.kv_tokens_used / self.block_size_tokens))

    @property
    def prefix_cache_hit_rate(self) -> float:
        """Hits over queries, in tokens; 0 before any query."""
        return self.prefix_cache_hits / self.prefix_cache_queries if self.prefix_cache_queries else 0.0


def view_from_traffic(snapshot: MetricsSnapshot, gpu_model: str) -> EngineView:
    """The engine view of a server without a batching engine: nothing ever waits."""
    return EngineView(
        running=snapshot.gauges["running"],
        waiting=snapshot.gauges["waiting"],
        kv_tokens_used=snapshot.gauges["kv_tokens"],
        kv_capacity_tokens=kv_capacity_tokens(gpu_model),
        block_size_tokens=BLOCK_SIZE_TOKENS,
        preemptions=snapshot.counters["preemptions"],
        prefix_cache_queries=snapshot.counters["prefix_cache_queries"],
        prefix_cache_hits=snapshot.counters["prefix_cache_hits"],
    )


def view_from_engine(stats: EngineStats) -> EngineView:
    """The engine view of the batching engine: its own gauges and counters, blocks as tokens."""
    return EngineView(
        running=stats.running,
        waiting=stats.waiting,
        kv_tokens_used=stats.kv_blocks_used * stats.block_size,
        kv_capacity_tokens=stats.kv_blocks_total * stats.block_size,
        block_size_tokens=stats.block_size,
        preemptions=stats.preemptions,
        prefix_cache_queries=stats.prefix_query_tokens,
        prefix_cache_hits=stats.prefix_hit_tokens,
        prefix_caching=stats.prefix_caching,
        gpu_memory_utilization=stats.gpu_memory_utilization,
    )
