"""Model profiles: the shape of a served model, which is all the engine's physics needs.

A step's cost comes from the parameters read and multiplied (weights), the KV cache read
per sequence (layers x KV heads x head dimension) and the attention arithmetic (layers x
attention heads x head dimension). The built-in numbers are those of each model's published
`config.json` on the Hugging Face Hub and its model card:

- `llama-3.1-8b`: meta-llama/Llama-3.1-8B-Instruct: 8.03 B parameters, 32 layers, 32
  attention heads, 8 KV heads of 128 dimensions (grouped-query attention).
- `llama-3.1-70b`: meta-llama/Llama-3.1-70B-Instruct: 70.6 B parameters, 80 layers, 64
  attention heads, 8 KV heads of 128.
- `mixtral-8x7b`: mistralai/Mixtral-8x7B-Instruct-v0.1: 46.7 B parameters of which 12.9 B
  are active per token (2 of 8 experts), 32 layers, 32 attention heads, 8 KV heads of 128.
- `qwen3-0.6b`: Qwen/Qwen3-0.6B: 0.6 B parameters, 28 layers, 16 attention heads, 8 KV heads
  of 128 (a model small enough that the step overhead, not the GPU, sets the pace).

A custom profile is a small TOML or JSON document with the same fields (`profile_from_document`).
"""

import json
import tomllib
from types import MappingProxyType
from typing import Annotated, Literal

import msgspec

DType = Literal["bf16", "fp16", "fp8", "int8", "fp32"]
DTYPE_BYTES: MappingProxyType[str, float] = MappingProxyType(
    {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp32": 4.0}
)

_Positive = msgspec.Meta(gt=0)


class ProfileError(ValueError):
    """A model profile that does not exist or does not parse."""


class ModelProfile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One served model, in the units a roofline model needs."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    parameters: Annotated[float, _Positive]
    layers: Annotated[int, _Positive]
    attention_heads: Annotated[int, _Positive]
    kv_heads: Annotated[int, _Positive]
    head_dim: Annotated[int, _Positive]
    # Parameters used per token: all of them for a dense model, the shared part plus the
    # routed experts for a mixture of experts. None means dense.
    active_parameters: Annotated[float, _Positive] | None = None
    dtype: DType = "bf16"
    # Where the numbers come from (the docs cite it for each built-in profile).
    source: str = ""

    def __post_init__(self) -> None:
        if self.active_parameters is not None and self.active_parameters > self.parameters:
            raise ValueError("active_parameters cannot exceed parameters")
        if self.kv_heads > self.attention_heads:
            raise ValueError("kv_heads cannot exceed attention_heads")

    @property
    def dtype_bytes(self) -> float:
        """Bytes per weight and per KV element."""
        return DTYPE_BYTES[self.dtype]

    @property
    def active(self) -> float:
        """Parameters multiplied per token."""
        return self.parameters if self.active_parameters is None else self.active_parameters

    @property
    def weight_bytes(self) -> float:
        """Bytes of all the weights (what must fit in GPU memory)."""
        return self.parameters * self.dtype_bytes

    @property
    def kv_bytes_per_token(self) -> float:
        """Bytes of K and V one token keeps in the cache, all layers."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * self.dtype_bytes

    @property
    def attention_flops_per_context_token(self) -> float:
        """FLOPs one new token spends on attention per token of context (QK^T and AV)."""
        return 4.0 * self.layers * self.attention_heads * self.head_dim


_HF = "config.json and model card on the Hugging Face Hub"
BUILTIN_PROFILES: MappingProxyType[str, ModelProfile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (
            ModelProfile(
                name="llama-3.1-8b",
                parameters=8.03e9,
                layers=32,
                attention_heads=32,
                kv_heads=8,
                head_dim=128,
                source=f"meta-llama/Llama-3.1-8B-Instruct {_HF}",
            ),
            ModelProfile(
                name="llama-3.1-70b",
                parameters=70.6e9,
                layers=80,
                attention_heads=64,
                kv_heads=8,
                head_dim=128,
                source=f"meta-llama/Llama-3.1-70B-Instruct {_HF}",
            ),
            ModelProfile(
                name="mixtral-8x7b",
                parameters=46.7e9,
                active_parameters=12.9e9,
                layers=32,
                attention_heads=32,
                kv_heads=8,
                head_dim=128,
                source=f"mistralai/Mixtral-8x7B-Instruct-v0.1 {_HF}",
            ),
            ModelProfile(
                name="qwen3-0.6b",
                parameters=0.6e9,
                layers=28,
                attention_heads=16,
                kv_heads=8,
                head_dim=128,
                source=f"Qwen/Qwen3-0.6B {_HF}",
            ),
        )
    }
)


def profile_from_document(text: str, *, toml: bool) -> ModelProfile:
    """Parse a custom profile (TOML, or JSON when `toml` is False); `ProfileError` if it is wrong."""
    try:
        raw = tomllib.loads(text) if toml else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ProfileError(f"the model profile does not parse: {error}") from None
    try:
        return msgspec.convert(raw, ModelProfile)
    except (msgspec.ValidationError, ValueError) as error:
        raise ProfileError(f"the model profile is invalid: {error}") from None


def builtin_profile(name: str) -> ModelProfile:
    """A built-in profile by name; `ProfileError` naming the choices otherwise."""
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        choices = ", ".join(BUILTIN_PROFILES)
        raise ProfileError(
            f"unknown model profile {name!r}; built in: {choices} (or a .toml/.json file)"
        ) from None
