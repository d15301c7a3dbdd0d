"""The `aiperf-mock-server` command.

Options are taken as raw strings and validated once, through the Settings Struct, so that
every invalid value, from a flag or from the environment, gets the same one-line error
(Typer's own range checks cannot name the value and the whole range).
"""

import os
import sys
from typing import Annotated

import structlog
import typer

from mockcli.config import ConfigError, resolve_settings
from mockcli.logs import configure_logging, wants_json
from mockcli.options import option_help
from mockcli.server import serve
from mockcore.settings import settings_as_config

EXIT_INVALID_OPTION = 2

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="OpenAI-compatible mock inference server with simulated latency and DCGM telemetry.",
)


@app.command()
def main(  # noqa: PLR0917 - Typer reads options from the signature
    port: Annotated[str | None, typer.Option("--port", "-p", metavar="INT", help=option_help("port"))] = None,
    host: Annotated[str | None, typer.Option("--host", metavar="ADDRESS", help=option_help("host"))] = None,
    workers: Annotated[
        str | None, typer.Option("--workers", "-w", metavar="INT", help=option_help("workers"))
    ] = None,
    ttft: Annotated[str | None, typer.Option("--ttft", "-t", metavar="MS", help=option_help("ttft"))] = None,
    itl: Annotated[str | None, typer.Option("--itl", metavar="MS", help=option_help("itl"))] = None,
    error_rate: Annotated[
        str | None, typer.Option("--error-rate", metavar="PERCENT", help=option_help("error_rate"))
    ] = None,
    random_seed: Annotated[
        str | None, typer.Option("--random-seed", metavar="INT", help=option_help("random_seed"))
    ] = None,
    log_level: Annotated[
        str | None, typer.Option("--log-level", metavar="LEVEL", help=option_help("log_level"))
    ] = None,
    verbose: Annotated[bool | None, typer.Option("--verbose", "-v", help=option_help("verbose"))] = None,
    access_logs: Annotated[
        bool | None, typer.Option("--access-logs", help=option_help("access_logs"))
    ] = None,
    dcgm_gpu_name: Annotated[
        str | None, typer.Option("--dcgm-gpu-name", metavar="MODEL", help=option_help("dcgm_gpu_name"))
    ] = None,
    dcgm_num_gpus: Annotated[
        str | None, typer.Option("--dcgm-num-gpus", metavar="INT", help=option_help("dcgm_num_gpus"))
    ] = None,
    dcgm_initial_load: Annotated[
        str | None, typer.Option("--dcgm-initial-load", metavar="LOAD", help=option_help("dcgm_initial_load"))
    ] = None,
    dcgm_hostname: Annotated[
        str | None, typer.Option("--dcgm-hostname", metavar="NAME", help=option_help("dcgm_hostname"))
    ] = None,
    dcgm_seed: Annotated[
        str | None, typer.Option("--dcgm-seed", metavar="INT", help=option_help("dcgm_seed"))
    ] = None,
) -> None:
    """Start the mock server (every option also reads MOCK_SERVER_<OPTION> from the environment)."""
    flags = dict(locals())
    try:
        settings = resolve_settings(flags, os.environ)
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


def run() -> None:
    """Console-script entry point."""
    app()
