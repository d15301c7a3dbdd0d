"""The plan of an image generation or edit: every image's size and picture, the timing, the usage.

The plan decides everything a client can observe apart from the encoded bytes, which follow
from it: the adapter renders each planned picture at the plan's size and format. Latency is
`image_base_latency` plus, per image, `image_latency_per_megapixel` x its megapixels x its
quality's factor (low 0.5, medium 1, high 2); images are ready one after the other, and a
stream's partial images are spread evenly over the time of the image they belong to.
"""

import hashlib
from collections.abc import Sequence
from typing import Literal

import msgspec

from mockcore.digest import digest_texts
from mockcore.errors import RequestError
from mockcore.media.image_pictures import Picture, partial_picture, picture_for
from mockcore.media.image_requests import (
    MAX_INPUT_IMAGES,
    ImageEditRequest,
    ImageGenerationRequest,
    ImageOptions,
    ImageSizeName,
    OutputFormat,
    RequestedBackground,
    ResponseFormat,
)
from mockcore.media.image_usage import (
    QUALITY_LATENCY_FACTORS,
    ImageUsage,
    Quality,
    image_output_tokens,
    image_usage,
    input_image_tokens,
    resolved_quality,
)
from mockcore.settings import Settings
from mockcore.tokenizer import count_tokens

ImageOperation = Literal["generation", "edit"]
Background = Literal["opaque", "transparent"]

DEFAULT_OUTPUT_COMPRESSION = 100
_PIXELS_PER_MEGAPIXEL = 1_000_000
# The sizes `auto` chooses among for an edit: the one nearest the input's aspect ratio.
_AUTO_EDIT_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
_TRANSPARENT_FORMATS: tuple[OutputFormat, ...] = ("png", "webp")


class ImageSize(msgspec.Struct, frozen=True):
    """Width and height in pixels."""

    width: int
    height: int

    @property
    def name(self) -> str:
        """`WIDTHxHEIGHT`, as the API writes a size."""
        return f"{self.width}x{self.height}"

    @property
    def megapixels(self) -> float:
        """Millions of pixels."""
        return self.width * self.height / _PIXELS_PER_MEGAPIXEL


class InputImage(msgspec.Struct, frozen=True):
    """An edit's input as the core needs it: its decoded size and a digest of its bytes."""

    width: int
    height: int
    digest: bytes


class PlannedImage(msgspec.Struct, frozen=True):
    """One image of the answer: its picture, its stream's partial pictures, and when each is due."""

    index: int
    picture: Picture
    partials: tuple[Picture, ...]
    partial_offsets_s: tuple[float, ...]
    ready_offset_s: float


class ImagePlan(msgspec.Struct, frozen=True):
    """Everything an image request's answer will be; `latency_s` is when its last image is due."""

    operation: ImageOperation
    size: ImageSize
    quality: Quality
    background: Background
    output_format: OutputFormat
    output_compression: int
    response_format: ResponseFormat
    stream: bool
    partial_images: int
    images: tuple[PlannedImage, ...]
    latency_s: float
    usage: ImageUsage
    safety_identifier: str | None


def input_image(width: int, height: int, content: bytes) -> InputImage:
    """An edit's input image, identified by a digest of its bytes."""
    return InputImage(width=width, height=height, digest=hashlib.blake2b(content, digest_size=16).digest())


def size_of(name: str) -> ImageSize:
    """The size `WIDTHxHEIGHT` names."""
    width, height = name.split("x")
    return ImageSize(width=int(width), height=int(height))


def generation_size(name: ImageSizeName | None) -> ImageSize:
    """A generation's size: as asked, `auto` being 1024x1024."""
    return size_of("1024x1024" if name in {None, "auto"} else str(name))


def edit_size(name: ImageSizeName | None, first_input: InputImage) -> ImageSize:
    """An edit's size: as asked, `auto` being the standard size nearest the input's aspect ratio."""
    if name not in {None, "auto"}:
        return size_of(str(name))
    aspect = first_input.width / first_input.height
    width, height = min(_AUTO_EDIT_SIZES, key=lambda size: abs(size[0] / size[1] - aspect))
    return ImageSize(width=width, height=height)


def image_latency_ms(size: ImageSize, quality: Quality, settings: Settings) -> float:
    """The time one image of `size` at `quality` adds: per megapixel, scaled by the quality."""
    return settings.image_latency_per_megapixel * size.megapixels * QUALITY_LATENCY_FACTORS[quality]


def _background(requested: RequestedBackground | None, output_format: OutputFormat) -> Background:
    if requested != "transparent":
        return "opaque"
    if output_format not in _TRANSPARENT_FORMATS:
        msg = f"A transparent background needs output_format png or webp, not {output_format}."
        raise RequestError(msg, "background")
    return "transparent"


def _safety_identifier(request: ImageOptions) -> str | None:
    """A non-empty `safety_identifier`, else the deprecated `user`, as OpenAI echoes it."""
    return request.safety_identifier or request.user or None


def _plan(
    operation: ImageOperation,
    request: ImageOptions,
    size: ImageSize,
    inputs: Sequence[InputImage],
    settings: Settings,
) -> ImagePlan:
    quality = resolved_quality(request.quality)
    output_format: OutputFormat = request.output_format or "png"
    background = _background(request.background, output_format)
    stream = bool(request.stream)
    partial_images = (request.partial_images or 0) if stream else 0
    count = request.n or 1
    per_image_s = image_latency_ms(size, quality, settings) / 1000.0
    started_s = settings.image_base_latency / 1000.0
    input_texts = [input_.digest.hex() for input_ in inputs]
    images = []
    for index in range(count):
        seed = digest_texts(
            [operation, request.prompt, str(index), size.name, quality, background, *input_texts],
            person=b"mock-image",
        )
        transparent = background == "transparent"
        picture = picture_for(seed, quality, transparent=transparent, edit=operation == "edit")
        steps = partial_images + 1
        offsets = tuple(started_s + per_image_s * (k + 1) / steps for k in range(partial_images))
        images.append(
            PlannedImage(
                index=index,
                picture=picture,
                partials=tuple(partial_picture(picture, k, partial_images) for k in range(partial_images)),
                partial_offsets_s=offsets,
                ready_offset_s=started_s + per_image_s,
            )
        )
        started_s += per_image_s
    text_tokens = count_tokens(request.prompt)
    image_tokens = sum(input_image_tokens(input_.width, input_.height) for input_ in inputs)
    output_tokens = count * image_output_tokens(size.width, size.height, quality)
    return ImagePlan(
        operation=operation,
        size=size,
        quality=quality,
        background=background,
        output_format=output_format,
        output_compression=DEFAULT_OUTPUT_COMPRESSION
        if request.output_compression is None
        else request.output_compression,
        response_format=request.response_format or "b64_json",
        stream=stream,
        partial_images=partial_images,
        images=tuple(images),
        latency_s=started_s,
        usage=image_usage(text_tokens, image_tokens, output_tokens),
        safety_identifier=_safety_identifier(request),
    )


def plan_image_generation(request: ImageGenerationRequest, settings: Settings) -> ImagePlan:
    """The plan of `POST /v1/images/generations`; RequestError for a combination it cannot serve."""
    return _plan("generation", request, generation_size(request.size), (), settings)


def plan_image_edit(request: ImageEditRequest, inputs: Sequence[InputImage], settings: Settings) -> ImagePlan:
    """The plan of `POST /v1/images/edits` over its decoded input images (the first is edited)."""
    if not inputs:
        msg = "An image to edit is required: send it as the file part `image` (or `image[]`)."
        raise RequestError(msg, "image")
    if len(inputs) > MAX_INPUT_IMAGES:
        msg = f"At most {MAX_INPUT_IMAGES} images can be edited together, not {len(inputs)}."
        raise RequestError(msg, "image")
    return _plan("edit", request, edit_size(request.size, inputs[0]), inputs, settings)
