"""`enum` and `const`: the listed values that also pass the schema's other keywords.

A member is checked against the flat schema's own keywords (type, bounds, lengths, pattern,
counts, forbidden names); values nested inside a member are not checked against subschemas.
"""

from mockcore.structured.keywords import (
    Schema,
    allows_type,
    count_bounds,
    json_identity,
    json_types,
    list_of,
    strings_of,
    types_of,
)
from mockcore.structured.merging import member_schema
from mockcore.structured.numbers import number_admits
from mockcore.structured.pattern import checked_pattern
from mockcore.structured.position import Position


def admissible_members(flat: Schema, enum: list[object], at: Position) -> list[object]:
    """The members of `enum` that pass the rest of `flat`, in their listed order."""
    return [member for member in enum if _admits(flat, member, at)]


def _admits(flat: Schema, value: object, at: Position) -> bool:
    types = types_of(flat)
    if not any(allows_type(types, name) for name in json_types(value)):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_admits(flat, value, at)
    if isinstance(value, str):
        return _string_admits(flat, value, at)
    if isinstance(value, list):
        return _array_admits(flat, value, at)
    if isinstance(value, dict):
        return _object_admits(flat, value, at)
    return True  # true, false and null have no keywords but `type`


def _string_admits(flat: Schema, value: str, at: Position) -> bool:
    low, high = count_bounds(flat, "minLength", "maxLength", at)
    matches = all(checked_pattern(pattern, at).search(value) for pattern in strings_of(flat, "pattern", at))
    return low <= len(value) <= (len(value) if high is None else high) and matches


def _array_admits(flat: Schema, value: list[object], at: Position) -> bool:
    low, high = count_bounds(flat, "minItems", "maxItems", at)
    if not low <= len(value) <= (len(value) if high is None else high):
        return False
    if flat.get("items") is False and len(value) > len(list_of(flat, "prefixItems", at) or []):
        return False
    return flat.get("uniqueItems") is not True or len({json_identity(item) for item in value}) == len(value)


def _object_admits(flat: Schema, value: dict[str, object], at: Position) -> bool:
    low, high = count_bounds(flat, "minProperties", "maxProperties", at)
    return (
        low <= len(value) <= (len(value) if high is None else high)
        and all(name in value for name in strings_of(flat, "required", at))
        and all(member_schema(flat, name, at) is not False for name in value)
    )
