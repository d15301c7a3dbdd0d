"""A continuous-batching engine on a virtual clock, scheduled as vLLM's V1 scheduler does.

Every step the engine builds one batch under a token budget (`max_num_batched_tokens`):
first the running sequences in admission order (one token each while decoding, a chunk
while prefilling), then waiting ones in arrival order while `max_num_seqs` and the KV cache
allow. A running sequence that needs a block when none is left preempts the newest running
sequence, which frees its blocks and later recomputes (prompt and output so far) from the
front of the queue. A sequence samples a token at the end of each step that completes all
its known tokens, so prefill and decode are one rule: compute what is known, then sample.

Nothing here reads a clock: `step(now)` runs the step that starts at `now` and returns when
it ends. The same `Engine` serves an offline replay and the live server.

Non-streamed decoders are not visited one by one: they advance as a whole
(`mockcore.engine.steady`), so a step costs what happens in it (admissions, prefills, streams'
tokens, blocks and last tokens due), not the batch. A step whose outcome depends on where they
sit in the running order takes them back and runs the per-sequence path; both give the same
steps, byte for byte.
"""

from collections import deque

import msgspec

from mockcore.engine.config import EngineConfig
from mockcore.engine.kv_cache import BlockPool
from mockcore.engine.roofline import Roofline
from mockcore.engine.sequence import NOT_STEADY, Sequence, running_order
from mockcore.engine.steady import SteadyDecoders


class StepRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one step did, for the timeline and the metrics."""

    start_s: float
    end_s: float
    batch: int
    prefill_tokens: int
    decode_tokens: int
    waiting: int
    kv_blocks_used: int
    kv_blocks_total: int
    flops: float
    bytes_moved: float
    preempted: int


class Rejection(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Why an arrival was not queued: `queue_full` (a 429) or `too_long` (a 400)."""

    reason: str
    message: str


class EngineCounters:
    """Totals since the engine started (the metrics' counters)."""

    __slots__ = (
        "busy_s",
        "bytes_moved",
        "decode_tokens",
        "finished",
        "flops",
        "preemptions",
        "prefill_tokens",
        "prefix_hit_tokens",
        "prefix_query_tokens",
        "rejected",
        "steps",
    )

    def __init__(self) -> None:
        self.steps = 0
        self.busy_s = 0.0
        self.prefill_tokens = 0
        self.decode_tokens = 0
        self.preemptions = 0
        self.prefix_query_tokens = 0
        self.prefix_hit_tokens = 0
        self.finished = 0
        self.rejected = 0
        self.flops = 0.0
        self.bytes_moved = 0.0


class StepResult:
    """A step's record, the sequences that sampled a token at its end, and those that finished.

    `sampled` leaves out the middle tokens of sequences that do not ask for every token.
    """

    __slots__ = ("finished", "record", "sampled")

    def __init__(self, record: StepRecord, sampled: list[Sequence], finished: list[Sequence]) -> None:
        self.record = record
        self.sampled = sampled
        self.finished = finished


class Engine:
    """The engine's state; advanced one step at a time by whoever drives it.

    The running sequences are split in two: those the engine visits every step (`_visited`,
    in running order) and the steady decoders it advances as a whole (`_steady`). Together,
    ordered by the rank each got when it joined the batch, they are the running order.
    `steady_decoders=False` visits every sequence every step: the reference the tests hold
    the shortcut to, step for step.
    """

    def __init__(self, config: EngineConfig, *, steady_decoders: bool = True) -> None:
        config.check_fits()
        self.config = config
        self.pool = BlockPool(config.kv_capacity_blocks, prefix_caching=config.prefix_caching)
        self.waiting: deque[Sequence] = deque()
        self.counters = EngineCounters()
        self._roofline = Roofline(config)
        self._by_id: dict[int, Sequence] = {}
        self._visited: list[Sequence] = []
        self._steady = SteadyDecoders(config.block_size)
        self._steady_enabled = steady_decoders
        self._next_rank = 0

    @property
    def running(self) -> list[Sequence]:
        """The running sequences in admission order, their counts up to date (a new list)."""
        steady = self._steady
        if not steady.count:
            return list(self._visited)
        steady.sync()
        return sorted([*self._visited, *steady.members], key=running_order)

    @property
    def busy(self) -> bool:
        """Whether a step would have work."""
        return bool(self._visited or self._steady.members or self.waiting)

    @property
    def running_count(self) -> int:
        """How many sequences are running (without bringing steady decoders' counts up to date)."""
        return len(self._visited) + len(self._steady.members)

    def admission(self, sequence: Sequence, queued_elsewhere: int = 0) -> Rejection | None:
        """Why `sequence` cannot be queued now (None: it can).

        `queued_elsewhere` counts arrivals accepted but not yet handed over with `enqueue`
        (the live driver hands them over at the next step's start). The queue bound counts the
        requests that will still wait after the next step fills the batch's free places.
        """
        config = self.config
        tokens = sequence.prompt_tokens + sequence.output_tokens
        if -(-tokens // config.block_size) > self.pool.total:
            self.counters.rejected += 1
            return Rejection(
                reason="too_long",
                message=f"The request needs {tokens} tokens of KV cache; the engine holds "
                f"{self.pool.total * config.block_size}.",
            )
        limit = config.max_waiting_requests
        if limit is None:
            return None
        # Arrivals the next step will take into the batch do not wait: only those beyond the
        # batch's free places count against the queue.
        free_places = max(0, self._seq_limit() - self.running_count)
        if len(self.waiting) + queued_elsewhere - free_places >= limit:
            self.counters.rejected += 1
            return Rejection(
                reason="queue_full",
                message=f"The engine's waiting queue is full ({limit} requests, --max-waiting-requests).",
            )
        return None

    def enqueue(self, sequence: Sequence) -> None:
        """Append an admitted `sequence` to the waiting queue."""
        self.waiting.append(sequence)
        self._by_id[sequence.request_id] = sequence

    def arrive(self, sequence: Sequence) -> Rejection | None:
        """Queue `sequence` now, or say why not."""
        rejection = self.admission(sequence)
        if rejection is None:
            self.enqueue(sequence)
        return rejection

    def cancel(self, request_id: int) -> bool:
        """Drop a request (its client left): its blocks are freed before the next step."""
        sequence = self._by_id.pop(request_id, None)
        if sequence is None:
            return False
        if sequence._steady_since != NOT_STEADY:
            self._steady.release(sequence)
            self._free(sequence)
        elif sequence in self._visited:
            self._visited.remove(sequence)
            self._free(sequence)
        else:
            self.waiting.remove(sequence)
        return True

    def _free(self, sequence: Sequence) -> None:
        self.pool.release(sequence.block_hashes[: sequence.hashed], sequence.blocks - sequence.hashed)
        sequence.blocks = 0
        sequence.hashed = 0

    def _preempt(self, sequence: Sequence) -> None:
        """Recompute later: free everything, keep the tokens already sampled."""
        self._free(sequence)
        sequence.computed = 0
        sequence.preemptions += 1
        self.counters.preemptions += 1
        self.waiting.appendleft(sequence)

    def _seq_limit(self) -> int:
        """`max_num_seqs`, shrunk by the reference server's goodput collapse when it is on."""
        config = self.config
        limit = config.max_num_seqs
        if not config.goodput_collapse:
            return limit
        overload = (self.running_count + len(self.waiting)) / limit - config.goodput_collapse_threshold
        if overload <= 0:
            return limit
        shrink = min(1.0 - config.goodput_collapse_floor, overload * config.goodput_collapse_slope)
        return max(1, int(limit * (1.0 - shrink)))

    def _chunk(self, sequence: Sequence, budget: int) -> int:
        remaining = sequence.known - sequence.computed
        cap = self.config.prefill_chunk_tokens
        if remaining > 1 and cap is not None:
            remaining = min(remaining, cap)
        return min(remaining, budget)

    def _blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.config.block_size)

    def _prefill_capped(self, batch: "_Batch") -> bool:
        cap = self.config.max_prefill_seqs_per_step
        return cap is not None and batch.prefills >= cap

    def _steady_fits(self, budget: int) -> bool:
        """Whether this step schedules every steady decoder, as the running order would.

        It does when the token budget and the free KV blocks cover them and every visited
        sequence ranked before any of them: then nothing runs out before the last of them is
        scheduled, so where each sits in the order changes nothing. (A visited sequence ranked
        after all of them is scheduled after them in any case, and its preemptions only take
        sequences newer than itself.)
        """
        steady = self._steady
        budget -= steady.count
        blocks = self.pool.available - steady.blocks_due()
        if budget < 0 or blocks < 0:
            return False
        config = self.config
        block_size = config.block_size
        chunk_cap = config.prefill_chunk_tokens
        prefill_cap = config.max_prefill_seqs_per_step
        prefills = 0
        last_rank = steady.max_rank
        for sequence in self._visited:
            if sequence._rank > last_rank:
                break
            chunk = sequence.prompt_tokens + sequence.generated - sequence.computed
            if chunk > 1:
                if prefill_cap is not None and prefills >= prefill_cap:
                    continue
                prefills += 1
                if chunk_cap is not None:
                    chunk = min(chunk, chunk_cap)
            budget -= chunk
            blocks -= max(0, -(-(sequence.computed + chunk) // block_size) - sequence.blocks)
            if budget < 0 or blocks < 0:
                return False
        return True

    def _schedule_steady(self, batch: "_Batch") -> None:
        """Every steady decoder computes one token on its context; those at a block's end get one."""
        steady = self._steady
        count = steady.count
        context = steady.context()
        # Added first rather than in running order, `attended` is still the same float: every
        # term is an integer or a half far below 2**53, so each partial sum is exact.
        grown = steady.grow()
        if grown:
            self.pool.allocate(grown)
        batch.steady = count
        batch.budget -= count
        batch.tokens += count
        batch.attended += context + count
        batch.context_read += context

    def _visit_all(self) -> None:
        """Take the steady decoders back, for a step whose outcome depends on the running order."""
        self._visited = sorted([*self._visited, *self._steady.release_all()], key=running_order)

    def _schedule_running(self, batch: "_Batch") -> None:
        """Visited running sequences first, in admission order; out of blocks, the newest is preempted.

        Decoding sequences (one token, a new block every `block_size` tokens) take an inlined
        path with the batch's totals in local variables: streams are nearly every sequence of
        nearly every step, and this loop is most of what the live engine costs the server.
        """
        pool = self.pool
        running = self._visited
        block_size = self.config.block_size
        append = batch.items.append
        budget, tokens = batch.budget, batch.tokens
        attended, context_read = batch.attended, batch.context_read
        index = 0
        while index < len(running) and budget > 0:
            sequence = running[index]
            computed = sequence.computed
            if sequence.prompt_tokens + sequence.generated - computed == 1:
                capacity = sequence.blocks * block_size
                if computed < capacity or pool.allocate(1):
                    if computed >= capacity:
                        sequence.blocks += 1
                    append((sequence, 1))
                    budget -= 1
                    tokens += 1
                    attended += computed + 1
                    context_read += computed
                    index += 1
                    continue
            batch.store(budget, tokens, attended, context_read)
            if not self._schedule_one_running(batch, sequence):
                return
            budget, tokens = batch.budget, batch.tokens
            attended, context_read = batch.attended, batch.context_read
            index += 1
        batch.store(budget, tokens, attended, context_read)

    def _schedule_one_running(self, batch: "_Batch", sequence: Sequence) -> bool:
        """A prefilling sequence, or one that needs a block the pool lacks; False: stop scheduling."""
        pool = self.pool
        running = self._visited
        prefilling = sequence.known - sequence.computed > 1
        if prefilling and self._prefill_capped(batch):
            return True
        chunk = self._chunk(sequence, batch.budget)
        needed = self._blocks_for(sequence.computed + chunk) - sequence.blocks
        while needed > pool.available:
            victim = running.pop()
            self._preempt(victim)
            batch.preempted += 1
            if victim is sequence:
                return False
        pool.allocate(needed)
        sequence.blocks += needed
        batch.add(sequence, chunk, prefilling=prefilling)
        return True

    def _take_prefix_hits(self, sequence: Sequence) -> None:
        """Start `sequence` on the cached blocks of its prefix (at least one token is always computed)."""
        block_size = self.config.block_size
        pool = self.pool
        limit_blocks = (sequence.known - 1) // block_size
        hits = pool.hit_count(sequence.block_hashes, limit_blocks)
        if hits:
            pool.acquire(sequence.block_hashes[:hits])
        sequence.hashed = sequence.blocks = hits
        sequence.computed = hits * block_size

    def _admit_waiting(self, batch: "_Batch", now: float) -> None:
        """Then waiting sequences in arrival order, while the batch, the budget and the KV cache allow."""
        waiting = self.waiting
        if not waiting:
            return
        pool = self.pool
        running = self._visited
        counters = self.counters
        config = self.config
        block_size = config.block_size
        chunk_cap = config.prefill_chunk_tokens
        prefill_cap = config.max_prefill_seqs_per_step
        limit = self._seq_limit() - len(self._steady.members)
        # `_prefill_capped`, `_chunk` and `_blocks_for` inlined: one admission per request.
        while (
            waiting
            and batch.budget > 0
            and len(running) < limit
            and (prefill_cap is None or batch.prefills < prefill_cap)
        ):
            sequence = waiting[0]
            if sequence.block_hashes and sequence.computed == 0:
                self._take_prefix_hits(sequence)
            computed = sequence.computed
            remaining = sequence.prompt_tokens + sequence.generated - computed
            chunk = min(remaining, chunk_cap) if remaining > 1 and chunk_cap is not None else remaining
            chunk = min(chunk, batch.budget)
            needed = -(-(computed + chunk) // block_size) - sequence.blocks
            if not pool.allocate(needed):
                self._free(sequence)
                sequence.computed = 0
                return
            waiting.popleft()
            sequence.blocks += needed
            if sequence.cached_tokens is None:
                sequence.cached_tokens = computed
                counters.prefix_query_tokens += sequence.prompt_tokens
                counters.prefix_hit_tokens += computed
            if sequence.admitted_s is None:
                sequence.admitted_s = now
            sequence._rank = self._next_rank
            self._next_rank += 1
            running.append(sequence)
            batch.add(sequence, chunk, prefilling=remaining > 1)

    def step(self, now: float) -> StepResult:
        """Run the step that starts at `now`; call only while `busy`."""
        batch = _Batch(self.config.max_num_batched_tokens)
        if self._steady.count:
            if self._steady_fits(batch.budget):
                self._schedule_steady(batch)
            else:
                self._visit_all()
        self._schedule_running(batch)
        if not batch.preempted:
            self._admit_waiting(batch, now)
        if not batch.items and not batch.steady:
            raise AssertionError("a busy engine scheduled nothing")
        cost = self._roofline.cost(batch.tokens, batch.attended, batch.context_read)
        end = now + cost.duration_s
        sampled, finished = self._advance(batch.items, end)
        prefill_tokens = batch.prefill_tokens
        decode_tokens = batch.tokens - prefill_tokens
        counters = self.counters
        counters.steps += 1
        counters.busy_s += cost.duration_s
        counters.prefill_tokens += prefill_tokens
        counters.decode_tokens += decode_tokens
        counters.finished += len(finished)
        counters.flops += cost.flops
        counters.bytes_moved += cost.bytes_moved
        record = StepRecord(
            start_s=now,
            end_s=end,
            batch=len(batch.items) + batch.steady,
            prefill_tokens=prefill_tokens,
            decode_tokens=decode_tokens,
            waiting=len(self.waiting),
            kv_blocks_used=self.pool.used,
            kv_blocks_total=self.pool.total,
            flops=cost.flops,
            bytes_moved=cost.bytes_moved,
            preempted=batch.preempted,
        )
        return StepResult(record, sampled, finished)

    def _advance(
        self, items: list[tuple[Sequence, int]], end: float
    ) -> tuple[list[Sequence], list[Sequence]]:
        """Apply the step's work: KV computed, prefix blocks registered, tokens sampled at `end`.

        The visited sequences' work is in `items`; every steady decoder sampled a token too,
        seen only by those that finish. A sequence that sampled, goes on, and that nobody
        watches token by token becomes a steady decoder.
        """
        sampled: list[Sequence] = []
        finished: list[Sequence] = []
        steadied: list[Sequence] = []
        sample = sampled.append
        block_size = self.config.block_size
        pool = self.pool
        prefix_caching = pool.prefix_caching
        steady_enabled = self._steady_enabled
        for sequence, chunk in items:
            computed = sequence.computed + chunk
            sequence.computed = computed
            if prefix_caching:
                hashes = sequence.block_hashes
                if sequence.hashed < len(hashes):
                    full = min(len(hashes), computed // block_size, sequence.blocks)
                    while sequence.hashed < full:
                        pool.register(hashes[sequence.hashed])
                        sequence.hashed += 1
            generated = sequence.generated
            if computed < sequence.prompt_tokens + generated:
                continue
            generated += 1
            sequence.generated = generated
            times = sequence.token_times
            if times is not None:
                times.append(end)
            if generated == 1:  # a preempted sequence keeps its tokens: this is its first, once
                sequence.first_token_s = end
            if generated >= sequence.output_tokens:
                finished.append(sequence)
                sample(sequence)
            elif sequence.every_token:
                sample(sequence)
            else:
                if generated == 1:
                    sample(sequence)
                if (
                    steady_enabled
                    and times is None
                    and (not prefix_caching or sequence.hashed >= len(sequence.block_hashes))
                ):
                    steadied.append(sequence)
        return self._settle(sampled, finished, steadied)

    def _settle(
        self, sampled: list[Sequence], finished: list[Sequence], steadied: list[Sequence]
    ) -> tuple[list[Sequence], list[Sequence]]:
        """End the step: steady decoders advance (some finish), new ones join, the finished leave.

        What sampled and what finished come back in running order, as the exact path lists them.
        """
        steady = self._steady
        done = steady.advance()
        if steadied:
            steady.enter(steadied)
        if finished or steadied:
            gone = {*finished, *steadied}
            self._visited = [sequence for sequence in self._visited if sequence not in gone]
        if done:
            sampled = sorted(sampled + done, key=running_order)
            finished = sorted(finished + done, key=running_order)
        for sequence in finished:
            self._free(sequence)
            del self._by_id[sequence.request_id]
        return sampled, finished


class _Batch:
    """The step being built: (sequence, tokens) pairs, steady decoders, what is left of the token budget."""

    __slots__ = (
        "attended",
        "budget",
        "context_read",
        "items",
        "preempted",
        "prefill_tokens",
        "prefills",
        "steady",
        "tokens",
    )

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.items: list[tuple[Sequence, int]] = []
        self.prefills = 0
        self.prefill_tokens = 0
        self.tokens = 0
        self.preempted = 0
        # Steady decoders in the step (one token each; not in `items`).
        self.steady = 0
        # For the roofline: the context each computed token attends to, summed, and the
        # cached context every sequence reads once.
        self.attended = 0.0
        self.context_read = 0

    def store(self, budget: int, tokens: int, attended: float, context_read: int) -> None:
        """Write back the totals a loop kept in local variables."""
        self.budget = budget
        self.tokens = tokens
        self.attended = attended
        self.context_read = context_read

    def add(self, sequence: Sequence, chunk: int, *, prefilling: bool) -> None:
        """`chunk` tokens of `sequence`, computed on top of its `computed` ones."""
        context = sequence.computed
        self.items.append((sequence, chunk))
        self.budget -= chunk
        self.tokens += chunk
        self.attended += chunk * context + chunk * (chunk + 1) / 2
        self.context_read += context
        if prefilling:
            self.prefills += 1
            self.prefill_tokens += chunk
