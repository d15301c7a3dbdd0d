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

    def compute_utilisation(self, config: EngineConfig) -> float:
        """Achieved FLOP/s over the peak, 0 to 1."""
        return min(1.0, self.flops / (config.peak_flops * self.duration_s)) if self.duration_s else 0.0

    def bandwidth_utilisation(self, config: EngineConfig) -> float:
        """Achieved bytes/s over the peak, 0 to 1."""
        return (
            min(1.0, self.bytes_moved / (config.peak_bandwidth * self.duration_s)) if self.duration_s else 0.0
        )


def weight_bytes_read(config: EngineConfig, tokens: int) -> float:
    """Weight bytes a step of `tokens` tokens reads (all of a dense model's; the touched experts of a MoE)."""
    profile = config.profile
    if profile.active_parameters is None or tokens <= 0:
        return profile.weight_bytes if tokens > 0 else 0.0
    untouched = (1.0 - profile.active_parameters / profile.parameters) ** tokens
    return profile.weight_bytes * (1.0 - untouched)


def step_cost(config: EngineConfig, tokens: int, attended_context: float, context_read: int) -> StepCost:
    """The cost of a step computing `tokens` tokens.

    `attended_context` is the sum over those tokens of the context each attends to;
    `context_read` the cached tokens the step reads from the KV cache (each sequence's
    context before the step, once).
    """
    profile = config.profile
    flops = 2.0 * profile.active * tokens + profile.attention_flops_per_context_token * attended_context
    bytes_moved = weight_bytes_read(config, tokens) + profile.kv_bytes_per_token * (context_read + tokens)
    busy_s = max(flops / (config.peak_flops * config.mfu), bytes_moved / (config.peak_bandwidth * config.mbu))
    duration_s = max(busy_s + config.step_overhead_ms / 1000.0, config.step_floor_ms / 1000.0)
    return StepCost(flops=flops, bytes_moved=bytes_moved, duration_s=duration_s)
