"""Process management: the shared state file, the worker environment and Granian."""

import os
import time
from pathlib import Path

import msgspec
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.mp import MPServer

from mockcli.engine_process import start_engine_process, stop_engine_process
from mockcli.logs import logging_dictconfig, wants_json
from mockcore import Settings
from mockhttp.app import FAULT_SEED_ENV, GPU_SEED_ENV, SETTINGS_ENV, STARTED_AT_ENV, STATE_FILE_ENV
from mockhttp.engine.remote import ENGINE_SOCKET_ENV, engine_socket_path
from mockhttp.media_store import remove_media_directory
from mockhttp.services import seed_or_fresh
from mockhttp.shared_state import create_shared_state_file

WORKER_TARGET = "mockcli.worker:create_worker_app"
# The kernel's accept queue and Granian's per-worker connection cap: a load test opens
# thousands of concurrent streams, far beyond Granian's default of backlog // workers.
LISTEN_BACKLOG = 4096
CONNECTIONS_PER_WORKER = 8192
# How long in-flight responses get to finish after SIGINT/SIGTERM.
SHUTDOWN_GRACE_S = 30


def worker_environment(settings: Settings, state_file: Path) -> dict[str, str]:
    """What every worker needs: settings, the state file, seeds and a start time, drawn once for all."""
    return {
        STARTED_AT_ENV: repr(time.time()),
        SETTINGS_ENV: msgspec.json.encode(settings).decode(),
        STATE_FILE_ENV: str(state_file),
        FAULT_SEED_ENV: str(seed_or_fresh(settings.random_seed)),
        GPU_SEED_ENV: str(seed_or_fresh(settings.dcgm_seed)),
    }


def build_server(settings: Settings) -> MPServer:
    """Granian over ASGI with uvloop, sized for thousands of streams."""
    level = settings.effective_log_level
    return MPServer(
        WORKER_TARGET,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        # HTTP/1.1 only: in "auto" mode a connection that never sends a byte waits for protocol
        # detection forever, and the header timeout never starts.
        http=HTTPModes.http1,
        workers=settings.workers,
        loop=Loops.uvloop,
        websockets=False,
        backlog=LISTEN_BACKLOG,
        backpressure=CONNECTIONS_PER_WORKER,
        log_enabled=True,
        log_level=LogLevels(level.lower()),
        log_dictconfig=logging_dictconfig(level, wants_json()),
        log_access=False,
        http1_settings=HTTP1Settings(header_read_timeout=round(settings.header_timeout * 1000)),
        respawn_failed_workers=True,
        workers_kill_timeout=SHUTDOWN_GRACE_S,
    )


def serve(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM; the state file is removed on the way out."""
    state_file = create_shared_state_file()
    engine_process = None
    socket_path = engine_socket_path(state_file)
    try:
        os.environ.update(worker_environment(settings, state_file))
        if settings.engine is not None and settings.workers > 1:
            engine_process = start_engine_process(settings, socket_path)
            os.environ[ENGINE_SOCKET_ENV] = str(socket_path)
        build_server(settings).serve()
    finally:
        if engine_process is not None:
            stop_engine_process(engine_process, socket_path)
        state_file.unlink(missing_ok=True)
        remove_media_directory(state_file)
