"""What an image costs: its quality's latency factor and its tokens, as OpenAI counts them.

Output tokens follow OpenAI's table for GPT Image 1 at its three sizes (low 272 / 408 / 400,
medium 1056 / 1584 / 1568, high 4160 / 6240 / 6208 tokens for 1024x1024 / 1024x1536 /
1536x1024); any other size costs its area times the square's rate. An input image (an edit)
costs what OpenAI's vision models charge: 85 tokens plus 170 per 512-pixel tile once the
image is scaled to fit 2048x2048 and its short side is at most 768 pixels.
"""

import math
from typing import Literal

import msgspec

from mockcore.media.image_requests import RequestedQuality

Quality = Literal["low", "medium", "high"]

SQUARE_PIXELS = 1024 * 1024
# The latency of an image at each quality, relative to medium.
QUALITY_LATENCY_FACTORS: dict[Quality, float] = {"low": 0.5, "medium": 1.0, "high": 2.0}
_RESOLVED_QUALITY: dict[RequestedQuality, Quality] = {
    "auto": "medium",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "standard": "medium",  # DALL-E's names
    "hd": "high",
}
_OUTPUT_TOKENS: dict[tuple[Quality, int, int], int] = {
    ("low", 1024, 1024): 272,
    ("low", 1024, 1536): 408,
    ("low", 1536, 1024): 400,
    ("medium", 1024, 1024): 1056,
    ("medium", 1024, 1536): 1584,
    ("medium", 1536, 1024): 1568,
    ("high", 1024, 1024): 4160,
    ("high", 1024, 1536): 6240,
    ("high", 1536, 1024): 6208,
}
_VISION_BASE_TOKENS = 85
_VISION_TILE_TOKENS = 170
_VISION_TILE_PIXELS = 512
_VISION_FIT_PIXELS = 2048
_VISION_SHORT_SIDE_PIXELS = 768


class InputTokensDetails(msgspec.Struct, frozen=True):
    """The prompt's text tokens and its input images' tokens."""

    text_tokens: int
    image_tokens: int


class OutputTokensDetails(msgspec.Struct, frozen=True):
    """Every output token of an image route is an image token."""

    image_tokens: int
    text_tokens: int = 0


class ImageUsage(msgspec.Struct, frozen=True):
    """`usage` of an images response (and of a stream's `completed` events), OpenAI's shape."""

    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    total_tokens: int
    output_tokens_details: OutputTokensDetails


def resolved_quality(requested: RequestedQuality | None) -> Quality:
    """The GPT Image quality a request gets: `auto` and DALL-E's `standard` are medium, `hd` high."""
    return _RESOLVED_QUALITY[requested or "auto"]


def image_output_tokens(width: int, height: int, quality: Quality) -> int:
    """The output tokens of one image: OpenAI's table, else the square's rate times the area."""
    listed = _OUTPUT_TOKENS.get((quality, width, height))
    if listed is not None:
        return listed
    return max(1, round(_OUTPUT_TOKENS[quality, 1024, 1024] * width * height / SQUARE_PIXELS))


def input_image_tokens(width: int, height: int) -> int:
    """The tokens of one input image at OpenAI's vision rates (85 + 170 per 512-pixel tile)."""
    scale = min(1.0, _VISION_FIT_PIXELS / max(width, height))
    fitted_width, fitted_height = width * scale, height * scale
    scale = min(1.0, _VISION_SHORT_SIDE_PIXELS / min(fitted_width, fitted_height))
    fitted_width, fitted_height = fitted_width * scale, fitted_height * scale
    tiles = math.ceil(fitted_width / _VISION_TILE_PIXELS) * math.ceil(fitted_height / _VISION_TILE_PIXELS)
    return _VISION_BASE_TOKENS + _VISION_TILE_TOKENS * tiles


def image_usage(text_tokens: int, image_tokens: int, output_tokens: int) -> ImageUsage:
    """The usage block of a request with these token counts."""
    input_tokens = text_tokens + image_tokens
    return ImageUsage(
        input_tokens=input_tokens,
        input_tokens_details=InputTokensDetails(text_tokens=text_tokens, image_tokens=image_tokens),
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        output_tokens_details=OutputTokensDetails(image_tokens=output_tokens),
    )
