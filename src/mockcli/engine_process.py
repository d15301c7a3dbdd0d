"""The engine simulation's place in the process tree: checked at start, one process for many workers."""

import multiprocessing
import os
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import msgspec

from mockcli.config import ConfigError
from mockcore import Settings
from mockcore.engine import ProfileError
from mockhttp.engine.remote import run_engine_process
from mockhttp.engine.setup import config_for

# How long the engine process may take to start listening.
ENGINE_START_TIMEOUT_S = 30.0


def check_engine(settings: Settings) -> None:
    """`ConfigError` for an `--engine` the server cannot run, or an `--engine-trace` it cannot write.

    A profile that does not exist or parse, a model that does not fit; a trace path in a
    directory that is not writable (checked without creating the file).
    """
    if settings.engine is None:
        return
    try:
        config_for(settings)
    except (ProfileError, OSError, ValueError) as error:
        raise ConfigError(f"--engine {settings.engine}: {error}") from None
    if settings.engine_trace is not None:
        trace = Path(settings.engine_trace)
        writable = os.access(trace, os.W_OK) if trace.exists() else os.access(trace.parent, os.W_OK)
        if trace.is_dir() or not writable:
            raise ConfigError(f"--engine-trace {settings.engine_trace}: the server cannot write to this file")


def start_engine_process(settings: Settings, socket_path: Path) -> BaseProcess:
    """Start the one engine every worker shares, and wait until it listens on `socket_path`."""
    config = config_for(settings)
    socket_path.unlink(missing_ok=True)
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=run_engine_process,
        args=(str(socket_path), msgspec.json.encode(config), settings.engine_trace),
        name="aiperf-mock-server-engine",
        daemon=True,
    )
    process.start()
    deadline = time.monotonic() + ENGINE_START_TIMEOUT_S
    while not socket_path.exists():
        if not process.is_alive() or time.monotonic() > deadline:
            process.terminate()
            raise RuntimeError("the engine process did not start")
        time.sleep(0.02)
    return process


def stop_engine_process(process: BaseProcess, socket_path: Path) -> None:
    """Stop the engine process and remove its socket."""
    process.terminate()
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
    socket_path.unlink(missing_ok=True)
