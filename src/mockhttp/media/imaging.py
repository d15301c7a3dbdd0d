"""Pillow: decode an edit's uploads, draw a planned picture, encode PNG, JPEG or WebP.

Imported only when an image route first needs it (Pillow comes with the `media` extra).
Everything here is CPU work meant to run in a worker thread, never on the event loop, and it
keeps to the Pillow calls that let go of the GIL while they work (see `saved_file` and
`mixed`), so the loop is not kept waiting for it. Encoding is deterministic: the same plan
gives the same bytes.
"""

import contextlib
import functools
import io
import os
import tempfile
from collections.abc import Sequence
from typing import IO, Any

from PIL import Image, ImageChops, ImageDraw, ImageOps, UnidentifiedImageError

from mockcore.errors import RequestError
from mockcore.media.image_pictures import ImageShape, Picture
from mockcore.media.image_requests import OutputFormat
from mockcore.media.images import ImagePlan, ImageSize

# Formats an upload may be in; Pillow's other plugins (EPS through Ghostscript, ...) stay off.
DECODABLE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_FORMAT_NAMES = "PNG, JPEG, WebP, GIF or BMP"
MAX_INPUT_PIXELS = 4096 * 4096
# zlib level 1: a few times faster than the default 6, and these pictures compress well anyway.
PNG_COMPRESS_LEVEL = 1
WEBP_METHOD = 2  # 0 (fastest) to 6 (smallest)
_GRADIENT_SIDE = 256  # Pillow's gradients are 256 x 256; they are stretched to the image
_GRADIENT_CACHE = 16
_ENCODED_CACHE = 64
_TRANSPARENT_MODES = {"RGBA", "LA", "PA"}


def _scratch_file() -> IO[bytes]:
    """A file in memory with a real descriptor (a temporary file where there is no memfd)."""
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):  # a sandbox may refuse the call
            return open(os.memfd_create("mock-image"), "w+b")
    return tempfile.TemporaryFile()


def saved_file(image: Image.Image, image_format: str, **params: Any) -> bytes:
    """`image` saved as `image_format`, via a file descriptor rather than a BytesIO.

    Pillow encodes into a descriptor with the GIL released (into a BytesIO it holds the GIL
    for the whole encode: 3-5 ms for a 1024x1024 JPEG, during which the event loop cannot
    run); the bytes are the same either way.
    """
    with _scratch_file() as file:
        image.save(file, image_format, **params)
        file.seek(0)
        return file.read()


def mixed(base: Image.Image, other: Image.Image, weight: float) -> Image.Image:
    """`other` over `base` at `weight` (0-1, in steps of 1/255): `Image.blend` without its GIL hold.

    A paste through a constant mask gives the same mix (rounded to the mask's 8 bits) and
    lets go of the GIL while it works; `Image.blend` holds it (1.5 ms at 1024x1024).
    """
    result = base.copy()
    result.paste(other, None, Image.new("L", base.size, round(weight * 255)))
    return result


def decode_upload(content: bytes, param: str) -> Image.Image:
    """The image in `content`, fully loaded; RequestError (400, naming `param`) if it is not one."""
    try:
        with Image.open(io.BytesIO(content), formats=DECODABLE_FORMATS) as opened:
            if opened.width * opened.height > MAX_INPUT_PIXELS:
                size = f"{opened.width}x{opened.height}"
                msg = f"The image `{param}` is {size}: more than {MAX_INPUT_PIXELS} pixels."
                raise RequestError(msg, param)
            opened.load()
            return opened.copy()
    except RequestError:
        raise
    except UnidentifiedImageError:
        msg = f"The file `{param}` is not an image in a format this server reads ({_FORMAT_NAMES})."
        raise RequestError(msg, param) from None
    except Exception as exc:  # noqa: BLE001 - any failure to decode untrusted bytes is the client's 400
        msg = f"The file `{param}` could not be decoded as an image: {exc}."
        raise RequestError(msg, param) from None


def decode_edit_uploads(
    images: Sequence[bytes], mask: bytes | None
) -> tuple[list[Image.Image], Image.Image | None]:
    """The edit's images in RGBA and its mask as the edit region (255: edit, 0: keep).

    The mask's alpha says where to edit (transparent: edit), or its grey level for a mask
    without alpha; it must be the size of the first image, as OpenAI requires.
    """
    decoded = [decode_upload(content, "image").convert("RGBA") for content in images]
    if mask is None or not decoded:
        return decoded, None
    mask_image = decode_upload(mask, "mask")
    if mask_image.size != decoded[0].size:
        width, height = decoded[0].size
        mask_size = f"{mask_image.width}x{mask_image.height}"
        msg = f"The mask is {mask_size}; it must be the size of the image, {width}x{height}."
        raise RequestError(msg, "mask")
    if mask_image.mode in _TRANSPARENT_MODES or "transparency" in mask_image.info:
        keep = mask_image.convert("RGBA").getchannel("A")
    else:
        keep = mask_image.convert("L")
    return decoded, ImageOps.invert(keep)


@functools.lru_cache(maxsize=_GRADIENT_CACHE)
def _gradient_mask(kind: str, width: int, height: int) -> Image.Image:
    """The weight of the end colour at each pixel (read-only: the cache shares it)."""
    if kind == "radial":
        base = Image.radial_gradient("L")
    else:
        vertical = Image.linear_gradient("L")
        horizontal = vertical.transpose(Image.Transpose.ROTATE_90)
        base = {"vertical": vertical, "horizontal": horizontal}.get(kind) or ImageChops.add(
            vertical, horizontal, scale=2.0
        )
    return base.resize((width, height), Image.Resampling.BILINEAR)


def _draw_shape(
    draw: ImageDraw.ImageDraw, shape: ImageShape, size: ImageSize, fill: int | tuple[int, ...]
) -> None:
    left, top, right, bottom = shape.box
    box = (left * size.width, top * size.height, right * size.width, bottom * size.height)
    if shape.kind == "ellipse":
        draw.ellipse(box, fill=fill)
    elif shape.kind == "rectangle":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([(box[0], box[3]), ((box[0] + box[2]) / 2, box[1]), (box[2], box[3])], fill=fill)


def draw_picture(picture: Picture, size: ImageSize) -> Image.Image:
    """The picture at `size`: the gradient under its shapes in RGB, or the shapes alone in RGBA.

    The shapes are drawn plainly (no blending) into a colour layer and a coverage mask (each
    shape's alpha), then laid over the gradient in one paste: Pillow blends a translucent
    fill while holding the GIL (tens of milliseconds for large shapes, which would stall
    the event loop), but pastes without it. Where shapes overlap, the later one covers.
    """
    dimensions = (size.width, size.height)
    colours = Image.new("RGB", dimensions)
    coverage = Image.new("L", dimensions, 0)
    colour_pen, coverage_pen = ImageDraw.Draw(colours), ImageDraw.Draw(coverage)
    for shape in picture.shapes:
        _draw_shape(colour_pen, shape, size, shape.colour[:3])
        _draw_shape(coverage_pen, shape, size, shape.colour[3])
    if picture.transparent:
        colours.putalpha(coverage)
        return colours
    start = Image.new("RGB", dimensions, picture.start_colour)
    end = Image.new("RGB", dimensions, picture.end_colour)
    canvas = Image.composite(end, start, _gradient_mask(picture.gradient, size.width, size.height))
    canvas.paste(colours, (0, 0), coverage)
    return canvas


def edit_base(inputs: Sequence[Image.Image], size: ImageSize, *, transparent: bool) -> Image.Image:
    """The inputs resized to `size` and averaged: what every picture of an edit is laid over."""
    dimensions = (size.width, size.height)
    mode = "RGBA" if transparent else "RGB"
    base = inputs[0].resize(dimensions, Image.Resampling.BILINEAR).convert(mode)
    for count, other in enumerate(inputs[1:], start=2):
        resized = other.resize(dimensions, Image.Resampling.BILINEAR).convert(mode)
        base = mixed(base, resized, 1.0 / count)
    return base


def edited_picture(picture: Picture, base: Image.Image, region: Image.Image | None) -> Image.Image:
    """The picture over `base` at its weight; only inside `region` (255: edit) when there is one."""
    size = ImageSize(width=base.width, height=base.height)
    edited = mixed(base, draw_picture(picture, size).convert(base.mode), picture.pattern_weight)
    if region is None:
        return edited
    return Image.composite(edited, base, region.resize(base.size, Image.Resampling.NEAREST))


def encode_image(image: Image.Image, output_format: OutputFormat, compression: int) -> bytes:
    """The image as a file: lossless PNG, or JPEG / WebP at quality `compression` (0-100)."""
    if output_format == "png":
        return saved_file(image, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    if output_format == "jpeg":
        return saved_file(image.convert("RGB"), "JPEG", quality=compression)
    return saved_file(image, "WEBP", quality=compression, method=WEBP_METHOD)


def _flattened(image: Image.Image, picture: Picture) -> Image.Image:
    return image if picture.transparent else image.convert("RGB")


@functools.lru_cache(maxsize=_ENCODED_CACHE)
def _encoded_picture(
    picture: Picture, size: ImageSize, output_format: OutputFormat, compression: int
) -> bytes:
    """A generated picture's file; repeated requests (one prompt, many times) encode it once."""
    return encode_image(_flattened(draw_picture(picture, size), picture), output_format, compression)


def render_images(
    plan: ImagePlan, inputs: Sequence[Image.Image] = (), region: Image.Image | None = None
) -> list[tuple[list[bytes], bytes]]:
    """Per planned image, its partial images' files and its final file, in the plan's format."""
    base = edit_base(inputs, plan.size, transparent=plan.background == "transparent") if inputs else None
    rendered = []
    for planned in plan.images:
        files = []
        for picture in (*planned.partials, planned.picture):
            if base is None:
                encoded = _encoded_picture(picture, plan.size, plan.output_format, plan.output_compression)
            else:
                image = edited_picture(picture, base, region)
                encoded = encode_image(image, plan.output_format, plan.output_compression)
            files.append(encoded)
        rendered.append((files[:-1], files[-1]))
    return rendered
