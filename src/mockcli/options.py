"""The command-line view of the Settings: flag names, help text and valid ranges.

Everything is derived from the Settings Struct's field metadata, so a new option or a
changed range shows up in `--help` and in error messages without a second edit.
"""

from typing import Any

import msgspec

from mockcore.faults import FAULT_KINDS
from mockcore.settings import Settings, environment_variable

_FIELDS = {field.name: field for field in msgspec.inspect.type_info(Settings).fields}  # type: ignore[attr-defined]
SHORT_FLAGS = {"port": "-p", "workers": "-w", "ttft": "-t", "verbose": "-v", "fast": "-f"}
FIELD_NAMES: tuple[str, ...] = tuple(_FIELDS)


def flag_name(field_name: str) -> str:
    """`dcgm_gpu_name` -> `--dcgm-gpu-name`."""
    return "--" + field_name.replace("_", "-")


def negative_flag_name(field_name: str) -> str:
    """`access_logs` -> `--no-access-logs`: the off switch of a boolean option."""
    return "--no-" + field_name.replace("_", "-")


def _unwrap(info: Any) -> tuple[Any, str]:
    description = ""
    if isinstance(info, msgspec.inspect.Metadata):
        description = (info.extra_json_schema or {}).get("description", "")
        info = info.type
    if isinstance(info, msgspec.inspect.UnionType):
        info = next(member for member in info.types if not isinstance(member, msgspec.inspect.NoneType))
        if isinstance(info, msgspec.inspect.Metadata):
            return _unwrap(info)
    return info, description


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


# Options whose valid values a type cannot say.
_VALID_VALUES_IN_WORDS = {
    "fault_mix": "kind=weight,... with kinds " + ", ".join(FAULT_KINDS),
}


def valid_values(field_name: str) -> str:
    """The valid range of an option in words: `1-65535`, `>= 0`, `one of a, b`."""
    return _VALID_VALUES_IN_WORDS.get(field_name) or _valid_values_of_type(field_name)


def _valid_values_of_type(field_name: str) -> str:
    info, _ = _unwrap(_FIELDS[field_name].type)
    if isinstance(info, msgspec.inspect.LiteralType):
        return "one of " + ", ".join(str(value) for value in info.values)
    if isinstance(info, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return _numeric_range(info)
    if isinstance(info, msgspec.inspect.StrType) and not info.min_length:
        return f"any string of at most {info.max_length} characters" if info.max_length else "any string"
    return "a non-empty string"


def _numeric_range(info: msgspec.inspect.IntType | msgspec.inspect.FloatType) -> str:
    kind = "integer" if isinstance(info, msgspec.inspect.IntType) else "number"
    if info.ge is not None and info.le is not None:
        return f"{kind} {_bound(info.ge)}-{_bound(info.le)}"
    if info.gt is not None and info.le is not None:
        return f"{kind} > {_bound(info.gt)} and <= {_bound(info.le)}"
    if info.ge is not None:
        return f"{kind} >= {_bound(info.ge)}"
    if info.gt is not None:
        return f"{kind} > {_bound(info.gt)}"
    return f"any {kind}"


def is_switch(field_name: str) -> bool:
    """Boolean options are switches (`--verbose`), not `--verbose true`."""
    info, _ = _unwrap(_FIELDS[field_name].type)
    return isinstance(info, msgspec.inspect.BoolType)


def metavar(field_name: str) -> str:
    """The placeholder `--help` shows for an option's value."""
    info, _ = _unwrap(_FIELDS[field_name].type)
    if isinstance(info, msgspec.inspect.LiteralType):
        return "CHOICE"
    if isinstance(info, msgspec.inspect.IntType):
        return "INTEGER"
    if isinstance(info, msgspec.inspect.FloatType):
        return "NUMBER"
    return "TEXT"


def option_help(field_name: str) -> str:
    """One line of `--help`: what it is, its range and its environment variable."""
    field = _FIELDS[field_name]
    _, description = _unwrap(field.type)
    default = "none" if field.default is None else field.default
    return (
        f"{description[:1].upper()}{description[1:]}. Valid: {valid_values(field_name)}. "
        f"Default: {default}. Env: {environment_variable(field_name)}."
    )
