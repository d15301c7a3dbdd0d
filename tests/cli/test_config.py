"""Flags, environment variables, defaults, validation messages and `--help` (SPEC section 1).

The option list is walked from `FIELD_NAMES` and the sample values are derived from the
Settings Struct's own types and ranges, so a new option is covered without a second edit.
"""

import math
import re
import subprocess
import sys
from typing import Any

import msgspec
import pytest
from tests.cli.conftest import StartCliServer
from tests.server_process import clean_environ, free_port
from typer.testing import CliRunner

from mockcli.config import ConfigError, resolve_settings
from mockcli.main import EXIT_INVALID_OPTION, app
from mockcli.options import FIELD_NAMES, SHORT_FLAGS, flag_name, valid_values
from mockcli.unsupported import UNSUPPORTED_OPTIONS
from mockcore.replica import replica_identity
from mockcore.settings import Settings, environment_variable, settings_as_config

_FIELDS = {field.name: field for field in msgspec.inspect.type_info(Settings).fields}  # type: ignore[attr-defined]


def _core_type(name: str) -> Any:
    """The type of an option without its metadata and without `| None`."""
    info = _FIELDS[name].type
    while isinstance(info, msgspec.inspect.Metadata | msgspec.inspect.UnionType):
        if isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        else:
            info = next(member for member in info.types if not isinstance(member, msgspec.inspect.NoneType))
    return info


def _candidates(name: str) -> list[Any]:
    """Valid values of an option, in a fixed order, straight from its type and range."""
    info = _core_type(name)
    if isinstance(info, msgspec.inspect.LiteralType):
        return list(info.values)
    if isinstance(info, msgspec.inspect.BoolType):
        return [True, False]
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        low = info.ge if info.ge is not None else -3
        high = info.le if info.le is not None else low + 1000
        middle = [low + 1, low + 7] if isinstance(info, msgspec.inspect.IntType) else [low + 0.25, low + 1.5]
        values = [low, high, *middle]
        if info.gt is not None:  # an open lower bound: (gt, le]
            low = info.gt
            values = [high, low + (high - low) / 4, low + (high - low) / 2]
        kind = int if isinstance(info, msgspec.inspect.IntType) else float
        above = info.gt if info.gt is not None else -math.inf
        return [kind(value) for value in values if low <= value <= high and value > above]
    assert isinstance(info, msgspec.inspect.StrType), f"no sample values for {name}: {info}"
    return _STRING_SAMPLES.get(name, ["env-value", "flag-value"])


# Strings whose valid values a type cannot say.
_STRING_SAMPLES: dict[str, list[Any]] = {
    "fault_mix": ["rate_limit=1", "abort=2,stall=1"],
    # A model small enough to fit whatever GPU and memory share the other samples pick.
    "engine": ["qwen3-0.6b", "llama-3.1-8b"],
    # Ordinal 0: --seed-from-ordinal keeps the sampled --random-seed as it is.
    "replica_name": ["replica-a-0", "replica-b-0"],
}


def sample_values(name: str) -> tuple[Any, Any]:
    """(environment value, flag value): the first differs from the default, the second from the first."""
    default = _FIELDS[name].default
    candidates = _candidates(name)
    env_value = next(value for value in candidates if value != default)
    flag_value = next(value for value in candidates if value != env_value)
    return env_value, flag_value


def as_text(value: Any) -> str:
    """How a value is written in the environment or on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_bool(name: str) -> bool:
    return isinstance(_core_type(name), msgspec.inspect.BoolType)


# What an option needs beside itself to be valid: --seed-from-ordinal reads the replica's ordinal.
_CONTEXT = {"seed_from_ordinal": {"MOCK_SERVER_REPLICA_NAME": "replica-0"}}


def with_context(name: str, environ: dict[str, str]) -> dict[str, str]:
    """`environ` plus whatever option `name` needs to be valid on its own."""
    return {**_CONTEXT.get(name, {}), **environ}


# -- precedence, unit level ------------------------------------------------------------------


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_default_applies_without_flag_or_environment(name: str) -> None:
    assert getattr(resolve_settings({}, {}), name) == _FIELDS[name].default
    assert getattr(resolve_settings({name: None}, {}), name) == _FIELDS[name].default


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_environment_beats_default(name: str) -> None:
    env_value, _ = sample_values(name)
    settings = resolve_settings(
        {name: None}, with_context(name, {environment_variable(name): as_text(env_value)})
    )
    assert getattr(settings, name) == env_value
    assert env_value != _FIELDS[name].default


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_flag_beats_environment(name: str) -> None:
    env_value, flag_value = sample_values(name)
    # Typer hands over strings, and a bool for boolean flags.
    flag = flag_value if is_bool(name) else as_text(flag_value)
    settings = resolve_settings(
        {name: flag}, with_context(name, {environment_variable(name): as_text(env_value)})
    )
    assert getattr(settings, name) == flag_value
    assert flag_value != env_value


def test_environment_variable_names() -> None:
    assert environment_variable("dcgm_gpu_name") == "MOCK_SERVER_DCGM_GPU_NAME"
    for name in FIELD_NAMES:
        assert environment_variable(name) == "MOCK_SERVER_" + name.upper()


def test_unrelated_environment_is_ignored() -> None:
    environ = {"MOCK_SERVER_SETTINGS_JSON": "{}", "MOCK_SERVER_STATE_FILE": "/nowhere", "PORT": "1"}
    assert resolve_settings({}, environ) == Settings()


@pytest.mark.parametrize("given", ["debug", "Debug", "DEBUG", "warning", "critical"])
def test_log_level_accepts_any_case(given: str) -> None:
    assert resolve_settings({"log_level": given}, {}).log_level == given.upper()
    assert resolve_settings({}, {"MOCK_SERVER_LOG_LEVEL": given}).log_level == given.upper()


def test_verbose_overrides_log_level() -> None:
    settings = resolve_settings({"verbose": True, "log_level": "error"}, {})
    assert settings.log_level == "ERROR"
    assert settings.effective_log_level == "DEBUG"


# -- precedence through the real command (in-process, no server) -----------------------------


def invoke(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, args, env=env, catch_exceptions=False)


# `--fast` zeroes the latencies the others set, so it is checked on its own (test_fast_*).
BULK_NAMES = [name for name in FIELD_NAMES if name != "fast"]


def test_command_reads_every_environment_variable(captured_settings: list[Settings]) -> None:
    env = {environment_variable(name): as_text(sample_values(name)[0]) for name in BULK_NAMES}
    result = invoke([], env)
    assert result.exit_code == 0, result.output
    (settings,) = captured_settings
    assert {name: getattr(settings, name) for name in BULK_NAMES} == {
        name: sample_values(name)[0] for name in BULK_NAMES
    }


def test_command_flags_beat_every_environment_variable(captured_settings: list[Settings]) -> None:
    env: dict[str, str] = {}
    args: list[str] = []
    expected: dict[str, Any] = {}
    for name in BULK_NAMES:
        env_value, flag_value = sample_values(name)
        if is_bool(name):
            # The environment says off, the flag switches on (the reverse is the next test).
            env[environment_variable(name)] = "false"
            args.append(flag_name(name))
            expected[name] = True
        else:
            env[environment_variable(name)] = as_text(env_value)
            args += [flag_name(name), as_text(flag_value)]
            expected[name] = flag_value
    result = invoke(args, env)
    assert result.exit_code == 0, result.output
    (settings,) = captured_settings
    assert {name: getattr(settings, name) for name in BULK_NAMES} == expected


@pytest.mark.parametrize("name", [name for name in FIELD_NAMES if is_bool(name)])
def test_a_no_flag_switches_off_what_the_environment_switched_on(
    captured_settings: list[Settings], name: str
) -> None:
    negative = "--no-" + flag_name(name).removeprefix("--")
    environ = with_context(name, {environment_variable(name): "true"})
    assert invoke([negative], environ).exit_code == 0
    assert invoke([], environ).exit_code == 0
    assert [getattr(settings, name) for settings in captured_settings] == [False, True]


@pytest.mark.parametrize(("name", "short"), sorted(SHORT_FLAGS.items()))
def test_short_flags(captured_settings: list[Settings], name: str, short: str) -> None:
    _, flag_value = sample_values(name)
    args = [short] if is_bool(name) else [short, as_text(flag_value)]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert getattr(captured_settings[0], name) == (True if is_bool(name) else flag_value)


def test_command_log_level_any_case(captured_settings: list[Settings]) -> None:
    assert invoke(["--log-level", "debug"]).exit_code == 0
    assert invoke([], {"MOCK_SERVER_LOG_LEVEL": "Warning"}).exit_code == 0
    assert [settings.log_level for settings in captured_settings] == ["DEBUG", "WARNING"]


def test_short_flags_are_those_of_the_spec() -> None:
    assert SHORT_FLAGS == {"port": "-p", "workers": "-w", "ttft": "-t", "verbose": "-v", "fast": "-f"}


# -- validation messages ---------------------------------------------------------------------

INVALID: list[tuple[str, str]] = [
    ("port", "0"),
    ("port", "65536"),
    ("port", "http"),
    ("host", ""),
    ("workers", "0"),
    ("workers", "33"),
    ("ttft", "-1"),
    ("ttft", "inf"),
    ("itl", "-1"),
    ("itl", "nan"),
    ("error_rate", "101"),
    ("error_rate", "-1"),
    ("random_seed", "abc"),
    ("random_seed", "1.5"),
    ("log_level", "loud"),
    ("verbose", "maybe"),
    ("access_logs", "maybe"),
    ("dcgm_gpu_name", "x"),
    ("dcgm_gpu_name", "H300"),
    ("dcgm_num_gpus", "0"),
    ("dcgm_num_gpus", "9"),
    ("dcgm_initial_load", "1.5"),
    ("dcgm_initial_load", "-0.1"),
    ("dcgm_hostname", ""),
    ("dcgm_seed", "1.5"),
    ("dcgm_seed", "abc"),
]


def _derived_invalid(name: str) -> list[str]:
    """Values just outside an option's range, derived from its type (covers new options)."""
    info = _core_type(name)
    if isinstance(info, msgspec.inspect.LiteralType):
        return ["no-such-value"]
    if isinstance(info, msgspec.inspect.BoolType):
        return ["maybe"]
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        step = 1 if isinstance(info, msgspec.inspect.IntType) else 0.5
        values = ["abc"]
        if info.ge is not None:
            values.append(str(info.ge - step))
        if info.le is not None:
            values.append(str(info.le + step))
        if isinstance(info, msgspec.inspect.IntType):
            values.append("2.5")
        return values
    assert isinstance(info, msgspec.inspect.StrType), info
    if info.max_length:
        return ["x" * (info.max_length + 1)]
    return [""] if info.min_length else []


INVALID += [
    (name, value) for name in FIELD_NAMES for value in _derived_invalid(name) if (name, value) not in INVALID
]


def _invalid_cases() -> list[Any]:
    cases = []
    for name, value in INVALID:
        cases.append(pytest.param(name, value, "env", id=f"{environment_variable(name)}={value!r}"))
        if not is_bool(name):  # a boolean flag takes no value
            cases.append(pytest.param(name, value, "flag", id=f"{flag_name(name)} {value!r}"))
    return cases


def test_every_option_has_an_invalid_case() -> None:
    assert {name for name, _ in INVALID} == set(FIELD_NAMES)


def assert_one_line_error(stderr: str, name: str, value: str, source: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    (line,) = lines
    assert "Traceback" not in line
    assert flag_name(name) in line
    assert repr(value) in line
    assert valid_values(name) in line
    if source == "env":
        assert environment_variable(name) in line


@pytest.mark.parametrize(("name", "value", "source"), _invalid_cases())
def test_invalid_value_is_one_line_and_exit_2(
    captured_settings: list[Settings], name: str, value: str, source: str
) -> None:
    if source == "env":
        result = invoke([], {environment_variable(name): value})
    else:
        result = invoke([flag_name(name), value])
    assert result.exit_code == EXIT_INVALID_OPTION, result.output
    assert captured_settings == []
    assert result.stdout == ""
    assert_one_line_error(result.stderr, name, value, source)


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_resolve_settings_names_the_option(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_settings({}, {environment_variable(name): value})
    message = str(raised.value)
    assert "\n" not in message
    assert f"{value!r} for {flag_name(name)} (from {environment_variable(name)})" in message
    assert message.endswith(f"expected {valid_values(name)}.")


def test_flag_error_is_reported_even_when_environment_is_valid() -> None:
    with pytest.raises(ConfigError, match=r"'0' for --port: expected integer 1-65535\.$"):
        resolve_settings({"port": "0"}, {"MOCK_SERVER_PORT": "8080"})


def test_valid_flag_hides_invalid_environment() -> None:
    assert resolve_settings({"port": "8080"}, {"MOCK_SERVER_PORT": "0"}).port == 8080


@pytest.mark.parametrize(
    ("args", "env", "name", "value", "source"),
    [
        (["--workers", "33"], {}, "workers", "33", "flag"),
        (["--log-level", "loud"], {}, "log_level", "loud", "flag"),
        ([], {"MOCK_SERVER_VERBOSE": "maybe"}, "verbose", "maybe", "env"),
        ([], {"MOCK_SERVER_DCGM_NUM_GPUS": "9"}, "dcgm_num_gpus", "9", "env"),
    ],
)
def test_real_process_invalid_value(
    args: list[str], env: dict[str, str], name: str, value: str, source: str
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mockcli", *args],
        env=clean_environ(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EXIT_INVALID_OPTION, completed.stderr
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    assert_one_line_error(completed.stderr, name, value, source)


# -- --help ----------------------------------------------------------------------------------


def _help_blocks(text: str) -> dict[str, str]:
    """`--flag` -> its whole help entry (the option line and its continuation lines), unwrapped."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^\s{2}(?:(-\w), )?(--[\w-]+)", line)
        if match:
            current = blocks.setdefault(match[2], [])
            current.append(line)
        elif current is not None and line.startswith(" " * 4) and line.strip():
            current.append(line)
        else:
            current = None
    return {flag: re.sub(r"\s+", " ", " ".join(lines)).strip() for flag, lines in blocks.items()}


def test_help_lists_every_option_with_default_and_environment_variable() -> None:
    result = CliRunner().invoke(app, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    blocks = _help_blocks(result.stdout)
    unsupported = {flag_name(name) for name in UNSUPPORTED_OPTIONS}
    assert set(blocks) == {flag_name(name) for name in FIELD_NAMES} | unsupported | {"--help"}
    for name in FIELD_NAMES:
        block = blocks[flag_name(name)]
        short = SHORT_FLAGS.get(name)
        if short:
            assert block.startswith(f"{short}, {flag_name(name)}"), block
        else:
            assert block.startswith(flag_name(name)), block
        default = _FIELDS[name].default
        assert f"Default: {'none' if default is None else default}." in block, block
        assert f"Env: {environment_variable(name)}." in block, block
        # Click wraps at hyphens ("non- empty"); undo that before comparing the range.
        assert f"Valid: {valid_values(name)}." in re.sub(r"(\w)- (\w)", r"\1-\2", block), block


# -- precedence end to end -------------------------------------------------------------------


# Options a real server must get from a flag whatever the environment says.
_SAFE_FLAGS = {"port": None, "host": "127.0.0.1", "workers": "1"}


@pytest.mark.e2e
def test_real_server_reports_flags_over_environment_over_defaults(cli_server: StartCliServer) -> None:
    """Every option in the environment, every other one also as a flag; /health shows the winner."""
    port = free_port()
    env: dict[str, str] = {}
    args: list[str] = []
    expected: dict[str, Any] = {}
    for index, name in enumerate(FIELD_NAMES):
        env_value, flag_value = sample_values(name)
        env[environment_variable(name)] = as_text(env_value)
        expected[name] = env_value
        if name in _SAFE_FLAGS:
            flag_text = _SAFE_FLAGS[name] or str(port)
            args += [SHORT_FLAGS.get(name, flag_name(name)), flag_text]
            expected[name] = msgspec.convert(flag_text, type(_FIELDS[name].default), strict=False)
        elif index % 2:
            if is_bool(name):
                env[environment_variable(name)] = "false"
                args.append(flag_name(name))
                expected[name] = True
            else:
                args += [flag_name(name), as_text(flag_value)]
                expected[name] = flag_value
    server = cli_server(args, port=port, env=env)
    health = server.wait_until_healthy()
    assert health == {
        "status": "healthy",
        "config": settings_as_config(Settings(**expected)),
        "replica": msgspec.to_builtins(replica_identity(Settings(**expected))),
    }
    assert health["config"]["port"] == port
