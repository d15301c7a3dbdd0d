"""How long one engine step takes: a roofline over the step's arithmetic and memory traffic.

    time = max(FLOPs / (peak x MFU), bytes / (bandwidth x MBU)) + overhead, at least the floor

FLOPs: 2 x active parameters per token computed, plus attention: each new token multiplies
against its whole context (4 x layers x heads x head_dim per context token). Bytes: the weights
read once per step (for a mixture of experts, the experts the step's tokens touch: with k of
N active per token, a fraction 1 - (1 - k/N)^tokens of the expert weights), plus the KV cache
every sequence reads, plus the KV the step writes.
"""

import msgspec

from mockcore.engine.config import EngineConfig


class StepCost(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One step's work and duration."""

    flops: float
    bytes_moved: float
    duration_s: float


class Roofline:
    """The step cost of one configuration, with its constants worked out once (an engine steps often)."""

    __slots__ = (
        "_attention_flops",
        "_bandwidth",
        "_dense",
        "_floor_s",
        "_flops",
        "_flops_per_token",
        "_inactive_fraction",
        "_kv_bytes_per_token",
        "_overhead_s",
        "_weight_bytes",
    )

    def __init__(self, config: EngineConfig) -> None:
        profile = config.profile
        self._flops_per_token = 2.0 * profile.active
        self._attention_flops = profile.attention_flops_per_context_token
        self._weight_bytes = profile.weight_bytes
        self._dense = profile.active_parameters is None
        self._inactive_fraction = 1.0 - profile.active / profile.parameters
        self._kv_bytes_per_token = profile.kv_bytes_per_token
        self._flops = config.peak_flops * config.mfu
        self._bandwidth = config.peak_bandwidth * config.mbu
        self._overhead_s = config.step_overhead_ms / 1000.0
        self._floor_s = config.step_floor_ms / 1000.0

    def cost(self, tokens: int, attended_context: float, context_read: int) -> StepCost:
        """The cost of a step computing `tokens` tokens.

        `attended_context` is the sum over those tokens of the context each attends to;
        `context_read` the cached tokens the step reads from the KV cache (each sequence's
        context before the step, once).
        """
        flops = self._flops_per_token * tokens + self._attention_flops * attended_context
        if tokens <= 0:
            weights = 0.0
        elif self._dense:
            weights = self._weight_bytes
        else:
            weights = self._weight_bytes * (1.0 - self._inactive_fraction**tokens)
        bytes_moved = weights + self._kv_bytes_per_token * (context_read + tokens)
        busy_s = max(flops / self._flops, bytes_moved / self._bandwidth)
        duration_s = max(busy_s + self._overhead_s, self._floor_s)
        return StepCost(flops=flops, bytes_moved=bytes_moved, duration_s=duration_s)
