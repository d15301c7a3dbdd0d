"""NIM image retrieval (`POST /v1/infer`, `POST /v1/image/infer`): page elements found in images.

A request lists images as base64 data URLs (NIM takes PNG and JPEG, and fetches no links).
The core reads each image's bytes and its pixel size from the PNG or JPEG header; the adapter
decodes every image in full (Pillow) and refuses one that does not decode. Each image gets
bounding boxes of the page-elements classes (`table`, `chart`, `title`) drawn from a digest of
its bytes: a title at the top (on three pages in four), then up to two tables and two charts
stacked without overlap. Coordinates are normalised to 0-1 from the top-left corner and fall
on the image's pixel grid (x_min x width is a whole pixel, to 6 decimals), so the same image
always gets the same boxes and a different size moves them. The answer comes after
`--image-retrieval-base-latency` + `--image-retrieval-per-image-latency` x images
(`X-Mock-TTFT-Ms` replaces it).
"""

import base64
import binascii
import hashlib
from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec

from mockcore.decoding import decode_strictly
from mockcore.digest import derived_u64, derived_unit
from mockcore.errors import RequestError
from mockcore.overrides import NO_OVERRIDES, RequestOverrides
from mockcore.requests import ModelName
from mockcore.settings import Settings

ImageFormat = Literal["png", "jpeg"]
PAGE_ELEMENT_CLASSES: tuple[str, ...] = ("table", "chart", "title")
# Larger images are refused before any pixel is decoded (about 8K x 5K).
MAX_IMAGE_PIXELS = 40_000_000
_BYTES_PER_MB = 1_000_000
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_START = b"\xff\xd8"
# JPEG start-of-frame markers (they carry the size); C4, C8 and CC are other segments.
_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# JPEG markers that stand alone, without a length: TEM, RST0-7, SOI.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})
_BODY_TOP = 0.14
_BODY_BOTTOM = 0.96


class ImageInput(msgspec.Struct, kw_only=True):
    """One entry of `input`: NIM supports `image_url` parts only."""

    type: Literal["image_url"]
    url: str


class ImageRetrievalRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/infer` and `POST /v1/image/infer`."""

    input: Annotated[list[ImageInput], msgspec.Meta(min_length=1)]
    model: ModelName | None = None


class SentImage(msgspec.Struct, frozen=True, kw_only=True):
    """An image of a request: its bytes, format and pixel size (from its header), its digest."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    digest: bytes


class BoundingBox(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A detected element: corners normalised to 0-1 from the top-left, and a confidence."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    confidence: float


class ImageDetections(msgspec.Struct, frozen=True, kw_only=True):
    """The boxes of one image, by class (every class present, maybe with no box)."""

    index: int
    bounding_boxes: dict[str, tuple[BoundingBox, ...]]


class ImageRetrievalPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The answer: detections per image, the megabytes of image data, when it is due."""

    detections: tuple[ImageDetections, ...]
    images_size_mb: float
    response_offset_s: float


_DECODER = msgspec.json.Decoder(ImageRetrievalRequest)


def decode_image_request(body: bytes) -> ImageRetrievalRequest:
    """Decode strictly; a bad body is a `RequestError` naming the field."""
    return decode_strictly(_DECODER, body)


def data_url_bytes(url: str, param: str) -> bytes:
    """The bytes of a base64 `data:` URL; anything else is a `RequestError` naming `param`."""
    if not url.startswith("data:"):
        raise RequestError(
            f"`{param}` must be a base64 data URL (data:image/png;base64,...); "
            "this server does not fetch images from links.",
            param,
        )
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma or not header.lower().endswith(";base64"):
        raise RequestError(f"`{param}` must be a base64 data URL (data:image/png;base64,...).", param)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"The data of `{param}` is not valid base64.", param) from None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":  # noqa: PLR2004 - the IHDR chunk's end
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment, walking the segments from the start."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:  # noqa: PLR2004
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # noqa: PLR2004 - a fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _JPEG_FRAME_MARKERS:
            if position + 9 > len(data):
                return None
            height = int.from_bytes(data[position + 5 : position + 7], "big")
            width = int.from_bytes(data[position + 7 : position + 9], "big")
            return width, height
        if length < 2:  # noqa: PLR2004 - a length counts its own two bytes
            return None
        position += 2 + length
    return None


def sent_image(data: bytes, param: str) -> SentImage:
    """The format and size an image's header declares; not PNG or JPEG is a `RequestError`."""
    if data.startswith(_PNG_SIGNATURE):
        image_format: ImageFormat = "png"
        size = _png_size(data)
    elif data.startswith(_JPEG_START):
        image_format = "jpeg"
        size = _jpeg_size(data)
    else:
        raise RequestError(f"`{param}` is not a PNG or JPEG image (the formats NIM accepts).", param)
    if size is None or size[0] == 0 or size[1] == 0:
        raise RequestError(
            f"`{param}` is not a valid {image_format.upper()} image: its header has no size.", param
        )
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise RequestError(
            f"`{param}` is {width}x{height} pixels; this server accepts at most {MAX_IMAGE_PIXELS} pixels.",
            param,
        )
    return SentImage(
        data=data,
        format=image_format,
        width=width,
        height=height,
        # The bytes themselves are hashed (BLAKE2b, as `mockcore.digest`): no text to frame.
        digest=hashlib.blake2b(data, digest_size=32, person=b"page-image").digest(),
    )


def sent_images(request: ImageRetrievalRequest, settings: Settings) -> tuple[SentImage, ...]:
    """Every image of the request, read from its data URL; the request limits apply."""
    if len(request.input) > settings.max_request_items:
        raise RequestError(
            f"`input` has {len(request.input)} items; this server accepts at most "
            f"{settings.max_request_items} (--max-request-items).",
            "input",
        )
    images = []
    for index, item in enumerate(request.input):
        param = f"input[{index}].url"
        images.append(sent_image(data_url_bytes(item.url, param), param))
    return tuple(images)


def _on_grid(low: float, high: float, pixels: int) -> tuple[float, float]:
    """`low` and `high` (0-1) moved to whole pixels, at least one pixel apart, as 0-1 again."""
    first = min(max(round(low * pixels), 0), pixels - 1)
    last = min(max(round(high * pixels), first + 1), pixels)
    return round(first / pixels, 6), round(last / pixels, 6)


def _box(image: SentImage, salt: str, x: tuple[float, float], y: tuple[float, float]) -> BoundingBox:
    x_min, x_max = _on_grid(x[0], x[1], image.width)
    y_min, y_max = _on_grid(y[0], y[1], image.height)
    confidence = round(0.5 + 0.49 * derived_unit(image.digest, f"{salt}:conf".encode()), 4)
    return BoundingBox(x_min=x_min, y_min=y_min, x_max=x_max, y_max=y_max, confidence=confidence)


def detect_page_elements(image: SentImage, index: int) -> ImageDetections:
    """The boxes of one image: a pure function of its bytes (and its size, for the pixel grid)."""

    def unit(salt: str) -> float:
        return derived_unit(image.digest, salt.encode())

    boxes: dict[str, list[BoundingBox]] = {name: [] for name in PAGE_ELEMENT_CLASSES}
    if derived_u64(image.digest, b"title-count") % 4:
        top = 0.02 + 0.04 * unit("title:y")
        boxes["title"].append(
            _box(
                image,
                "title",
                (0.06 + 0.2 * unit("title:x0"), 0.6 + 0.34 * unit("title:x1")),
                (top, top + 0.03 + 0.05 * unit("title:h")),
            )
        )
    slots = ["table"] * (derived_u64(image.digest, b"table-count") % 3)
    slots += ["chart"] * (derived_u64(image.digest, b"chart-count") % 3)
    slots.sort(key=lambda name: derived_u64(image.digest, name.encode()))  # tables or charts first
    height = (_BODY_BOTTOM - _BODY_TOP) / max(len(slots), 1)
    for slot, name in enumerate(slots):
        salt = f"{name}:{slot}"
        top = _BODY_TOP + slot * height
        left = 0.04 + 0.12 * unit(f"{salt}:x0")
        right = left + (0.4 if name == "chart" else 0.6) * (0.75 + 0.25 * unit(f"{salt}:w"))
        boxes[name].append(
            _box(
                image,
                salt,
                (left, min(right, 0.97)),
                (top + 0.15 * height * unit(f"{salt}:y0"), top + height * (1 - 0.15 * unit(f"{salt}:y1"))),
            )
        )
    return ImageDetections(index=index, bounding_boxes={name: tuple(found) for name, found in boxes.items()})


def plan_image_retrieval(
    images: Sequence[SentImage], settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> ImageRetrievalPlan:
    """Detections for every image, in order, and when the answer is due."""
    if overrides.ttft_ms is not None:
        offset_s = overrides.ttft_ms / 1000.0
    else:
        per_image_ms = settings.image_retrieval_per_image_latency
        offset_s = (settings.image_retrieval_base_latency + per_image_ms * len(images)) / 1000.0
    return ImageRetrievalPlan(
        detections=tuple(detect_page_elements(image, index) for index, image in enumerate(images)),
        images_size_mb=round(sum(len(image.data) for image in images) / _BYTES_PER_MB, 6),
        response_offset_s=offset_s,
    )


def plan_image_retrieval_request(
    body: bytes, settings: Settings, overrides: RequestOverrides = NO_OVERRIDES
) -> tuple[ImageRetrievalPlan, tuple[SentImage, ...]]:
    """Decode, read the images and plan; the adapter still has the images' pixels to check."""
    images = sent_images(decode_image_request(body), settings)
    return plan_image_retrieval(images, settings, overrides), images
