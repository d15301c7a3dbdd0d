"""The `aiperf-mock-server` command.

Its options are generated from the Settings Struct, one per field, so a new setting is a
new flag and environment variable without a second edit. Values are taken as raw strings
and validated once, through Settings, so that every invalid value, from a flag or from the
environment, gets the same one-line error (Typer's own range checks cannot name the value
and the whole range).
"""

import inspect
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import structlog
import typer

from mockcli.config import ConfigError, resolve_settings
from mockcli.engine_process import check_engine
from mockcli.logs import configure_logging, wants_json
from mockcli.options import (
    FIELD_NAMES,
    SHORT_FLAGS,
    flag_name,
    is_switch,
    metavar,
    negative_flag_name,
    option_help,
)
from mockcli.server import serve
from mockcli.unsupported import UNSUPPORTED_OPTIONS, check_unsupported, unsupported_help
from mockcore.settings import settings_as_config

EXIT_INVALID_OPTION = 2
HELP_WIDTH = 100
# `aiperf-mock-server simulate TRACE ...` replays a trace through the engine instead of serving.
SIMULATE_COMMAND = "simulate"

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="OpenAI-compatible mock inference server with simulated latency and DCGM telemetry.",
    # Wide enough that the longest variable name (MOCK_SERVER_SCHEDULER_MAX_PREFILL_CHUNKS_PER_STEP)
    # is never split across lines.
    context_settings={"terminal_width": HELP_WIDTH, "max_content_width": HELP_WIDTH},
)


def option_parameter(field_name: str) -> inspect.Parameter:
    """One Typer option: a switch pair for booleans, a raw string for everything else.

    `--no-verbose` exists so that a flag can switch off what the environment switched on.
    """
    short = [SHORT_FLAGS[field_name]] if field_name in SHORT_FLAGS else []
    names = [flag_name(field_name), *short]
    option: Any
    if is_switch(field_name):
        paired = f"{flag_name(field_name)}/{negative_flag_name(field_name)}"
        option = Annotated[bool | None, typer.Option(paired, *short, help=option_help(field_name))]
    else:
        option = Annotated[
            str | None, typer.Option(*names, metavar=metavar(field_name), help=option_help(field_name))
        ]
    return inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)


def _unsupported_parameter(name: str) -> inspect.Parameter:
    """A reference option this server lacks: parsed, so that giving it fails with a clear line."""
    flag = flag_name(name)
    option: Any
    if UNSUPPORTED_OPTIONS[name][0]:
        paired = f"{flag}/{negative_flag_name(name)}"
        option = Annotated[bool | None, typer.Option(paired, help=unsupported_help(name))]
    else:
        option = Annotated[str | None, typer.Option(flag, metavar="VALUE", help=unsupported_help(name))]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)


def main(**flags: Any) -> None:
    """Start the mock server (every option also reads MOCK_SERVER_<OPTION> from the environment)."""
    unsupported = {name: flags.pop(name) for name in UNSUPPORTED_OPTIONS}
    try:
        check_unsupported(unsupported, os.environ)
        settings = resolve_settings(flags, os.environ)
        check_engine(settings)
    except ConfigError as error:
        print(f"Error: {error}", file=sys.stderr)  # noqa: T201 - the one line SPEC section 1 asks for
        raise typer.Exit(EXIT_INVALID_OPTION) from None
    configure_logging(settings.effective_log_level, wants_json())
    structlog.get_logger("mockcli").info(
        "starting aiperf-mock-server",
        url=f"http://{settings.host}:{settings.port}",
        config=settings_as_config(settings),
    )
    serve(settings)


# Typer reads the options from the signature: give `main` one parameter per setting.
main.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        *(option_parameter(name) for name in FIELD_NAMES),
        *(_unsupported_parameter(name) for name in UNSUPPORTED_OPTIONS),
    ],
    return_annotation=None,
)
app.command()(main)


def run() -> None:
    """Console-script entry point: `simulate TRACE` replays a trace offline; anything else serves."""
    if len(sys.argv) > 1 and sys.argv[1] == SIMULATE_COMMAND:
        from mockcli.simulate import simulate_app  # noqa: PLC0415 - it imports this module

        simulate_app(sys.argv[2:], prog_name=f"{Path(sys.argv[0]).name} {SIMULATE_COMMAND}")
        return
    app()
