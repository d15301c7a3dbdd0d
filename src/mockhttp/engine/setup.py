"""From settings to a running engine: the model profile (a built-in, or a file read here) and its config."""

import time
from pathlib import Path

from mockcore.engine import EngineConfig, ModelProfile, builtin_profile, profile_from_document
from mockcore.engine.from_settings import engine_config, is_profile_file
from mockcore.settings import Settings
from mockhttp.engine.local import LocalEngine
from mockhttp.engine.port import EnginePort
from mockhttp.engine.remote import RemoteEngine
from mockhttp.engine.trace_log import TraceLog


def load_profile(name: str) -> ModelProfile:
    """The built-in profile `name`, or the TOML/JSON profile at that path (`ProfileError`/`OSError`)."""
    if is_profile_file(name):
        path = Path(name)
        return profile_from_document(path.read_text(encoding="utf-8"), toml=path.suffix.lower() == ".toml")
    return builtin_profile(name)


def config_for(settings: Settings) -> EngineConfig:
    """The engine `settings` ask for (`--engine` must be set); raises if it cannot run."""
    assert settings.engine is not None  # noqa: S101 - callers check
    config = engine_config(settings, load_profile(settings.engine))
    config.check_fits()
    return config


def engine_for(settings: Settings, engine_socket: str | None = None) -> EnginePort | None:
    """The engine `--engine` asks for: the engine process at `engine_socket`, else one in-process."""
    if settings.engine is None:
        return None
    if engine_socket:
        return RemoteEngine(engine_socket, time.monotonic)
    trace = TraceLog(settings.engine_trace) if settings.engine_trace else None
    return LocalEngine(config_for(settings), time.monotonic, trace)
