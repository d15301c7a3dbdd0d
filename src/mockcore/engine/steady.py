"""Steady decoders: running sequences the engine advances without visiting them.

A sequence that decodes (one token a step), is not a stream (nobody hears of its middle
tokens), keeps no token times and has its prompt's prefix blocks registered changes
predictably: every step computes one more token and samples one more, it needs a new KV
block every `block_size` tokens and finishes at a known step. Visiting each of them twice a
step was most of what a live engine serving short answers costs the server, so the engine
keeps them here instead: their values at entry plus the steps since, the totals a step's
cost needs (how many, their context summed) kept as members come and go, and a calendar of
the steps at which one needs a block or finishes. A step then costs the events due, not the
batch.

Whenever a step cannot treat them all alike (the token budget or the KV cache runs short,
so the exact order of the batch matters), the engine takes them all back (`release_all`)
and runs its per-sequence path.
"""

from mockcore.engine.sequence import NOT_STEADY, Sequence


class SteadyDecoders:
    """The steady decoders, the step counter their values derive from, and their calendar.

    At step `tick` a member that entered at step `s` with `computed` c and `generated` g has
    c + tick - s tokens computed and g + tick - s sampled; its fields hold c and g until it
    leaves (or `sync` brings them up to date).
    """

    __slots__ = ("_block_size", "_blocks_due", "_finishing", "_offset", "max_rank", "members", "tick")

    def __init__(self, block_size: int) -> None:
        self._block_size = block_size
        self.tick = 0
        # Insertion-ordered set of members.
        self.members: dict[Sequence, None] = {}
        # Sum over members of (computed at entry - entry step): their context is this + count x tick.
        self._offset = 0
        # Step -> members that need a new block when that step is scheduled.
        self._blocks_due: dict[int, list[Sequence]] = {}
        # Step -> members that sample their last token at the end of that step.
        self._finishing: dict[int, list[Sequence]] = {}
        # An upper bound of the members' running-order ranks (-1 when there are none).
        self.max_rank = -1

    @property
    def count(self) -> int:
        """How many members: each computes one token this step."""
        return len(self.members)

    def context(self) -> int:
        """The members' computed tokens, summed: the context the step's decode tokens attend to."""
        return self._offset + len(self.members) * self.tick

    def blocks_due(self) -> int:
        """Blocks the members need this step."""
        due = self._blocks_due.get(self.tick)
        return 0 if due is None else len(due)

    def grow(self) -> int:
        """Give this step's members their new block (the caller allocates them); how many."""
        due = self._blocks_due.pop(self.tick, None)
        if due is None:
            return 0
        for sequence in due:
            sequence.blocks += 1
            self._book_block(sequence)
        return len(due)

    def enter(self, sequences: list[Sequence]) -> None:
        """Keep `sequences` (each just sampled a token, goes on, is no stream and keeps no times)."""
        tick = self.tick
        members = self.members
        finishing = self._finishing
        block_size = self._block_size
        offset = self._offset
        max_rank = self.max_rank
        # `_last_step` and `_block_step` inlined (its entry step is `tick`): a live engine serving
        # short answers enters about one sequence per request here.
        for sequence in sequences:
            sequence._steady_since = tick
            members[sequence] = None
            computed = sequence.computed
            offset += computed - tick
            max_rank = max(max_rank, sequence._rank)
            last_step = tick + sequence.output_tokens - sequence.generated - 1
            _book(finishing, last_step, sequence)
            block_step = tick + sequence.blocks * block_size - computed
            if block_step <= last_step:
                _book(self._blocks_due, block_step, sequence)
        self._offset = offset
        self.max_rank = max_rank

    def advance(self) -> list[Sequence]:
        """End this step: every member sampled a token; those that finished leave, caught up."""
        done = self._finishing.pop(self.tick, None)
        self.tick += 1
        if done is None:
            return []
        for sequence in done:
            self._leave(sequence)
        return done

    def release(self, sequence: Sequence) -> None:
        """Take `sequence` back (cancelled), caught up, with its calendar entries struck."""
        last_step = _last_step(sequence)
        _strike(self._finishing, last_step, sequence)
        block_step = _block_step(sequence, self._block_size)
        if block_step <= last_step:
            _strike(self._blocks_due, block_step, sequence)
        self._leave(sequence)

    def release_all(self) -> list[Sequence]:
        """Take every member back, caught up (in no particular order)."""
        members = list(self.members)
        tick = self.tick
        for sequence in members:
            _catch_up(sequence, tick)
            sequence._steady_since = NOT_STEADY
        self.members.clear()
        self._offset = 0
        self._blocks_due.clear()
        self._finishing.clear()
        self.max_rank = -1
        return members

    def sync(self) -> None:
        """Bring every member's fields up to date without taking it back (for readers)."""
        tick = self.tick
        for sequence in self.members:
            _catch_up(sequence, tick)
            sequence._steady_since = tick

    def _leave(self, sequence: Sequence) -> None:
        members = self.members
        del members[sequence]
        self._offset -= sequence.computed - sequence._steady_since
        _catch_up(sequence, self.tick)
        sequence._steady_since = NOT_STEADY
        if not members:
            self.max_rank = -1

    def _book_block(self, sequence: Sequence) -> None:
        """Put `sequence`'s next block on the calendar, unless it finishes first."""
        block_step = _block_step(sequence, self._block_size)
        if block_step <= _last_step(sequence):
            _book(self._blocks_due, block_step, sequence)


def _last_step(sequence: Sequence) -> int:
    """The step at whose end a member samples its last token."""
    return sequence._steady_since + sequence.output_tokens - sequence.generated - 1


def _block_step(sequence: Sequence, block_size: int) -> int:
    """The step whose token no longer fits in a member's blocks."""
    return sequence._steady_since + sequence.blocks * block_size - sequence.computed


def _catch_up(sequence: Sequence, tick: int) -> None:
    """Write a member's counts at step `tick` into its fields."""
    steps = tick - sequence._steady_since
    sequence.computed += steps
    sequence.generated += steps


def _book(calendar: dict[int, list[Sequence]], step: int, sequence: Sequence) -> None:
    due = calendar.get(step)
    if due is None:
        calendar[step] = [sequence]
    else:
        due.append(sequence)


def _strike(calendar: dict[int, list[Sequence]], step: int, sequence: Sequence) -> None:
    due = calendar[step]
    due.remove(sequence)
    if not due:
        del calendar[step]
