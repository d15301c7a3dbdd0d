"""A test's server options: marker keywords validated into Settings before anything starts.

Options are Settings field names (`ttft=0`, `error_rate=5`, `workers=2`). They become the
command-line values the server itself receives (a string per option, a bool per switch),
and the Settings are resolved from exactly those values by the server's own code
(`mockcli.config`), so the fixture's `.settings` and the running server's cannot differ.
"""

import difflib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockcore.settings import Settings

MARKER_NAME = "mock_server"
# The plugin picks these: a free port of the loopback interface.
PLUGIN_CHOSEN = ("port", "host")
LOOPBACK = "127.0.0.1"
_ENV_PREFIX = "MOCK_SERVER_"  # mockcore.settings.ENV_PREFIX, without importing the core early
# mockcli.config.POD_NAME_ENV: a suite run inside a Kubernetes pod must not turn its servers into
# replicas of that pod (another DCGM hostname and GPUs); `replica_name=` asks for one explicitly.
_POD_NAME_ENV = "POD_NAME"

CliValues = dict[str, str | bool]


class MockServerOptionError(ValueError):
    """An option a test asked for is unknown or invalid; the message names it and what is valid."""


def options_as_call(options: Mapping[str, Any]) -> str:
    """The options as the test wrote them, in the marker or the factory: `mock_server(ttft=0)`."""
    keywords = ", ".join(f"{name}={value!r}" for name, value in options.items())
    return f"{MARKER_NAME}({keywords})"


def server_environ() -> dict[str, str]:
    """This process's environment without `MOCK_SERVER_*` and `POD_NAME`: only the options configure it."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_ENV_PREFIX) and name != _POD_NAME_ENV
    }


def cli_values(options: Mapping[str, Any]) -> CliValues:
    """The options as the server's command line carries them; None means "the default"."""
    from mockcore.settings import Settings  # noqa: PLC0415 - the plugin imports nothing until used

    fields = Settings.__struct_fields__
    values: CliValues = {}
    for name, value in options.items():
        if name in PLUGIN_CHOSEN:
            raise MockServerOptionError(
                f"{options_as_call(options)}: the plugin chooses the {name} (a free port on {LOOPBACK}); "
                "read it from mock_server.base_url"
            )
        if name not in fields:
            close = difflib.get_close_matches(name, fields, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise MockServerOptionError(
                f"{options_as_call(options)}: unknown option {name!r}; {hint}"
                "options are the Settings fields (`aiperf-mock-server --help`, with - as _)"
            )
        if value is None:  # every optional setting defaults to None
            continue
        if isinstance(value, bool):
            values[name] = value
        elif isinstance(value, str | int | float):
            values[name] = str(value)
        else:
            raise MockServerOptionError(
                f"{options_as_call(options)}: {name} must be a number, a string or a bool, "
                f"not {type(value).__name__}"
            )
    return values


def command_line(values: CliValues) -> list[str]:
    """`--ttft 0 --fast --no-control-headers`: the flags of `aiperf-mock-server`."""
    from mockcli.options import flag_name, negative_flag_name  # noqa: PLC0415 - imported when used

    argv: list[str] = []
    for name, value in values.items():
        if isinstance(value, bool):
            argv.append(flag_name(name) if value else negative_flag_name(name))
        else:
            argv += [flag_name(name), value]
    return argv


def resolve(options: Mapping[str, Any], environ: Mapping[str, str], port: int | None = None) -> "Settings":
    """The Settings a server started with `options` on `port` (and `environ`) runs with.

    Raises `MockServerOptionError` with the server's own one-line message for a bad value.
    """
    from mockcli.config import ConfigError, resolve_settings  # noqa: PLC0415 - imported when used
    from mockcli.engine_process import check_engine  # noqa: PLC0415

    values: dict[str, Any] = dict(cli_values(options))
    if port is not None:
        values |= {"port": str(port), "host": LOOPBACK}
    try:
        settings = resolve_settings(values, environ)
        check_engine(settings)
    except ConfigError as error:
        raise MockServerOptionError(f"{options_as_call(options)}: {error}") from None
    return settings
