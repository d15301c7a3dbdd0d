"""Every option of the server, with its valid range, in one frozen Struct.

The Struct is the single source of truth: the CLI builds it from flags and environment
variables, validation happens by converting into it, `/health` renders it, and the CLI's
help text and error messages read the ranges from its field metadata.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

GpuModelId = Literal["rtx6000", "a100", "h100", "h100-sxm", "h200", "b200", "gb200"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

GPU_MODEL_IDS: tuple[str, ...] = ("rtx6000", "a100", "h100", "h100-sxm", "h200", "b200", "gb200")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The effective configuration of one server (all workers share it)."""

    port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="TCP port to listen on")] = 8000
    host: Annotated[str, msgspec.Meta(min_length=1, description="address to bind")] = "127.0.0.1"
    workers: Annotated[int, msgspec.Meta(ge=1, le=32, description="worker processes")] = 1
    ttft: Annotated[float, msgspec.Meta(ge=0, description="time to first token, milliseconds")] = 20.0
    itl: Annotated[float, msgspec.Meta(ge=0, description="inter-token latency, milliseconds")] = 5.0
    error_rate: Annotated[
        float, msgspec.Meta(ge=0, le=100, description="percentage of inference requests that fail")
    ] = 0.0
    random_seed: Annotated[int | None, msgspec.Meta(description="seed of the fault sequence")] = None
    log_level: Annotated[LogLevel, msgspec.Meta(description="log level")] = "INFO"
    verbose: Annotated[bool, msgspec.Meta(description="DEBUG logging (overrides --log-level)")] = False
    access_logs: Annotated[bool, msgspec.Meta(description="one structured log line per request")] = False
    dcgm_gpu_name: Annotated[GpuModelId, msgspec.Meta(description="simulated GPU model")] = "h200"
    dcgm_num_gpus: Annotated[int, msgspec.Meta(ge=1, le=8, description="GPUs per DCGM endpoint")] = 2
    dcgm_initial_load: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="GPU load before any traffic (0 idle, 1 full)")
    ] = 0.7
    dcgm_hostname: Annotated[
        str, msgspec.Meta(min_length=1, description="Hostname label of the DCGM metrics")
    ] = "localhost"
    dcgm_seed: Annotated[int | None, msgspec.Meta(description="seed of GPU ids, offsets and noise")] = None

    @property
    def effective_log_level(self) -> LogLevel:
        """`--verbose` wins over `--log-level`, as the seed document says."""
        return "DEBUG" if self.verbose else self.log_level


def settings_from_mapping(values: dict[str, Any]) -> Settings:
    """Build Settings from loosely typed values (strings from the environment are coerced).

    Raises `msgspec.ValidationError` naming the offending field.
    """
    return msgspec.convert(values, Settings, strict=False)


def settings_as_config(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-ready values, as `/health` and `/` show them."""
    config: dict[str, Any] = msgspec.to_builtins(settings)
    return config


ENV_PREFIX = "MOCK_SERVER_"


def environment_variable(field_name: str) -> str:
    """The environment variable of an option: `dcgm_gpu_name` -> `MOCK_SERVER_DCGM_GPU_NAME`."""
    return f"{ENV_PREFIX}{field_name.upper()}"


def settings_values_from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The `MOCK_SERVER_*` values present in `environ`, keyed by Settings field name."""
    return {
        name: environ[environment_variable(name)]
        for name in Settings.__struct_fields__
        if environment_variable(name) in environ
    }
