"""A schema reduced to flat alternatives: `$ref` resolved, `allOf` merged, a branch chosen.

Each alternative is one normalised schema without combinators that implies the original, so a
value drawn from it is valid. They come lazily, in the order to try them: a drawn rotation of
`anyOf`/`oneOf` branches, or deep down the branches that end soonest; merges that contradict
are skipped and recorded, so the caller can report the first reason when nothing works.
"""

from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import unquote

from mockcore.structured.errors import SchemaError
from mockcore.structured.keywords import (
    TYPES_BY_SIZE,
    Schema,
    allows_type,
    implied_types,
    normalised,
    string_of,
    types_of,
)
from mockcore.structured.merging import merge
from mockcore.structured.position import Position

_MOST_FAILURES = 64


def alternatives(
    schema: object, at: Position, expanding: tuple[str, ...], failures: list[SchemaError]
) -> Iterator[Schema]:
    """Each flat schema (no `$ref` or combinators) that implies `schema`, in the order to try."""
    at.spend()
    if schema is True:
        yield {}
        return
    if schema is False:
        raise at.error("the schema `false` admits no value")
    if not isinstance(schema, dict):
        raise at.error(f"a schema must be an object or a boolean, not {schema!r}")
    factors: list[Callable[[], Iterator[Schema]]] = [partial(iter, [normalised(schema, at)])]
    reference = string_of(schema, "$ref", at)
    if reference is not None:
        target = _resolve(reference, expanding, at)
        factors.append(partial(alternatives, target, at, (*expanding, reference), failures))
    factors.extend(
        partial(alternatives, member, at, expanding, failures) for member in _subschemas(schema, "allOf", at)
    )
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            branches = _subschemas(schema, keyword, at)
            factors.append(partial(_branches, branches, keyword, at, expanding, failures))
    yield from _products({}, factors, at, failures)


def _products(
    merged: Schema, factors: list[Callable[[], Iterator[Schema]]], at: Position, failures: list[SchemaError]
) -> Iterator[Schema]:
    """Every merge of one alternative from each factor, lazily, skipping contradictions."""
    if not factors:
        yield merged
        return
    for flat in factors[0]():
        if len(failures) > _MOST_FAILURES:
            return
        try:
            combined = merge(merged, flat, at) if merged else flat
        except SchemaError as error:
            failures.append(error)
            continue
        yield from _products(combined, factors[1:], at, failures)


def _branches(
    branches: list[object],
    keyword: str,
    at: Position,
    expanding: tuple[str, ...],
    failures: list[SchemaError],
) -> Iterator[Schema]:
    """The alternatives of each `anyOf`/`oneOf` branch, branch by branch."""
    for index in _branch_order(branches, keyword, at):
        others = branches[:index] + branches[index + 1 :]
        try:
            for flat in alternatives(branches[index], at, expanding, failures):
                yield _without_types(flat, _declared_types(others)) if keyword == "oneOf" else flat
        except SchemaError as error:
            failures.append(error)


def _branch_order(branches: list[object], keyword: str, at: Position) -> list[int]:
    """A drawn rotation of the branches; deep down, the branches that end soonest first."""
    if at.prefers_shortest:
        return sorted(range(len(branches)), key=lambda index: _stopping_cost(branches[index], at))
    start = at.pick(len(branches), keyword)
    rotation = [(start + offset) % len(branches) for offset in range(len(branches))]
    if keyword == "anyOf":
        return rotation
    return sorted(rotation, key=lambda index: _overlaps_others(branches, index))


def _overlaps_others(branches: list[object], index: int) -> bool:
    """Whether every type a `oneOf` branch declares is also declared by another branch."""
    own = _declared_types([branches[index]])
    others = _declared_types(branches[:index] + branches[index + 1 :])
    return bool(own) and all(allows_type(list(others), name) for name in own)


def _stopping_cost(schema: object, at: Position) -> int:
    """A rough rank of how soon a value of `schema` can end: 0 for null or a literal."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        try:
            schema = _resolve(str(schema["$ref"]), (), at)
        except SchemaError:
            return len(TYPES_BY_SIZE)
    if not isinstance(schema, dict):
        return 1 if schema is True else len(TYPES_BY_SIZE)
    if "enum" in schema or "const" in schema:
        return 0
    declared = schema.get("type", implied_types(schema)[0])
    types = declared if isinstance(declared, list) else [declared]
    return min((TYPES_BY_SIZE.index(name) for name in types if name in TYPES_BY_SIZE), default=1)


def _without_types(flat: Schema, excluded: set[str]) -> Schema:
    """For `oneOf`: drop the types other branches claim, so the value matches only this one."""
    types = types_of(flat)
    if types is None:
        return flat
    kept = [name for name in types if not allows_type(list(excluded), name)]
    return {**flat, "type": kept} if kept else flat


def _declared_types(schemas: list[object]) -> set[str]:
    names: set[str] = set()
    for schema in schemas:
        declared = schema.get("type") if isinstance(schema, dict) else None
        names.update(str(name) for name in (declared if isinstance(declared, list) else [declared]) if name)
    return names


def _resolve(reference: str, expanding: tuple[str, ...], at: Position) -> object:
    """The schema a local `$ref` (`#`, `#/$defs/...`, any JSON pointer) points at."""
    if reference in expanding:
        raise at.error(f"`$ref` {reference!r} refers back to itself before any value is made")
    pointer = unquote(reference.removeprefix("#"))
    if not reference.startswith("#") or (pointer and not pointer.startswith("/")):
        raise at.error(f"`$ref` {reference!r} is not supported: only `#` and `#/...` pointers are")
    target = at.root
    for token in pointer.split("/")[1:] if pointer else []:
        name = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and name in target:
            target = target[name]
        elif isinstance(target, list) and name.isdigit() and int(name) < len(target):
            target = target[int(name)]
        else:
            raise at.error(f"`$ref` {reference!r} points at nothing in the schema")
    return target


def _subschemas(schema: Schema, keyword: str, at: Position) -> list[object]:
    if keyword not in schema:
        return []
    members = schema[keyword]
    if not isinstance(members, list) or not members:
        raise at.error(f"`{keyword}` must be a non-empty array of schemas, not {members!r}")
    return members
