"""Flags and environment to Settings: flag > environment > default, validated once.

Validation goes through the Settings Struct (its ranges are the only source of truth) and a
failure becomes one line naming the option, the value given and the valid range. The replica
name falls back to `POD_NAME` (Kubernetes' downward API), and what a replica name implies
(`mockcore.replica`) is applied here, once, knowing which options the user gave.
"""

import math
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from mockcli.options import flag_name, valid_values
from mockcore.replica import MissingOrdinalError, with_replica_defaults
from mockcore.settings import (
    Settings,
    environment_variable,
    settings_from_mapping,
    settings_values_from_environ,
)

_FIELD_IN_ERROR = re.compile(r"`\$\.(?P<field>\w+)")
# Where an unset `--replica-name` comes from: the pod name a Kubernetes manifest passes in with
# `env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]`.
POD_NAME_ENV = "POD_NAME"


class ConfigError(Exception):
    """An invalid option value; the message is the one line the user sees."""


def resolve_settings(flag_values: Mapping[str, Any | None], environ: Mapping[str, str]) -> Settings:
    """Merge environment and flags (None means "flag not given") and validate."""
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, value in settings_values_from_environ(environ).items():
        raw[name] = value
        sources[name] = f"{flag_name(name)} (from {environment_variable(name)})"
    for name, flag_value in flag_values.items():
        if flag_value is not None:
            raw[name] = flag_value
            sources[name] = flag_name(name)
    if not raw.get("replica_name") and environ.get(POD_NAME_ENV):
        raw["replica_name"] = environ[POD_NAME_ENV]
        sources["replica_name"] = f"{flag_name('replica_name')} (from {POD_NAME_ENV})"
    given = dict(raw)  # as typed, for the message
    log_level = raw.get("log_level")
    if isinstance(log_level, str):
        raw["log_level"] = log_level.upper()
    try:
        settings = settings_from_mapping(raw)
    except msgspec.ValidationError as exc:
        match = _FIELD_IN_ERROR.search(str(exc))
        if match is None and "fault_mix" in raw:  # the mix's own check names no path
            raise ConfigError(
                f"Invalid value {given['fault_mix']!r} for {sources['fault_mix']}: {exc}."
            ) from None
        if match is None or match["field"] not in raw:
            raise ConfigError(f"Invalid configuration: {exc}") from None
        raise _invalid(match["field"], given, sources) from None
    # "inf" passes `ge=0` but cannot be slept on nor sent to the workers as JSON.
    for field in raw:
        value = getattr(settings, field)
        if isinstance(value, float) and not math.isfinite(value):
            raise _invalid(field, given, sources)
    try:
        return with_replica_defaults(settings, given=raw.keys())
    except MissingOrdinalError:
        raise ConfigError(_no_ordinal(settings.replica_name, sources)) from None


def _no_ordinal(replica_name: str, sources: Mapping[str, str]) -> str:
    """`--seed-from-ordinal` without an ordinal: which name was found, or where to give one."""
    needs = f"{sources['seed_from_ordinal']} needs a replica name ending in -<ordinal>"
    if replica_name:
        return f"{needs}, but {sources['replica_name']} is {replica_name!r}."
    name_env = environment_variable("replica_name")
    return f"{needs}: set {POD_NAME_ENV}, {name_env} or {flag_name('replica_name')}."


def _invalid(field: str, given: Mapping[str, Any], sources: Mapping[str, str]) -> ConfigError:
    expected = valid_values(field)
    return ConfigError(f"Invalid value {given[field]!r} for {sources[field]}: expected {expected}.")
