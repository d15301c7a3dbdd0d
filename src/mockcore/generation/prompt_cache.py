"""Prompt caching: which part of a prompt was read from the cache and which part was written.

A request marks cache breakpoints (Anthropic's `cache_control`); each is the key of the
prompt prefix that ends there. The adapter asks the server's cache which of the keys it
holds (the same cache for every worker) and this module turns the answer into usage: the
longest prefix found is read, the rest up to the last breakpoint is written.
"""

import msgspec

from mockcore.plan import GenerationPlan

NOT_CACHED = -1


def with_cache_usage(plan: GenerationPlan, longest_cached: int) -> GenerationPlan:
    """`plan` with its cache usage, given the index of the longest cached point (-1: none)."""
    points = plan.cache_points
    if not points:
        return plan
    read = points[longest_cached].tokens if longest_cached >= 0 else 0
    created = points[-1].tokens - read
    usage = msgspec.structs.replace(plan.usage, cache_read_tokens=read, cache_creation_tokens=created)
    return msgspec.structs.replace(plan, usage=usage)
