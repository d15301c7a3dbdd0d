"""The image routes' requests: `POST /v1/images/generations` (JSON) and `/v1/images/edits` (a form).

Field names, ranges and choices follow OpenAI's Images API; fields this server has no use
for (`moderation`, `style`, `user`) are still checked, so a client learns of a typo here
as it would there. Unknown fields are ignored.
"""

import typing
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from mockcore.decoding import decode_strictly
from mockcore.errors import RequestError, error_from_validation

ImageSizeName = Literal[
    "auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792"
]
RequestedQuality = Literal["auto", "low", "medium", "high", "standard", "hd"]
ResponseFormat = Literal["b64_json", "url"]
OutputFormat = Literal["png", "jpeg", "webp"]
RequestedBackground = Literal["transparent", "opaque", "auto"]
Moderation = Literal["low", "auto"]
Style = Literal["vivid", "natural"]
InputFidelity = Literal["high", "low"]

MAX_PROMPT_CHARS = 32000
MAX_IMAGES = 10
MAX_PARTIAL_IMAGES = 3
MAX_INPUT_IMAGES = 16

Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PROMPT_CHARS)]
ImageCount = Annotated[int, msgspec.Meta(ge=1, le=MAX_IMAGES)]
PartialImages = Annotated[int, msgspec.Meta(ge=0, le=MAX_PARTIAL_IMAGES)]
Compression = Annotated[int, msgspec.Meta(ge=0, le=100)]


class ImageOptions(msgspec.Struct, kw_only=True):
    """What a generation and an edit both take, in the order of OpenAI's reference."""

    prompt: Prompt
    model: str | None = None
    n: ImageCount | None = None
    size: ImageSizeName | None = None
    quality: RequestedQuality | None = None
    response_format: ResponseFormat | None = None
    output_format: OutputFormat | None = None
    output_compression: Compression | None = None
    background: RequestedBackground | None = None
    stream: bool | None = None
    partial_images: PartialImages | None = None
    user: str | None = None
    safety_identifier: str | None = None
    moderation: Moderation | None = None


class ImageGenerationRequest(ImageOptions, kw_only=True):
    """`POST /v1/images/generations`."""

    style: Style | None = None


class ImageEditRequest(ImageOptions, kw_only=True):
    """The text fields of `POST /v1/images/edits` (the image and mask travel as file parts).

    `url` names the image to edit instead of a file part (SGLang's extension, which aiperf
    sends when its dataset holds image URLs): a `data:` URL, or an image this server
    served by URL.
    """

    input_fidelity: InputFidelity | None = None
    url: str | None = None


_GENERATION_DECODER = msgspec.json.Decoder(ImageGenerationRequest)
# The accepted values of each field with a fixed set, to list them when a value is not one.
_CHOICES: dict[str, tuple[str, ...]] = {
    "size": typing.get_args(ImageSizeName),
    "quality": typing.get_args(RequestedQuality),
    "response_format": typing.get_args(ResponseFormat),
    "output_format": typing.get_args(OutputFormat),
    "background": typing.get_args(RequestedBackground),
    "moderation": typing.get_args(Moderation),
    "style": typing.get_args(Style),
    "input_fidelity": typing.get_args(InputFidelity),
}


def _explained(exc: msgspec.ValidationError) -> RequestError:
    """The validation error, with the accepted values when a field's value is not one of them."""
    error = error_from_validation(exc)
    choices = _CHOICES.get(error.param or "")
    if choices is not None and "enum value" in error.message:
        return RequestError(
            f"{error.message}; `{error.param}` must be one of: {', '.join(choices)}.", error.param
        )
    return error


def decode_generation_request(body: bytes) -> ImageGenerationRequest:
    """The JSON body of a generation request; RequestError (400) naming the bad field."""
    return decode_strictly(_GENERATION_DECODER, body, _explained)


def edit_request_from_fields(fields: Mapping[str, str]) -> ImageEditRequest:
    """The text fields of an edit form, converted as a form's strings are ("2" is 2, "true" is True)."""
    try:
        return msgspec.convert(dict(fields), ImageEditRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise _explained(exc) from None
