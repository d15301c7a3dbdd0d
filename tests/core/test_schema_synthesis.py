"""Schema synthesis: every value validates against its schema, deterministically (mockcore.structured)."""

import datetime
import ipaddress
import json
import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mockcore.structured
from mockcore.structured import SchemaError, synthesize, synthesize_json

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER
DIGESTS = st.binary(min_size=32, max_size=32)
FIXED_DIGEST = bytes(range(32))

FIXED_FORMATS = ("date-time", "date", "time", "uuid", "ipv4", "ipv6", "duration")
STRETCHY_FORMATS = ("email", "uri", "uri-reference", "hostname")
PATTERNS = (
    "^[a-z]+$",
    "^[A-Z]{3}$",
    r"^\d{4}-\d{2}-\d{2}$",
    r"^\+?[1-9]\d{1,14}$",
    "^(red|green|blue)$",
    r"^[a-z0-9_-]{3,16}$",
    "ab",
    r"^\w+@\w+\.com$",
    "[0-9]",
    r"^[^@\s]+@example\.org$",
)
PROPERTY_NAMES = ("id", "name", "title", "count", "tags", "city", "price", "when", "note", "kind")
ENUM_POOL = ("red", "green", "blue", "a b", 7, 2.5, -3, True, False, None)
DURATION = re.compile(r"^P(?!$)(\d+W|(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?)$")
HOSTNAME_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

Schema = dict[str, Any]


# -- a strategy of satisfiable schemas ---------------------------------------------------------


def maybe(key: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Schema]:
    """`{key: value}` or `{}`."""
    return st.one_of(st.just({}), strategy.map(lambda value: {key: value}))


@st.composite
def string_schemas(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "string"}
    kind = draw(st.sampled_from(("plain", "format", "stretchy", "pattern")))
    if kind == "plain":
        low = draw(st.integers(0, 20))
        schema |= draw(maybe("minLength", st.just(low)))
        schema |= draw(maybe("maxLength", st.integers(low, low + 20)))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(FIXED_FORMATS + STRETCHY_FORMATS))
    elif kind == "stretchy":
        schema["format"] = draw(st.sampled_from(STRETCHY_FORMATS))
        low = draw(st.integers(0, 40))
        schema |= {"minLength": low, "maxLength": max(low, 20) + draw(st.integers(0, 40))}
    else:
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    return schema


@st.composite
def integer_schemas(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "integer"}
    low = draw(st.integers(-1000, 1000))
    multiple = draw(st.sampled_from((None, 1, 2, 3, 5, 10, 0.5, 0.25)))
    high = low + draw(st.integers(0 if multiple is None else 12, 1000))
    if multiple is not None:
        schema["multipleOf"] = multiple
    style = draw(st.sampled_from(("none", "inclusive", "exclusive", "low", "high")))
    if style in ("inclusive", "low"):
        schema["minimum"] = low
    if style in ("inclusive", "high"):
        schema["maximum"] = high
    if style == "exclusive":
        schema |= {"exclusiveMinimum": low - 1, "exclusiveMaximum": high + 1}
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> Schema:
    schema: Schema = {"type": "number"}
    low = draw(st.one_of(st.integers(-1000, 1000), st.floats(-1e4, 1e4)))
    multiple = draw(st.sampled_from((None, 0.5, 0.25, 0.1, 0.01, 2, 0.2)))
    if multiple is None:
        width = draw(st.one_of(st.floats(1e-6, 1e-2), st.floats(0.5, 1e4)))
    else:
        schema["multipleOf"] = multiple
        width = draw(st.floats(30 * multiple, 1e4))
    style = draw(st.sampled_from(("none", "inclusive", "exclusive", "mixed")))
    if style == "inclusive":
        schema |= {"minimum": low, "maximum": low + width}
    elif style == "exclusive":
        schema |= {"exclusiveMinimum": low, "exclusiveMaximum": low + width}
    elif style == "mixed":
        schema |= {"minimum": low, "exclusiveMaximum": low + width}
    return schema


def scalar_schemas() -> st.SearchStrategy[Schema]:
    enums = st.lists(st.sampled_from(ENUM_POOL), min_size=1, max_size=5, unique=True)
    return st.one_of(
        string_schemas(),
        integer_schemas(),
        number_schemas(),
        st.sampled_from(({"type": "boolean"}, {"type": "null"}, {}, {"type": ["string", "null"]})),
        enums.map(lambda members: {"enum": members}),
        st.sampled_from(ENUM_POOL).map(lambda value: {"const": value}),
        st.just({"const": {"nested": [1, "two"]}}),
    )


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    names = draw(st.lists(st.sampled_from(PROPERTY_NAMES), max_size=5, unique=True))
    strict = draw(st.booleans())
    required = names if strict else [name for name in names if draw(st.booleans())]
    closed = strict or draw(st.booleans())
    schema: Schema = {"type": "object", "properties": {name: draw(children) for name in names}}
    schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    else:
        schema |= draw(maybe("additionalProperties", st.sampled_from(({"type": "integer"}, True))))
    most_names = len(names) if closed else len(names) + 2
    low = draw(st.integers(len(required), most_names))
    schema |= draw(maybe("minProperties", st.just(low)))
    schema |= draw(maybe("maxProperties", st.integers(low, most_names + 1)))
    return schema


@st.composite
def array_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    schema: Schema = {"type": "array", "items": draw(children)}
    low = draw(st.integers(0, 4))
    schema |= draw(maybe("minItems", st.just(low)))
    schema |= draw(maybe("maxItems", st.integers(max(low, 1), low + 4)))
    return schema


@st.composite
def unique_array_schemas(draw: st.DrawFn) -> Schema:
    items = draw(
        st.sampled_from(
            (
                {"type": "string"},
                {"type": "integer"},
                {"enum": ["a", "b", "c", "d", "e"]},
                {"type": "string", "format": "uuid"},
                {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            )
        )
    )
    low = draw(st.integers(0, 3))
    return {"type": "array", "items": items, "uniqueItems": True, "minItems": low, "maxItems": low + 2}


@st.composite
def tuple_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    prefix = draw(st.lists(children, min_size=1, max_size=3))
    rest = draw(st.one_of(st.just(False), children))
    schema: Schema = {"type": "array", "prefixItems": prefix, "items": rest}
    if rest is False:
        schema["minItems"] = draw(st.integers(0, len(prefix)))
    return schema


def contains_schemas() -> st.SearchStrategy[Schema]:
    return st.sampled_from(
        (
            {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 50, "maximum": 60}},
            {"type": "array", "contains": {"const": "needle"}, "maxItems": 3},
        )
    )


def one_of_schemas() -> st.SearchStrategy[Schema]:
    distinct_types = (
        {"type": "string", "minLength": 1},
        {"type": "integer", "minimum": 0},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": "array", "items": {"type": "integer"}},
    )
    branches = st.lists(
        st.sampled_from(distinct_types), min_size=1, max_size=4, unique_by=lambda s: s["type"]
    )
    return branches.map(lambda chosen: {"oneOf": chosen})


@st.composite
def all_of_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    kind = draw(st.sampled_from(("objects", "integer", "string", "trivial")))
    if kind == "objects":
        first, second = draw(st.lists(st.sampled_from(PROPERTY_NAMES), min_size=2, max_size=2, unique=True))
        return {
            "allOf": [
                {"type": "object", "properties": {first: draw(children)}, "required": [first]},
                {"properties": {second: draw(children)}, "required": [second]},
            ]
        }
    if kind == "integer":
        low = draw(st.integers(-100, 100))
        return {"allOf": [{"type": "integer", "minimum": low}, {"maximum": low + draw(st.integers(0, 50))}]}
    if kind == "string":
        low = draw(st.integers(0, 10))
        return {
            "allOf": [{"type": "string", "minLength": low}, {"maxLength": low + draw(st.integers(0, 10))}]
        }
    return {"allOf": [draw(children), True, {}]}


def nested_schemas() -> st.SearchStrategy[Schema]:
    """Scalars, objects, arrays and combinators, nested a few levels."""

    def extend(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
        return st.one_of(
            object_schemas(children),
            array_schemas(children),
            tuple_schemas(children),
            all_of_schemas(children),
            st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
        )

    leaves = st.one_of(scalar_schemas(), unique_array_schemas(), contains_schemas(), one_of_schemas())
    return st.recursive(leaves, extend, max_leaves=8)


RECURSIVE_SCHEMAS: tuple[Schema, ...] = (
    {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["value", "children"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    },
    {
        "type": "object",
        "properties": {"head": {"type": "string"}, "tail": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}},
        "required": ["head", "tail"],
    },
    {
        "definitions": {
            "expression": {
                "oneOf": [
                    {"type": "number"},
                    {
                        "type": "object",
                        "properties": {
                            "op": {"enum": ["+", "-", "*"]},
                            "args": {
                                "type": "array",
                                "items": {"$ref": "#/definitions/expression"},
                                "minItems": 2,
                            },
                        },
                        "required": ["op", "args"],
                    },
                ]
            }
        },
        "$ref": "#/definitions/expression",
    },
    {
        "$defs": {
            "category": {"type": ["object", "null"], "properties": {"parent": {"$ref": "#/$defs/category"}}}
        },
        "type": "array",
        "items": {"$ref": "#/$defs/category"},
        "minItems": 1,
    },
)


@st.composite
def schemas_with_definitions(draw: st.DrawFn) -> Schema:
    definition = draw(nested_schemas())
    return {
        "$defs": {"shared": definition},
        "type": "object",
        "properties": {
            "one": {"$ref": "#/$defs/shared"},
            "many": {"type": "array", "items": {"$ref": "#/$defs/shared"}, "maxItems": 3},
        },
        "required": ["one", "many"],
    }


def json_schemas() -> st.SearchStrategy[Schema]:
    """Satisfiable JSON Schemas of the features tools and structured outputs use."""
    return st.one_of(nested_schemas(), schemas_with_definitions(), st.sampled_from(RECURSIVE_SCHEMAS))


def assert_valid(schema: object, value: object) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER).validate(value)


# -- properties -------------------------------------------------------------------------------


@given(json_schemas(), DIGESTS)
def test_every_synthesised_value_validates_against_its_schema(schema: Schema, digest: bytes) -> None:
    value = synthesize(schema, digest)
    assert_valid(schema, value)
    assert json.loads(synthesize_json(schema, digest)) == value


@given(json_schemas(), DIGESTS)
def test_the_same_schema_and_digest_give_the_same_value(schema: Schema, digest: bytes) -> None:
    assert synthesize_json(schema, digest) == synthesize_json(schema, digest)


def test_different_digests_give_different_values() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    values = {synthesize_json(schema, bytes([index]) * 32) for index in range(20)}
    assert len(values) > 1


@given(st.sampled_from(FIXED_FORMATS + STRETCHY_FORMATS), DIGESTS)
def test_formats_produce_values_their_parsers_accept(name: str, digest: bytes) -> None:
    value = synthesize({"type": "string", "format": name}, digest)
    assert isinstance(value, str)
    check_format(name, value)


@given(st.sampled_from(STRETCHY_FORMATS), st.integers(0, 40), st.integers(0, 30), DIGESTS)
def test_stretchy_formats_meet_length_bounds(name: str, low: int, extra: int, digest: bytes) -> None:
    high = max(low, 20) + extra
    value = synthesize({"type": "string", "format": name, "minLength": low, "maxLength": high}, digest)
    assert isinstance(value, str)
    assert low <= len(value) <= high
    check_format(name, value)


def check_format(name: str, value: str) -> None:
    match name:
        case "date-time":
            assert datetime.datetime.fromisoformat(value).tzinfo is not None
        case "date":
            datetime.date.fromisoformat(value)
        case "time":
            assert datetime.time.fromisoformat(value).tzinfo is not None
        case "uuid":
            assert str(uuid.UUID(value)) == value
        case "ipv4":
            ipaddress.IPv4Address(value)
        case "ipv6":
            ipaddress.IPv6Address(value)
        case "duration":
            assert DURATION.match(value), value
        case "email":
            local, _, domain = value.partition("@")
            assert local, value
            assert "." in domain, value
        case "uri":
            parts = urlsplit(value)
            assert parts.scheme, value
            assert parts.netloc or parts.path, value
        case "uri-reference":
            assert urlsplit(value).path, value
        case "hostname":
            assert len(value) <= 253, value
            assert all(HOSTNAME_LABEL.match(label) for label in value.split(".")), value


@given(DIGESTS)
def test_unbounded_arrays_stay_small(digest: bytes) -> None:
    value = synthesize({"type": "array", "items": {"type": "integer"}}, digest)
    assert isinstance(value, list)
    assert 1 <= len(value) <= 8


@given(DIGESTS)
def test_a_long_enough_enum_gives_distinct_items(digest: bytes) -> None:
    schema = {"type": "array", "items": {"enum": [1, 2, 3, 4]}, "uniqueItems": True, "minItems": 4}
    value = synthesize(schema, digest)
    assert isinstance(value, list)
    assert len(value) == 4
    assert set(value) == {1, 2, 3, 4}


@given(DIGESTS)
def test_one_of_values_match_exactly_one_branch(digest: bytes) -> None:
    schema = {"oneOf": [{"type": ["string", "null"]}, {"type": "null"}, {"type": "integer"}]}
    assert_valid(schema, synthesize(schema, digest))


@given(DIGESTS)
def test_min_properties_beyond_the_declared_ones_adds_made_up_keys(digest: bytes) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 3}
    value = synthesize(schema, digest)
    assert isinstance(value, dict)
    assert len(value) >= 3
    assert_valid(schema, value)


@given(st.sampled_from((0.1, 0.01, 0.3, 0.07, 1.5)), st.integers(-50, 50), DIGESTS)
def test_float_multiples_pass_the_validators_check(multiple: float, low: int, digest: bytes) -> None:
    for kind in ("number", "integer"):
        schema = {"type": kind, "multipleOf": multiple, "minimum": low, "maximum": low + 100}
        assert_valid(schema, synthesize(schema, digest))


@given(DIGESTS)
def test_draft4_boolean_exclusive_bounds_are_read(digest: bytes) -> None:
    schema = {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 2,
        "exclusiveMaximum": True,
    }
    assert synthesize(schema, digest) == 1
    jsonschema.Draft4Validator({**schema, "type": "number"}).validate(
        synthesize({**schema, "type": "number"}, digest)
    )


@given(DIGESTS)
def test_openapi_nullable_is_accepted(digest: bytes) -> None:
    schema = {"type": "string", "nullable": True, "maxLength": 5}
    value = synthesize(schema, digest)
    assert isinstance(value, str)
    assert len(value) <= 5


@given(DIGESTS)
def test_enum_members_that_fail_the_other_keywords_are_never_chosen(digest: bytes) -> None:
    assert synthesize({"enum": [1, 7, "x", "long text"], "minimum": 5, "maxLength": 3}, digest) in (7, "x")


@given(DIGESTS)
def test_a_property_whose_schema_is_false_is_never_emitted(digest: bytes) -> None:
    schema = {
        "type": "object",
        "properties": {"gone": False, "kept": {"type": "integer"}},
        "required": ["kept"],
    }
    assert_valid(schema, synthesize(schema, digest))


@given(DIGESTS)
def test_all_of_with_two_patterns_satisfies_both(digest: bytes) -> None:
    schema = {"allOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"pattern": "^.{3}$"}]}
    assert_valid(schema, synthesize(schema, digest))


@given(DIGESTS)
def test_a_schema_without_type_may_take_any_type_its_keywords_allow(digest: bytes) -> None:
    contradictory_for_numbers = {"minimum": 5, "maximum": 1}
    value = synthesize(contradictory_for_numbers, digest)
    assert not isinstance(value, int | float)
    assert_valid(contradictory_for_numbers, value)


# -- typical schemas ----------------------------------------------------------------------------

GET_WEATHER = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["location", "unit"],
}

STRICT_OUTPUT = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "rating": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "steps": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"explanation": {"type": "string"}, "output": {"type": "string"}},
                "required": ["explanation", "output"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["title", "rating", "steps"],
    "additionalProperties": False,
}


def test_a_get_weather_call_has_every_required_argument() -> None:
    arguments = synthesize(GET_WEATHER, FIXED_DIGEST, param="tools[0].function.parameters")
    assert isinstance(arguments, dict)
    assert list(arguments) == ["location", "unit"]
    assert arguments["unit"] in ("celsius", "fahrenheit")
    assert isinstance(arguments["location"], str)
    assert arguments["location"]


def test_a_strict_structured_output_has_exactly_the_declared_keys() -> None:
    for index in range(10):
        output = synthesize(STRICT_OUTPUT, bytes([index]) * 32)
        assert_valid(STRICT_OUTPUT, output)
        assert isinstance(output, dict)
        assert list(output) == ["title", "rating", "steps"]
        for step in output["steps"]:
            assert list(step) == ["explanation", "output"]


def test_json_text_is_compact_and_in_property_order() -> None:
    text = synthesize_json(GET_WEATHER, FIXED_DIGEST)
    assert text.startswith('{"location":"')
    assert '","unit":"' in text
    assert " :" not in text


def test_a_recursive_tree_ends() -> None:
    tree = RECURSIVE_SCHEMAS[0]
    for index in range(20):
        value = synthesize(tree, bytes([index]) * 32)
        assert_valid(tree, value)
        assert len(json.dumps(value)) < 10_000


@pytest.mark.parametrize(
    ("pattern", "example"),
    [
        ("^[A-Z]{3}$", "ABC"),
        (r"^\d{3}-\d{4}$", "555-1234"),
        ("^(yes|no)$", "yes"),
        (r"^[a-f0-9]{8}$", "0a1b2c3d"),
    ],
)
def test_common_patterns_are_matched(pattern: str, example: str) -> None:
    value = synthesize({"type": "string", "pattern": pattern}, FIXED_DIGEST)
    assert isinstance(value, str)
    assert re.search(pattern, value)
    assert len(value) == len(example)


def test_the_subpackage_exports_exactly_its_public_api() -> None:
    assert sorted(mockcore.structured.__all__) == ["SchemaError", "synthesize", "synthesize_json"]
    assert issubclass(SchemaError, mockcore.RequestError)


# -- schemas no value satisfies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": "integer", "minimum": 5, "maximum": 1},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`minimum` (5) is greater than `maximum` (1).",
        ),
        (
            {"type": "object", "properties": {"unit": {"enum": []}}, "required": ["unit"]},
            "Invalid JSON schema in `response_format.json_schema.schema` at `/unit`: "
            "`enum` must list at least one value.",
        ),
        (
            False,
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "the schema `false` admits no value.",
        ),
        (
            {"type": "strng"},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`type` 'strng' is not one of string, number, integer, boolean, object, array, null.",
        ),
        (
            {"$ref": "#/$defs/missing"},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`$ref` '#/$defs/missing' points at nothing in the schema.",
        ),
        (
            {"type": "string", "pattern": r"^([a-z])\1$"},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`pattern` '^([a-z])\\\\1$' is not supported by the mock: it reads literals, escapes, classes, "
            "groups, alternation, anchors and quantifiers only.",
        ),
        (
            {"type": "string", "pattern": "^(a+)+$", "minLength": 50},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`pattern` '^(a+)+$' is not supported by the mock: a repeated group that repeats or "
            "alternates inside could take exponential time to check.",
        ),
        (
            {"type": "string", "minLength": 3, "maxLength": 2},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`minLength` (3) is greater than `maxLength` (2).",
        ),
        (
            {"allOf": [{"type": "string"}, {"type": "integer"}]},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`allOf` requires types ['string'] and ['integer'], which have nothing in common.",
        ),
        (
            {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "minItems": 3},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`uniqueItems` needs 3 distinct items, but the items admit fewer values.",
        ),
        (
            {"$ref": "#"},
            "Invalid JSON schema in `response_format.json_schema.schema`: "
            "`$ref` '#' refers back to itself before any value is made.",
        ),
    ],
)
def test_an_unsatisfiable_schema_raises_schema_error(schema: object, message: str) -> None:
    with pytest.raises(SchemaError) as raised:
        synthesize(schema, FIXED_DIGEST, param="response_format.json_schema.schema")
    assert raised.value.message == message
    assert raised.value.param == "response_format.json_schema.schema"


def test_endless_recursion_raises_schema_error() -> None:
    endless = {"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}
    with pytest.raises(SchemaError, match="deeper than 16 levels") as raised:
        synthesize(endless, FIXED_DIGEST, param="tools[0].function.parameters")
    assert raised.value.param == "tools[0].function.parameters"


def test_the_default_param_is_schema() -> None:
    with pytest.raises(SchemaError) as raised:
        synthesize({"enum": []}, FIXED_DIGEST)
    assert raised.value.param == "schema"


def test_a_schema_demanding_too_much_work_is_refused() -> None:
    huge = {"type": "array", "minItems": 1000, "items": {"type": "array", "minItems": 1000}}
    with pytest.raises(SchemaError, match="too much work"):
        synthesize(huge, FIXED_DIGEST)
