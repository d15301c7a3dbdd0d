"""Deterministic synthesis of a JSON value that validates against a client's JSON Schema.

At each position the schema is reduced to a flat alternative (see `alternatives`) and a value
is drawn from its keywords: objects and arrays here, strings and numbers in their modules.
When a choice leads nowhere the next one is tried, so a satisfiable schema gets a value and
an unsatisfiable one a `SchemaError`. Past a small depth, choices that end soonest come first
(null, fewest items, only required properties), so recursive schemas stop.
"""

import copy
import itertools
from collections.abc import Callable, Iterable, Iterator
from functools import partial

import msgspec

from mockcore.structured.alternatives import alternatives
from mockcore.structured.errors import SchemaError
from mockcore.structured.keywords import (
    TYPES_BY_SIZE,
    Schema,
    count_bounds,
    first_unsupported,
    implied_types,
    json_identity,
    list_of,
    map_of,
    strings_of,
    types_of,
)
from mockcore.structured.literals import admissible_members
from mockcore.structured.merging import conjoin, member_schema
from mockcore.structured.numbers import synthesize_integer, synthesize_number
from mockcore.structured.position import BudgetExhaustedError, Position, root_position
from mockcore.structured.strings import synthesize_string

_DEEPEST = 16
_MOST_STEPS = 10_000
_MOST_ALTERNATIVES = 16
_MOST_ITEMS = 1024
_MOST_DEFAULT_ITEMS = 8
_EXTRA_DEFAULT_ITEMS = 2
_UNIQUE_ATTEMPTS = 32
_OPTIONAL_PRESENCE = 0.5

_MISSING = object()


class _TooDeepError(SchemaError):
    """The value nests past `_DEEPEST`: deep down, no other choice will end sooner."""


def synthesize(schema: object, digest: bytes, *, param: str = "schema") -> object:
    """A JSON-compatible Python value (dict/list/str/int/float/bool/None) valid against `schema`.

    Deterministic: the same (schema, digest) always gives the same value; different digests
    usually differ. Raises `SchemaError`, naming `param`, when no value can be made.
    """
    unsupported = first_unsupported(schema)
    if unsupported is not None:
        keyword, path = unsupported
        where = f" at `{path}`" if path else ""
        raise SchemaError(
            f"Invalid JSON schema in `{param}`{where}: `{keyword}` is not supported by the mock, "
            "which could not promise a valid value.",
            param,
        )
    try:
        return _value(schema, root_position(schema, digest, param, _MOST_STEPS))
    except BudgetExhaustedError as exhausted:
        raise exhausted.error from None


def synthesize_json(schema: object, digest: bytes, *, param: str = "schema") -> str:
    """`synthesize(...)` as compact JSON text, object keys in the schema's property order."""
    return msgspec.json.encode(synthesize(schema, digest, param=param)).decode()


def _value(schema: object, at: Position) -> object:
    """A value for `schema` here: each way to satisfy its combinators in turn, until one works."""
    at.spend()
    if at.depth > _DEEPEST:
        error = at.error(f"the value nests deeper than {_DEEPEST} levels; a recursive schema needs a way out")
        raise _TooDeepError(error.message, error.param)
    failures: list[SchemaError] = []
    flats = itertools.islice(_distinct(alternatives(schema, at, (), failures)), _MOST_ALTERNATIVES)
    return _first_value((partial(_value_of, flat, at) for flat in flats), at, failures)


def _distinct(flats: Iterable[Schema]) -> Iterator[Schema]:
    """Each flat schema once: the same flat at the same position would fail the same way again."""
    seen: list[Schema] = []
    for flat in flats:
        if flat not in seen:
            seen.append(flat)
            yield flat


def _first_value(makers: Iterable[Callable[[], object]], at: Position, failures: list[SchemaError]) -> object:
    """The value of the first maker that succeeds; if none does, the first failure is raised."""
    for make in makers:
        try:
            return make()
        except _TooDeepError as error:
            if at.prefers_shortest:
                raise
            failures.append(error)
        except SchemaError as error:
            failures.append(error)
    raise failures[0] if failures else at.error("no part of the schema admits a value")


# -- from a flat schema to a value ---------------------------------------------------------------


def _value_of(flat: Schema, at: Position) -> object:
    """A value of a flat schema: an `enum` member, or a value of one of its types."""
    enum = list_of(flat, "enum", at)
    if enum is not None:
        return _enum_member(flat, enum, at)
    makers = (partial(_BY_TYPE[name], flat, at) for name in _type_order(flat, at))
    return _first_value(makers, at, [])


def _type_order(flat: Schema, at: Position) -> list[str]:
    """The declared types (or, without `type`, the hinted ones first) in the order to try."""
    declared = types_of(flat)
    types = declared or implied_types(flat)
    if at.prefers_shortest:
        return sorted(types, key=TYPES_BY_SIZE.index)
    if declared is None:
        return types
    start = at.pick(len(types), "type")
    return types[start:] + types[:start]


def _enum_member(flat: Schema, enum: list[object], at: Position) -> object:
    members = admissible_members(flat, enum, at)
    if not members:
        raise at.error(f"no member of `enum` {enum!r} passes the other keywords of the schema")
    return copy.deepcopy(members[at.pick(len(members), "enum")])


def _object(flat: Schema, at: Position) -> dict[str, object]:
    """Every required property, some optional ones, and made-up names only for `minProperties`."""
    values: dict[str, object] = {}
    for name in _property_names(flat, at):
        schema = member_schema(flat, name, at)
        if schema is False:
            raise at.error(f"the required property `{name}` is forbidden by `additionalProperties`")
        values[name] = _value(schema, at.child(name))
    return values


def _property_names(flat: Schema, at: Position) -> list[str]:
    """The names to emit, in the order of `properties`, then of `required`, then made up."""
    properties = map_of(flat, "properties", at)
    low, high = count_bounds(flat, "minProperties", "maxProperties", at)
    if low > _MOST_ITEMS:
        raise at.error(f"`minProperties` {low} exceeds the mock's limit of {_MOST_ITEMS}")
    chosen = _with_dependencies(strings_of(flat, "required", at), flat, at)
    if high is not None and len(chosen) > high:
        raise at.error(f"{len(chosen)} properties are required but `maxProperties` is {high}")
    optional = [
        name for name in properties if name not in chosen and member_schema(flat, name, at) is not False
    ]
    wanted = [name for name in optional if _wants_optional(name, at)]
    for name in [*wanted, *(name for name in optional if name not in wanted)]:
        if name in wanted or len(chosen) < low:
            grown = _with_dependencies([*chosen, name], flat, at)
            if high is None or len(grown) <= high:
                chosen = grown
    chosen += _made_up_names(flat, chosen, properties, low - len(chosen), at)
    return [name for name in properties if name in chosen] + [
        name for name in chosen if name not in properties
    ]


def _wants_optional(name: str, at: Position) -> bool:
    return not at.prefers_shortest and at.child(name).chance("present") < _OPTIONAL_PRESENCE


def _with_dependencies(names: list[str], flat: Schema, at: Position) -> list[str]:
    """`names` plus what `dependentRequired` asks for, transitively."""
    dependencies = map_of(flat, "dependentRequired", at)
    chosen = dict.fromkeys(names)
    pending = list(names)
    while pending:
        needed = dependencies.get(pending.pop(), [])
        for name in needed if isinstance(needed, list) else []:
            if isinstance(name, str) and name not in chosen:
                chosen[name] = None
                pending.append(name)
    return list(chosen)


def _made_up_names(
    flat: Schema, chosen: list[str], properties: dict[str, object], count: int, at: Position
) -> list[str]:
    """`count` new names (`key1`...) the schema lets in, free of dependencies, for `minProperties`."""
    taken = {*chosen, *properties, *map_of(flat, "dependentRequired", at)}
    names: list[str] = []
    for number in range(1, count + len(taken) + 1):
        if len(names) >= count:
            break
        name = f"key{number}"
        if name not in taken and member_schema(flat, name, at) is not False:
            names.append(name)
    if len(names) < count:
        raise at.error("`minProperties` asks for more properties than the schema allows")
    return names


def _array(flat: Schema, at: Position) -> list[object]:
    """Items from `prefixItems` then `items`; the first also satisfies `contains`."""
    prefix = list_of(flat, "prefixItems", at) or []
    rest = flat.get("items", True)
    low, high = count_bounds(flat, "minItems", "maxItems", at)
    if "contains" in flat:
        low = max(low, 1)
    if rest is False:
        high = len(prefix) if high is None else min(high, len(prefix))
    if high is not None and low > high:
        raise at.error(f"`minItems` {low} cannot be met: the schema allows at most {high} items")
    unique = flat.get("uniqueItems") is True
    items: list[object] = []
    seen: set[object] = set()
    for index in range(_array_length(low, high, len(prefix), at)):
        schema = prefix[index] if index < len(prefix) else rest
        if index == 0 and "contains" in flat:
            schema = conjoin(schema, flat["contains"])
        item = _unique_item(schema, at.child(index), seen) if unique else _value(schema, at.child(index))
        if item is _MISSING and index < low:
            raise at.error(f"`uniqueItems` needs {low} distinct items, but the items admit fewer values")
        if item is _MISSING:
            break
        items.append(item)
    return items


def _array_length(low: int, high: int | None, prefix_length: int, at: Position) -> int:
    """1 to 3 items by default (or the prefix and up to 2 more), within bounds; deep down, `low`."""
    if low > _MOST_ITEMS:
        raise at.error(f"`minItems` {low} exceeds the mock's limit of {_MOST_ITEMS}")
    if at.prefers_shortest:
        return low
    length = max(low, 1, prefix_length) + at.pick(_EXTRA_DEFAULT_ITEMS + 1, "length")
    length = min(length, max(low, _MOST_DEFAULT_ITEMS))
    return max(low, length if high is None else min(length, high))


def _unique_item(schema: object, at: Position, seen: set[object]) -> object:
    """A value unlike every earlier item, re-drawn with shifted choices until it differs."""
    for shift in range(_UNIQUE_ATTEMPTS):
        value = _value(schema, at.with_variant(at.variant + shift))
        identity = json_identity(value)
        if identity not in seen:
            seen.add(identity)
            return value
    return _MISSING


_BY_TYPE: dict[str, Callable[[Schema, Position], object]] = {
    "object": _object,
    "array": _array,
    "string": synthesize_string,
    "integer": synthesize_integer,
    "number": synthesize_number,
    "boolean": lambda _flat, at: at.pick(2, "boolean") == 1,
    "null": lambda _flat, _at: None,
}
