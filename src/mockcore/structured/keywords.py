"""Typed readers of schema keywords, and the one normal form the rest of synthesis reads.

A client's schema is untrusted JSON: every keyword value is checked here, once, and a
malformed one becomes a `SchemaError` naming the keyword.
"""

import math
from fractions import Fraction

from mockcore.structured.position import Position

Schema = dict[str, object]

JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
# Types from the one that ends soonest to the one that may grow most.
TYPES_BY_SIZE = ("null", "boolean", "integer", "number", "string", "array", "object")
# A schema without `type` admits every type; the ones its keywords hint at are tried first.
_TYPE_HINTS = (
    ("object", ("properties", "required", "additionalProperties", "patternProperties", "minProperties")),
    ("object", ("maxProperties", "dependentRequired")),
    ("array", ("items", "prefixItems", "contains", "minItems", "maxItems", "uniqueItems")),
    ("string", ("minLength", "maxLength", "pattern", "format")),
    ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
)

_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_COUNT_KEYWORDS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)
_SCHEMA_MAP_KEYWORDS = ("properties", "patternProperties")
# Kept as lists in the normal form, so that `allOf` can require several at once.
_TEXT_LIST_KEYWORDS = ("pattern", "format")
_SUBSCHEMA_KEYWORDS = ("items", "contains", "additionalProperties")
# Assertions synthesis honours; every other keyword is an annotation or is not supported.
_KEPT = frozenset(
    {
        *_NUMBER_KEYWORDS,
        *_COUNT_KEYWORDS,
        *_SCHEMA_MAP_KEYWORDS,
        *_SUBSCHEMA_KEYWORDS,
        "type",
        "enum",
        "required",
        "dependentRequired",
        "prefixItems",
        "uniqueItems",
        "pattern",
        "format",
    }
)
_TYPES_OF_VALUES = {
    type(None): frozenset({"null"}),
    bool: frozenset({"boolean"}),
    int: frozenset({"integer", "number"}),
    float: frozenset({"integer", "number"}),
    str: frozenset({"string"}),
    list: frozenset({"array"}),
}


# Assertions the synthesis does not honour: a schema that uses one is refused rather than
# answered with JSON that might not validate.
UNSUPPORTED_KEYWORDS = (
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "minContains",
    "maxContains",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
)


_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_SUBSCHEMA_SINGLES = ("items", "additionalProperties", "additionalItems", "contains")
_MOST_SCANNED_NODES = 20_000


def first_unsupported(schema: object) -> tuple[str, str] | None:
    """(keyword, path) of a keyword of `UNSUPPORTED_KEYWORDS` anywhere in `schema`, or None.

    The whole schema is scanned before any value is made, so whether a request is refused
    does not depend on which optional parts a draw happens to visit. Values (`enum`,
    `const`, `default`, `examples`) are data, not schemas, and are not scanned.
    """
    stack: list[tuple[object, str]] = [(schema, "")]
    scanned = 0
    while stack and scanned < _MOST_SCANNED_NODES:
        node, path = stack.pop()
        scanned += 1
        if not isinstance(node, dict):
            continue
        for keyword in UNSUPPORTED_KEYWORDS:
            if keyword in node:
                return keyword, path
        if _overlapping_branches(node.get("oneOf")):
            return "oneOf", path
        for key in _SUBSCHEMA_MAPS:
            members = node.get(key)
            if isinstance(members, dict):
                stack.extend((member, f"{path}/{key}/{name}") for name, member in members.items())
        for key in _SUBSCHEMA_LISTS:
            members = node.get(key)
            if isinstance(members, list):
                stack.extend((member, f"{path}/{key}/{index}") for index, member in enumerate(members))
        stack.extend((node.get(key), f"{path}/{key}") for key in _SUBSCHEMA_SINGLES)
    return None


def _overlapping_branches(branches: object) -> bool:
    """`oneOf` branches that surely overlap: one accepts anything, or two are the same.

    Any value then matches two branches, which `oneOf` forbids.
    """
    if not isinstance(branches, list) or len(branches) < 2:  # noqa: PLR2004 - a pair
        return False
    if any(branch is True or branch == {} for branch in branches):
        return True
    return any(branch in branches[index + 1 :] for index, branch in enumerate(branches))


def normalised(schema: Schema, at: Position) -> Schema:
    """The assertions of `schema` itself (no `$ref` or combinators), checked and in one form.

    `type`, `pattern` and `format` become lists, `const` a one-member `enum`, draft-4 boolean
    exclusive bounds the 2020-12 numeric ones, and a draft-4 `items` array `prefixItems` plus
    `items`.
    """
    flat: Schema = {key: value for key, value in schema.items() if key in _KEPT}
    _check_values(flat, at)
    if "type" in flat:
        flat["type"] = _type_list(flat["type"], at)
    for key in _TEXT_LIST_KEYWORDS:
        if key in flat:
            flat[key] = [flat[key]] if flat[key] is not None else []
    if "const" in schema:
        flat["enum"] = [schema["const"]] if "enum" not in flat else _with_const(flat, schema["const"], at)
    _adopt_draft4_bounds(flat, schema, at)
    _adopt_draft4_items(flat, schema, at)
    return flat


def number_of(schema: Schema, key: str, at: Position) -> int | float | None:
    """A finite numeric keyword, or None when absent."""
    value = schema.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not _is_finite(value):
        raise at.error(f"`{key}` must be a finite number, not {value!r}")
    return value


def count_of(schema: Schema, key: str, at: Position) -> int | None:
    """A non-negative integer keyword (`minLength`, `maxItems`...), or None when absent."""
    value = number_of(schema, key, at)
    if value is None:
        return None
    if value < 0 or value != int(value):
        raise at.error(f"`{key}` must be a non-negative integer, not {value!r}")
    return int(value)


def count_bounds(schema: Schema, low_key: str, high_key: str, at: Position) -> tuple[int, int | None]:
    """A (minimum, maximum) pair of counts; the minimum defaults to 0, the maximum to unbounded."""
    low = count_of(schema, low_key, at) or 0
    high = count_of(schema, high_key, at)
    if high is not None and low > high:
        raise at.error(f"`{low_key}` ({low}) is greater than `{high_key}` ({high})")
    return low, high


def string_of(schema: Schema, key: str, at: Position) -> str | None:
    """A string keyword (`$ref`, or `pattern` and `format` before normalisation), or None."""
    value = schema.get(key)
    if value is not None and not isinstance(value, str):
        raise at.error(f"`{key}` must be a string, not {value!r}")
    return value


def list_of(schema: Schema, key: str, at: Position) -> list[object] | None:
    """An array keyword (`enum`, `prefixItems`, `anyOf`...), or None when absent."""
    value = schema.get(key)
    if value is not None and not isinstance(value, list):
        raise at.error(f"`{key}` must be an array, not {value!r}")
    return value


def map_of(schema: Schema, key: str, at: Position) -> dict[str, object]:
    """An object keyword (`properties`, `$defs`...); empty when absent."""
    value = schema.get(key, {})
    if not isinstance(value, dict):
        raise at.error(f"`{key}` must be an object, not {value!r}")
    return value


def strings_of(schema: Schema, key: str, at: Position) -> list[str]:
    """A list of strings (`required`; `pattern` and `format` once normalised); empty when absent."""
    names = list_of(schema, key, at) or []
    if not all(isinstance(name, str) for name in names):
        raise at.error(f"`{key}` must be an array of strings, not {names!r}")
    return [str(name) for name in names]


def types_of(schema: Schema) -> list[str] | None:
    """The normalised `type` list, or None when any type is allowed."""
    types = schema.get("type")
    return [str(name) for name in types] if isinstance(types, list) else None


def implied_types(schema: Schema) -> list[str]:
    """For a schema without `type`: the types its keywords hint at first, then every other one."""
    hinted = [name for name, hints in _TYPE_HINTS if any(hint in schema for hint in hints)]
    return list(dict.fromkeys([*hinted, "string", *TYPES_BY_SIZE]))


def allows_type(types: list[str] | None, name: str) -> bool:
    """Whether a `type` list admits values of JSON type `name` (every integer is a number)."""
    return types is None or name in types or (name == "integer" and "number" in types)


def json_types(value: object) -> frozenset[str]:
    """The JSON types a Python value belongs to, as JSON Schema's `type` names them."""
    if isinstance(value, float) and not value.is_integer():
        return frozenset({"number"})
    return _TYPES_OF_VALUES.get(type(value), frozenset({"object"}))


def json_identity(value: object) -> object:
    """A hashable key under which JSON-equal values coincide (1 and 1.0 do, 1 and true do not)."""
    match value:
        case bool() | None:
            return ("literal", value)
        case int() | float():
            return ("number", value)
        case list():
            return ("array", tuple(json_identity(item) for item in value))
        case dict():
            return ("object", frozenset((key, json_identity(item)) for key, item in value.items()))
        case _:
            return ("string", value)


def exact_fraction(number: int | float) -> Fraction:
    """The decimal a JSON number spells (0.1 is one tenth, not the nearest binary float)."""
    return Fraction(number) if isinstance(number, int) else Fraction(repr(number))


def _is_finite(number: int | float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer beyond every float
        return False


def _check_values(flat: Schema, at: Position) -> None:
    for key in _NUMBER_KEYWORDS:
        if not isinstance(flat.get(key), bool):
            number_of(flat, key, at)
    for key in _COUNT_KEYWORDS:
        count_of(flat, key, at)
    for key in _SCHEMA_MAP_KEYWORDS:
        map_of(flat, key, at)
    for key in _TEXT_LIST_KEYWORDS:
        string_of(flat, key, at)
    strings_of(flat, "required", at)
    if not isinstance(flat.get("uniqueItems", False), bool):
        raise at.error("`uniqueItems` must be a boolean")
    multiple = number_of(flat, "multipleOf", at)
    if multiple is not None and multiple <= 0:
        raise at.error(f"`multipleOf` must be greater than 0, not {multiple!r}")
    enum = list_of(flat, "enum", at)
    if enum is not None and not enum:
        raise at.error("`enum` must list at least one value")


def _type_list(declared: object, at: Position) -> list[str]:
    names = declared if isinstance(declared, list) else [declared]
    for name in names:
        if name not in JSON_TYPES:
            raise at.error(f"`type` {name!r} is not one of {', '.join(JSON_TYPES)}")
    if not names:
        raise at.error("`type` must list at least one type")
    return [str(name) for name in dict.fromkeys(names)]


def _with_const(flat: Schema, const: object, at: Position) -> list[object]:
    enum = list_of(flat, "enum", at) or []
    if json_identity(const) not in {json_identity(member) for member in enum}:
        raise at.error(f"`const` {const!r} is not a member of `enum`")
    return [const]


def _adopt_draft4_bounds(flat: Schema, schema: Schema, at: Position) -> None:
    for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        marker = schema.get(exclusive)
        if isinstance(marker, bool):
            del flat[exclusive]
            if marker and inclusive in flat:
                flat[exclusive] = number_of(flat, inclusive, at)
                del flat[inclusive]


def _adopt_draft4_items(flat: Schema, schema: Schema, at: Position) -> None:
    items = schema.get("items")
    if isinstance(items, list):
        if "prefixItems" in schema:
            raise at.error("`items` as an array cannot be combined with `prefixItems`")
        flat["prefixItems"] = items
        del flat["items"]
        if "additionalItems" in schema:
            flat["items"] = schema["additionalItems"]
    elif "prefixItems" in flat:
        list_of(flat, "prefixItems", at)
