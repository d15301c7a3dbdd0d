"""Every option of the server, with its valid range, in one frozen Struct.

The Struct is the single source of truth: the CLI builds it from flags and environment
variables, validation happens by converting into it, `/health` renders it, and the CLI's
help text and error messages read the ranges from its field metadata.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from mockcore.faults.mix import DEFAULT_FAULT_MIX, parse_fault_mix

GpuModelId = Literal["rtx6000", "a100", "h100", "h100-sxm", "h200", "b200", "gb200"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

GPU_MODEL_IDS: tuple[str, ...] = ("rtx6000", "a100", "h100", "h100-sxm", "h200", "b200", "gb200")
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The profile `--scheduler-enabled` turns the engine on with.
DEFAULT_ENGINE_PROFILE = "llama-3.1-8b"
# The engine's roofline defaults: the fraction of peak arithmetic (MFU) and of peak memory
# bandwidth (MBU) a step achieves, and the fixed cost of a step (scheduling, kernel launches,
# sampling). Calibrated against published vLLM figures in docs/engine.md.
DEFAULT_MFU = 0.5
DEFAULT_MBU = 0.8
DEFAULT_STEP_OVERHEAD_MS = 0.6
# What `--fast` sets to 0, as the reference server's fast mode does.
FAST_ZEROED: tuple[str, ...] = (
    "ttft",
    "itl",
    "embedding_base_latency",
    "embedding_per_input_latency",
    "ranking_base_latency",
    "ranking_per_passage_latency",
    "image_retrieval_base_latency",
    "image_retrieval_per_image_latency",
    "image_base_latency",
    "image_latency_per_megapixel",
    "video_render_latency",
    "transcription_real_time_factor",
)


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The effective configuration of one server (all workers share it)."""

    port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="TCP port to listen on")] = 8000
    host: Annotated[str, msgspec.Meta(min_length=1, description="address to bind")] = "127.0.0.1"
    workers: Annotated[int, msgspec.Meta(ge=1, le=32, description="worker processes")] = 1
    ttft: Annotated[float, msgspec.Meta(ge=0, description="time to first token, milliseconds")] = 20.0
    itl: Annotated[float, msgspec.Meta(ge=0, description="inter-token latency, milliseconds")] = 5.0
    ttft_per_isl_token_ms: Annotated[
        float, msgspec.Meta(ge=0, description="TTFT added per prompt token, milliseconds (prefill cost)")
    ] = 0.0
    ttft_concurrency_quad_ms: Annotated[
        float,
        msgspec.Meta(
            ge=0, description="TTFT added per (requests in flight, server-wide) squared, milliseconds"
        ),
    ] = 0.0
    itl_per_osl_token_ms: Annotated[
        float, msgspec.Meta(ge=0, description="ITL added per planned output token, milliseconds")
    ] = 0.0
    itl_concurrency_lin_ms: Annotated[
        float, msgspec.Meta(ge=0, description="ITL added per request in flight (server-wide), milliseconds")
    ] = 0.0
    ttft_jitter_cv: Annotated[
        float,
        msgspec.Meta(
            ge=0, le=10, description="coefficient of variation of a log-normal TTFT factor (mean 1)"
        ),
    ] = 0.0
    itl_jitter_cv: Annotated[
        float,
        msgspec.Meta(
            ge=0, le=10, description="coefficient of variation of a log-normal factor on each ITL gap"
        ),
    ] = 0.0
    engine: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1,
                description="simulate a continuous-batching engine serving this model profile "
                "(llama-3.1-8b, llama-3.1-70b, mixtral-8x7b, qwen3-0.6b, or a .toml/.json file); "
                "TTFT and ITL then come from it",
            ),
        ]
        | None
    ) = None
    tensor_parallel: Annotated[
        int, msgspec.Meta(ge=1, le=8, description="GPUs (of --dcgm-gpu-name) the engine's model spans")
    ] = 1
    max_num_seqs: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                le=65536,
                description="engine: most sequences in one batch (unset: vLLM's default for the GPU)",
            ),
        ]
        | None
    ) = None
    max_num_batched_tokens: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                le=1 << 20,
                description="engine: most tokens one step computes (unset: vLLM's default for the GPU)",
            ),
        ]
        | None
    ) = None
    gpu_memory_utilization: Annotated[
        float, msgspec.Meta(gt=0, le=1, description="engine: fraction of GPU memory for weights and KV cache")
    ] = 0.9
    max_waiting_requests: (
        Annotated[
            int, msgspec.Meta(ge=0, description="engine: waiting-queue length past which requests get 429")
        ]
        | None
    ) = None
    enable_prefix_caching: Annotated[
        bool, msgspec.Meta(description="engine: reuse the KV blocks of shared prompt prefixes")
    ] = True
    engine_mfu: Annotated[
        float, msgspec.Meta(gt=0, le=1, description="engine: fraction of peak FLOP/s a step achieves")
    ] = DEFAULT_MFU
    engine_mbu: Annotated[
        float,
        msgspec.Meta(gt=0, le=1, description="engine: fraction of peak memory bandwidth a step achieves"),
    ] = DEFAULT_MBU
    engine_step_overhead_ms: Annotated[
        float, msgspec.Meta(ge=0, description="engine: fixed cost of every step, milliseconds")
    ] = DEFAULT_STEP_OVERHEAD_MS
    engine_trace: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1,
                description="engine: append every arrival to this file as a Mooncake trace line "
                "(replay it with `simulate --hash-block-tokens 16`)",
            ),
        ]
        | None
    ) = None
    scheduler_enabled: Annotated[
        bool,
        msgspec.Meta(
            description="the reference's batch scheduler: turns --engine on (llama-3.1-8b if unset)"
        ),
    ] = False
    scheduler_step_ms: Annotated[
        float,
        msgspec.Meta(ge=0, description="the reference's step time: here the engine's step-time floor, ms"),
    ] = 0.0
    scheduler_max_batch_size: (
        Annotated[int, msgspec.Meta(ge=1, description="the reference's batch size: sets --max-num-seqs")]
        | None
    ) = None
    scheduler_max_prefill_chunks_per_step: (
        Annotated[int, msgspec.Meta(ge=1, description="engine: sequences whose prefill advances per step")]
        | None
    ) = None
    scheduler_prefill_chunk_tokens: (
        Annotated[int, msgspec.Meta(ge=1, description="engine: prefill tokens one sequence takes per step")]
        | None
    ) = None
    scheduler_goodput_collapse_enabled: Annotated[
        bool, msgspec.Meta(description="engine: the batch shrinks when the engine is overloaded (reference)")
    ] = False
    scheduler_goodput_collapse_threshold: Annotated[
        float,
        msgspec.Meta(ge=0, description="engine: overload (requests / batch size) where collapse starts"),
    ] = 1.5
    scheduler_goodput_collapse_slope: Annotated[
        float, msgspec.Meta(ge=0, description="engine: batch shrink per unit of overload past the threshold")
    ] = 0.5
    scheduler_goodput_collapse_floor: Annotated[
        float, msgspec.Meta(ge=0, le=1, description="engine: smallest batch, as a fraction of the batch size")
    ] = 0.3
    fast: Annotated[
        bool, msgspec.Meta(description="every latency 0: TTFT, ITL and the retrieval latencies")
    ] = False
    embedding_base_latency: (
        Annotated[
            float,
            msgspec.Meta(ge=0, description="embeddings answer after this, milliseconds (unset: the TTFT)"),
        ]
        | None
    ) = None
    embedding_per_input_latency: (
        Annotated[
            float,
            msgspec.Meta(ge=0, description="embedding latency added per input, milliseconds (unset: 0)"),
        ]
        | None
    ) = None
    ranking_base_latency: (
        Annotated[
            float,
            msgspec.Meta(ge=0, description="ranking answers after this, milliseconds (unset: the TTFT)"),
        ]
        | None
    ) = None
    ranking_per_passage_latency: (
        Annotated[
            float,
            msgspec.Meta(ge=0, description="ranking latency added per passage, milliseconds (unset: 0)"),
        ]
        | None
    ) = None
    image_retrieval_base_latency: Annotated[
        float, msgspec.Meta(ge=0, description="image retrieval base latency, milliseconds")
    ] = 10.0
    image_retrieval_per_image_latency: Annotated[
        float, msgspec.Meta(ge=0, description="image retrieval latency added per image, milliseconds")
    ] = 5.0
    image_base_latency: Annotated[
        float, msgspec.Meta(ge=0, description="an image generation or edit answers after this, milliseconds")
    ] = 200.0
    image_latency_per_megapixel: Annotated[
        float,
        msgspec.Meta(
            ge=0,
            description="image latency added per megapixel of each image at medium quality, milliseconds",
        ),
    ] = 800.0
    video_render_latency: Annotated[
        float,
        msgspec.Meta(ge=0, description="video render time per second of video per megapixel, milliseconds"),
    ] = 1000.0
    transcription_real_time_factor: Annotated[
        float,
        msgspec.Meta(ge=0, le=100, description="a transcription takes this times the audio's duration"),
    ] = 0.02
    media_max_upload_bytes: Annotated[
        int,
        msgspec.Meta(
            ge=1024, le=1 << 30, description="largest accepted media upload (multipart body), bytes"
        ),
    ] = 25 * 1024 * 1024
    media_threads: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=16,
            description="threads per worker that draw, encode and decode media (0: one, or two when"
            " the worker has three or more cores to itself)",
        ),
    ] = 0
    error_rate: Annotated[
        float, msgspec.Meta(ge=0, le=100, description="percentage of inference requests that fail")
    ] = 0.0
    random_seed: Annotated[
        int | None, msgspec.Meta(description="seed of the fault sequence and of the latency jitter")
    ] = None
    fault_mix: Annotated[
        str, msgspec.Meta(min_length=1, description="weights of the fault kinds, as kind=weight,...")
    ] = DEFAULT_FAULT_MIX
    fault_delay_seconds: Annotated[
        float,
        msgspec.Meta(
            ge=0, le=600, description="how long a stall or slow_headers fault holds the answer, seconds"
        ),
    ] = 2.0
    control_headers: Annotated[
        bool, msgspec.Meta(description="honour the X-Mock-* request headers (per-request faults and timing)")
    ] = True
    admin_key: (
        Annotated[
            str,
            msgspec.Meta(min_length=1, description="enable /admin/config, guarded by `X-Admin-Key: <key>`"),
        ]
        | None
    ) = None
    log_level: Annotated[LogLevel, msgspec.Meta(description="log level")] = "INFO"
    verbose: Annotated[bool, msgspec.Meta(description="DEBUG logging (overrides --log-level)")] = False
    access_logs: Annotated[bool, msgspec.Meta(description="one structured log line per request")] = False
    replica_name: Annotated[
        str,
        msgspec.Meta(
            max_length=253,
            description="this replica's name (unset: $POD_NAME): the DCGM hostname and GPU identity "
            "derive from it",
        ),
    ] = ""
    seed_from_ordinal: Annotated[
        bool,
        msgspec.Meta(
            description="the fault seed is --random-seed (0 if unset) plus the ordinal ending the "
            "replica name (StatefulSet pods)"
        ),
    ] = False
    dcgm_gpu_name: Annotated[GpuModelId, msgspec.Meta(description="simulated GPU model")] = "h200"
    dcgm_num_gpus: Annotated[int, msgspec.Meta(ge=1, le=8, description="GPUs per DCGM endpoint")] = 2
    dcgm_initial_load: Annotated[
        float, msgspec.Meta(ge=0.0, le=1.0, description="GPU load before any traffic (0 idle, 1 full)")
    ] = 0.7
    dcgm_hostname: Annotated[
        str, msgspec.Meta(min_length=1, description="Hostname label of the DCGM metrics")
    ] = "localhost"
    dcgm_seed: Annotated[int | None, msgspec.Meta(description="seed of GPU ids, offsets and noise")] = None
    dcgm_auto_load: Annotated[
        bool, msgspec.Meta(description="GPU load follows the traffic (off: --dcgm-initial-load throughout)")
    ] = True
    dcgm_min_throughput: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100_000, description="tokens/s below which throughput never counts as full load"
        ),
    ] = 100
    dcgm_window_sec: Annotated[
        float,
        msgspec.Meta(ge=0.1, le=60, description="window the token throughput is measured over, seconds"),
    ] = 1.0
    default_model: Annotated[
        str,
        msgspec.Meta(
            min_length=1, description="model /v1/models lists and the engine metrics are labelled with"
        ),
    ] = "mock-model"
    disable_models_endpoint: Annotated[bool, msgspec.Meta(description="/v1/models answers 404")] = False
    models_ready_delay_seconds: Annotated[
        float, msgspec.Meta(ge=0, description="/v1/models lists no model for this long after start, seconds")
    ] = 0.0
    inference_ready_delay_seconds: Annotated[
        float,
        msgspec.Meta(ge=0, description="inference routes answer 503 for this long after start, seconds"),
    ] = 0.0
    no_tokenizer: Annotated[
        bool, msgspec.Meta(description="accepted for the reference's command line; the tokenizer never loads")
    ] = False
    api_key: (
        Annotated[
            str, msgspec.Meta(min_length=1, description="require the key on the inference and /v1 routes")
        ]
        | None
    ) = None
    auth_header_name: Annotated[
        str,
        msgspec.Meta(
            min_length=1, description="header that carries the --api-key (value: key or Bearer key)"
        ),
    ] = "Authorization"
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

    def __post_init__(self) -> None:
        """Check the fault mix; `--fast` zeroes every latency, as the reference server does."""
        parse_fault_mix(self.fault_mix)
        if self.fast:
            for name in FAST_ZEROED:
                msgspec.structs.force_setattr(self, name, 0.0)
        if self.scheduler_enabled and self.engine is None:
            msgspec.structs.force_setattr(self, "engine", DEFAULT_ENGINE_PROFILE)

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
SECRET_FIELDS = ("api_key", "admin_key")


def settings_as_config(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON-ready values, as `/health`, `/` and the logs show them.

    The API and admin keys are secrets: they show as "<redacted>" when set, never as themselves.
    """
    config: dict[str, Any] = msgspec.to_builtins(settings)
    for secret in SECRET_FIELDS:
        if config[secret] is not None:
            config[secret] = REDACTED
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
