"""Where synthesis stands in the value being built, and the randomness drawn there.

Every choice is drawn from a digest of the caller's digest and the instance path, so sibling
values are independent and the same (schema, digest) always gives the same value. `variant`
shifts every choice at and below a position by one step, which is how array items are
re-drawn until they differ (`uniqueItems`).
"""

import msgspec

from mockcore.digest import derived_u64, derived_unit, digest_texts
from mockcore.structured.errors import SchemaError

_NODE_PERSON = b"schema-node"
# From this depth on, choices that end soonest come first, so that recursive schemas stop.
SHORTEST_FROM_DEPTH = 4


class Budget(msgspec.Struct):
    """How many more steps one synthesis may take: a bound on the work a hostile schema causes."""

    remaining: int


class BudgetExhaustedError(Exception):
    """The budget is spent. Not a `SchemaError`, so that no retry swallows it; `error` is what to raise."""

    def __init__(self, error: SchemaError) -> None:
        super().__init__(error.message)
        self.error = error


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """A location in the value under construction, with what every location shares."""

    root: object
    budget: Budget
    param: str
    seed: bytes
    path: str
    depth: int
    variant: int
    digest: bytes

    @property
    def prefers_shortest(self) -> bool:
        """Whether this is deep enough that the choice ending soonest should come first."""
        return self.depth >= SHORTEST_FROM_DEPTH

    def spend(self, steps: int = 1) -> None:
        """Count work (a value, an alternative, a stretch of text) against the shared budget."""
        self.budget.remaining -= steps
        if self.budget.remaining < 0:
            raise BudgetExhaustedError(self.error("the schema needs too much work to synthesise a value"))

    def pick(self, count: int, salt: str) -> int:
        """An index in `range(count)`; successive variants step through every index in turn."""
        return (derived_u64(self.digest, salt.encode()) + self.variant) % count

    def chance(self, salt: str) -> float:
        """A number in [0, 1) drawn here, the same for every variant."""
        return derived_unit(self.digest, salt.encode())

    def child(self, key: str | int) -> "Position":
        """The position of an object member or array item one level down."""
        escaped = str(key).replace("~", "~0").replace("/", "~1")
        return _at(self, f"{self.path}/{escaped}", self.depth + 1, self.variant)

    def with_variant(self, variant: int) -> "Position":
        """The same place, with every choice at and below it shifted by `variant` steps."""
        return msgspec.structs.replace(self, variant=variant)

    def error(self, reason: str) -> SchemaError:
        """A `SchemaError` that says where in the value the schema failed."""
        where = f" at `{self.path}`" if self.path else ""
        return SchemaError(f"Invalid JSON schema in `{self.param}`{where}: {reason}.", self.param)


def root_position(schema: object, seed: bytes, param: str, budget: int) -> Position:
    """The position of the whole value, from which synthesis may take at most `budget` steps."""
    return Position(
        root=schema,
        budget=Budget(budget),
        param=param,
        seed=seed,
        path="",
        depth=0,
        variant=0,
        digest=_node_digest(seed, ""),
    )


def _at(origin: Position, path: str, depth: int, variant: int) -> Position:
    return Position(
        root=origin.root,
        budget=origin.budget,
        param=origin.param,
        seed=origin.seed,
        path=path,
        depth=depth,
        variant=variant,
        digest=_node_digest(origin.seed, path),
    )


def _node_digest(seed: bytes, path: str) -> bytes:
    return digest_texts([seed.hex(), path], person=_NODE_PERSON)
