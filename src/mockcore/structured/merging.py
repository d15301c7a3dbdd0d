"""`allOf` as one schema: the keywords of several schemas merged into one that implies them all.

Synthesis then draws one value from the merged schema instead of searching for a value that
happens to satisfy each member. Merging only ever tightens, so a merged value is valid for
every member; a contradiction (no common type, min above max) surfaces as a `SchemaError`.
"""

import math
from collections.abc import Callable
from fractions import Fraction

from mockcore.structured.keywords import (
    Schema,
    allows_type,
    exact_fraction,
    json_identity,
    list_of,
    map_of,
    number_of,
    strings_of,
    types_of,
)
from mockcore.structured.pattern import checked_pattern
from mockcore.structured.position import Position

_LARGEST_WINS = frozenset(
    {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"}
)
_SMALLEST_WINS = frozenset(
    {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"}
)
_MEMBER_KEYWORDS = frozenset({"properties", "patternProperties", "additionalProperties"})
_ARRAY_KEYWORDS = frozenset({"prefixItems", "items"})


def merge(first: Schema, second: Schema, at: Position) -> Schema:
    """One normalised schema that admits exactly the values both normalised schemas admit."""
    merged = dict(first)
    for key, value in second.items():
        if key in _MEMBER_KEYWORDS or key in _ARRAY_KEYWORDS:
            continue
        merged[key] = _merged_keyword(key, merged[key], value, at) if key in merged else value
    if any(key in schema for schema in (first, second) for key in _MEMBER_KEYWORDS):
        merged.update(_merged_members(first, second, at))
    if any(key in schema for schema in (first, second) for key in _ARRAY_KEYWORDS):
        merged.update(_merged_items(first, second))
    return merged


def conjoin(first: object, second: object) -> object:
    """A schema requiring both; `true` (or `{}`) is the identity and `false` absorbs."""
    if first is True or first == {}:
        return second
    if second is True or second == {} or first is False:
        return first
    if second is False:
        return second
    return {"allOf": [first, second]}


def member_schema(schema: Schema, key: str, at: Position) -> object:
    """The schema a property named `key` must satisfy: its own, matching patterns, or the rest."""
    own = map_of(schema, "properties", at).get(key)
    patterns = [
        subschema
        for pattern, subschema in map_of(schema, "patternProperties", at).items()
        if _search(pattern, key, at)
    ]
    if own is None and not patterns:
        return schema.get("additionalProperties", True)
    combined: object = True if own is None else own
    for subschema in patterns:
        combined = conjoin(combined, subschema)
    return combined


def _merged_keyword(key: str, first: object, second: object, at: Position) -> object:
    merger = _KEYWORD_MERGERS.get(key)
    if merger is not None:
        return merger(key, {key: first}, {key: second}, at)
    if first == second:
        return first
    raise at.error(f"`allOf` combines two different `{key}` values ({first!r} and {second!r})")


def _extreme(key: str, first: Schema, second: Schema, at: Position) -> object:
    numbers = [number_of(schema, key, at) or 0 for schema in (first, second)]
    return max(numbers) if key in _LARGEST_WINS else min(numbers)


def _types(key: str, first: Schema, second: Schema, at: Position) -> object:
    one, other = types_of(first) or [], types_of(second) or []
    common = [
        name for name in dict.fromkeys([*one, *other]) if allows_type(one, name) and allows_type(other, name)
    ]
    if not common:
        raise at.error(f"`allOf` requires types {one} and {other}, which have nothing in common")
    return common


def _members(key: str, first: Schema, second: Schema, at: Position) -> object:
    one, other = list_of(first, key, at) or [], list_of(second, key, at) or []
    allowed = {json_identity(member) for member in other}
    common = [member for member in one if json_identity(member) in allowed]
    if not common:
        raise at.error(f"`allOf` requires values from {one!r} and from {other!r}, which share none")
    return common


def _multiple(key: str, first: Schema, second: Schema, at: Position) -> object:
    one = exact_fraction(number_of(first, key, at) or 1)
    other = exact_fraction(number_of(second, key, at) or 1)
    numerator = math.lcm(one.numerator * other.denominator, other.numerator * one.denominator)
    common = Fraction(numerator, one.denominator * other.denominator)
    return int(common) if common.denominator == 1 else float(common)


def _names(key: str, first: Schema, second: Schema, at: Position) -> object:
    return list(dict.fromkeys([*strings_of(first, key, at), *strings_of(second, key, at)]))


def _either(key: str, first: Schema, second: Schema, at: Position) -> object:
    return first[key] is True or second[key] is True


def _both(key: str, first: Schema, second: Schema, at: Position) -> object:
    return conjoin(first[key], second[key])


def _dependencies(key: str, first: Schema, second: Schema, at: Position) -> object:
    merged = dict(map_of(first, key, at))
    for name, names in map_of(second, key, at).items():
        earlier = merged.get(name, [])
        if isinstance(earlier, list) and isinstance(names, list):
            merged[name] = list(dict.fromkeys([*earlier, *names]))
    return merged


_KEYWORD_MERGERS: dict[str, Callable[[str, Schema, Schema, Position], object]] = {
    **dict.fromkeys(_LARGEST_WINS | _SMALLEST_WINS, _extreme),
    "type": _types,
    "enum": _members,
    "multipleOf": _multiple,
    "required": _names,
    "pattern": _names,
    "format": _names,
    "uniqueItems": _either,
    "contains": _both,
    "dependentRequired": _dependencies,
}


def _merged_members(first: Schema, second: Schema, at: Position) -> Schema:
    """Properties of both sides; a name one side forbids is dropped, or fails when required."""
    names = dict.fromkeys([*map_of(first, "properties", at), *map_of(second, "properties", at)])
    properties: dict[str, object] = {}
    for name in names:
        schema = conjoin(member_schema(first, name, at), member_schema(second, name, at))
        if schema is not False:
            properties[name] = schema
        elif name in strings_of(first, "required", at) + strings_of(second, "required", at):
            raise at.error(f"`allOf` both requires and forbids the property `{name}`")
    patterns = dict(map_of(first, "patternProperties", at))
    for pattern, schema in map_of(second, "patternProperties", at).items():
        patterns[pattern] = conjoin(patterns.get(pattern, True), schema)
    rest = conjoin(first.get("additionalProperties", True), second.get("additionalProperties", True))
    members: Schema = {"properties": properties}
    if patterns:
        members["patternProperties"] = patterns
    if rest is not True:
        members["additionalProperties"] = rest
    return members


def _merged_items(first: Schema, second: Schema) -> Schema:
    """Positional schemas merged index by index; past one side's prefix, its `items` applies."""
    prefixes = [first.get("prefixItems"), second.get("prefixItems")]
    lists = [prefix if isinstance(prefix, list) else [] for prefix in prefixes]
    rests = [first.get("items", True), second.get("items", True)]
    length = max(len(lists[0]), len(lists[1]))
    merged_prefix = [
        conjoin(
            *(items[index] if index < len(items) else rest for items, rest in zip(lists, rests, strict=True))
        )
        for index in range(length)
    ]
    merged: Schema = {}
    if merged_prefix:
        merged["prefixItems"] = merged_prefix
    rest = conjoin(*rests)
    if rest is not True:
        merged["items"] = rest
    return merged


def _search(pattern: str, text: str, at: Position) -> bool:
    return checked_pattern(pattern, at).search(text) is not None
