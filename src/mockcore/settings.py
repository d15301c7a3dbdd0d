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
    served_model_name: Annotated[
        str,
        msgspec.Meta(min_length=1, description="model name the engine metrics (/metrics) are labelled with"),
    ] = "mock-model"
    api_key: (
        Annotated[
            str, msgspec.Meta(min_length=1, description="require `Authorization: Bearer <key>` on /v1 routes")
        ]
        | None
    ) = None
    max_request_bytes: Annotated[
        int, msgspec.Meta(ge=1024, le=1 << 30, description="largest request body, bytes (413 above)")
    ] = 10 * 1024 * 1024
    max_request_items: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=1_000_000, description="most messages, prompts, inputs or passages in one request"
        ),
    ] = 4096
    max_prompt_chars: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=1_000_000_000, description="most prompt characters in one request (a token id counts 4)"
        ),
    ] = 4_000_000
    max_output_tokens: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100_000_000, description="largest max_tokens or min_tokens a request may ask for"
        ),
    ] = 131_072
    max_concurrent_streams: Annotated[
        int, msgspec.Meta(ge=1, le=1_000_000, description="streams per worker at once (429 above)")
    ] = 10_000
    header_timeout: Annotated[
        float,
        msgspec.Meta(ge=1, le=60, description="seconds a connection may take to send its request headers"),
    ] = 30.0

    @property
    def effective_log_level(self) -> LogLevel:
        """`--verbose` wins over `--log-level`, as the seed document says."""
        return "DEBUG" if self.verbose else self.log_level


def settings_from_mapping(values: dict[str, Any]) -> Settings:
    """Build Settings from loosely typed values (strings from the environment are coerced).

    Raises `msgspec.ValidationError` naming the offending field.
    """
    return msgspec.convert(values, Settings, strict=False)


REDACTED = "<redacted>"


def settings_as_config(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-ready values, as `/health`, `/` and the logs show them.

    The API key is a secret: it shows as "<redacted>" when set, never as itself.
    """
    config: dict[str, Any] = msgspec.to_builtins(settings)
    if settings.api_key is not None:
        config["api_key"] = REDACTED
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
