"""KV cache blocks with prefix caching, as vLLM manages them.

A block is either anonymous (decode tokens, a prompt's tail, or a prefix block still being
computed) or hashed: a full prompt block whose hash chains every token before it, findable
by any later request with the same prefix. A hashed block no sequence references stays in
the cache, evictable, until an allocation needs its room; the least recently freed goes first.
"""

from collections import OrderedDict


class BlockPool:
    """Counts of KV blocks: anonymous in use, hashed (with their references), evictable, free."""

    __slots__ = ("_evictable", "_references", "anonymous_used", "prefix_caching", "total")

    def __init__(self, total_blocks: int, *, prefix_caching: bool = True) -> None:
        self.total = total_blocks
        self.prefix_caching = prefix_caching
        self.anonymous_used = 0
        # hash -> sequences holding the block (0: cached, evictable).
        self._references: dict[int, int] = {}
        # Hashed blocks nobody references, least recently freed first.
        self._evictable: OrderedDict[int, None] = OrderedDict()

    @property
    def used(self) -> int:
        """Blocks some sequence holds."""
        return self.anonymous_used + len(self._references) - len(self._evictable)

    @property
    def available(self) -> int:
        """Blocks an allocation can get: free ones plus evictable ones."""
        return self.total - self.used

    def hit_count(self, hashes: tuple[int, ...], limit: int) -> int:
        """How many leading blocks of `hashes` (at most `limit`) the cache holds."""
        if not self.prefix_caching:
            return 0
        references = self._references
        count = 0
        for block_hash in hashes[:limit]:
            if block_hash not in references:
                break
            count += 1
        return count

    def acquire(self, hashes: tuple[int, ...]) -> None:
        """Take a reference to each cached block of `hashes` (found by `hit_count`)."""
        references = self._references
        for block_hash in hashes:
            held = references[block_hash]
            if held == 0:
                del self._evictable[block_hash]
            references[block_hash] = held + 1

    def allocate(self, count: int) -> bool:
        """Take `count` anonymous blocks, evicting cached ones if needed; False if they do not fit."""
        if count <= 0:
            return True
        references = self._references
        evictable = self._evictable
        free = self.total - self.anonymous_used - len(references)
        if count > free + len(evictable):  # more than `available`
            return False
        while free < count:
            block_hash, _ = evictable.popitem(last=False)
            del references[block_hash]
            free += 1
        self.anonymous_used += count
        return True

    def register(self, block_hash: int) -> None:
        """A computed anonymous block becomes the hashed block `block_hash` (shared if it exists)."""
        self.anonymous_used -= 1
        held = self._references.get(block_hash)
        if held is None:
            self._references[block_hash] = 1
            if self.available < 0:  # cannot happen: the block only changed its kind
                raise AssertionError("KV pool overcommitted")
            return
        if held == 0:
            del self._evictable[block_hash]
        self._references[block_hash] = held + 1

    def release(self, hashes: tuple[int, ...], anonymous: int) -> None:
        """Give back a sequence's blocks: its hashed ones (`hashes`, in prefix order) and `anonymous`.

        The prefix's tail is made evictable before its head, so the head, which more
        requests share, stays cached longest.
        """
        self.anonymous_used -= anonymous
        references = self._references
        for block_hash in reversed(hashes):
            held = references[block_hash] - 1
            references[block_hash] = held
            if held == 0:
                self._evictable[block_hash] = None
