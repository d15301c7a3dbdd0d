"""What an image shows: a procedural picture, every parameter drawn from a digest of the request.

A picture is a two-colour gradient (vertical, horizontal, diagonal or radial) under a few
translucent shapes (ellipses, rectangles, triangles); the higher the quality, the more
shapes. Positions are fractions of the width and height, so one picture renders at any
size. An edit lays the picture over the input image's pixels with `pattern_weight`. A
partial image (streaming) is the same picture part-drawn: fewer shapes, a fainter overlay.
"""

import colorsys
from typing import Literal

import msgspec

from mockcore.digest import derived_bytes, derived_unit
from mockcore.media.image_usage import Quality

GradientKind = Literal["vertical", "horizontal", "diagonal", "radial"]
ShapeKind = Literal["ellipse", "rectangle", "triangle"]
Rgb = tuple[int, int, int]
Rgba = tuple[int, int, int, int]

GRADIENT_KINDS: tuple[GradientKind, ...] = ("vertical", "horizontal", "diagonal", "radial")
SHAPE_KINDS: tuple[ShapeKind, ...] = ("ellipse", "rectangle", "triangle")
SHAPES_BY_QUALITY: dict[Quality, int] = {"low": 4, "medium": 7, "high": 12}
# An edit keeps this much of the input at least: the pattern's weight is drawn in [low, high).
EDIT_PATTERN_WEIGHT = (0.35, 0.6)
_BYTES_PER_SHAPE = 9
_BYTE_SCALE = 255.0
_WORD_SCALE = 65535.0


class ImageShape(msgspec.Struct, frozen=True):
    """One translucent shape: its kind, its box (left, top, right, bottom as fractions) and RGBA."""

    kind: ShapeKind
    box: tuple[float, float, float, float]
    colour: Rgba


class Picture(msgspec.Struct, frozen=True):
    """Everything that decides an image's pixels, apart from its size and an edit's input."""

    gradient: GradientKind
    start_colour: Rgb
    end_colour: Rgb
    shapes: tuple[ImageShape, ...]
    transparent: bool
    pattern_weight: float


def _rgb(hue: float, saturation: float, value: float) -> Rgb:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(red * 255), round(green * 255), round(blue * 255))


def _shape(draw: bytes) -> ImageShape:
    """A shape from `_BYTES_PER_SHAPE` bytes: kind, centre (two words), half-sizes, hue, alpha."""
    centre_x = int.from_bytes(draw[1:3], "little") / _WORD_SCALE
    centre_y = int.from_bytes(draw[3:5], "little") / _WORD_SCALE
    half_width = 0.04 + 0.26 * draw[5] / _BYTE_SCALE
    half_height = 0.04 + 0.26 * draw[6] / _BYTE_SCALE
    box = (
        round(centre_x - half_width, 4),
        round(centre_y - half_height, 4),
        round(centre_x + half_width, 4),
        round(centre_y + half_height, 4),
    )
    red, green, blue = _rgb(draw[7] / 256.0, 0.75, 0.95)
    alpha = 110 + draw[8] * 110 // 255
    return ImageShape(kind=SHAPE_KINDS[draw[0] % len(SHAPE_KINDS)], box=box, colour=(red, green, blue, alpha))


def picture_for(seed: bytes, quality: Quality, *, transparent: bool, edit: bool) -> Picture:
    """The picture of one image, drawn from `seed` (a digest of the request and the image's index)."""
    hue = derived_unit(seed, b"image-hue")
    start = _rgb(
        hue, 0.45 + 0.45 * derived_unit(seed, b"image-sat"), 0.8 + 0.2 * derived_unit(seed, b"image-val")
    )
    end_hue = hue + 0.33 + 0.33 * derived_unit(seed, b"image-hue2")
    end = _rgb(end_hue, 0.7, 0.25 + 0.3 * derived_unit(seed, b"image-val2"))
    gradient = GRADIENT_KINDS[int(derived_unit(seed, b"image-gradient") * len(GRADIENT_KINDS))]
    count = SHAPES_BY_QUALITY[quality]
    draws = derived_bytes(seed, b"image-shapes", count * _BYTES_PER_SHAPE)
    shapes = tuple(
        _shape(draws[index * _BYTES_PER_SHAPE : (index + 1) * _BYTES_PER_SHAPE]) for index in range(count)
    )
    low, high = EDIT_PATTERN_WEIGHT
    weight = round(low + (high - low) * derived_unit(seed, b"image-weight"), 4) if edit else 1.0
    return Picture(
        gradient=gradient,
        start_colour=start,
        end_colour=end,
        shapes=shapes,
        transparent=transparent,
        pattern_weight=weight,
    )


def partial_picture(picture: Picture, index: int, partial_images: int) -> Picture:
    """Partial image `index` (0-based) of `partial_images`: the first shapes, a fainter overlay.

    Partial k shows (k + 1) / (partial_images + 1) of the shapes and of an edit's weight,
    so each partial is closer to the final image than the one before.
    """
    steps = partial_images + 1
    shown = len(picture.shapes) * (index + 1) // steps
    weight = picture.pattern_weight
    if weight < 1.0:
        weight = weight * (index + 1) / steps
    return msgspec.structs.replace(picture, shapes=picture.shapes[:shown], pattern_weight=round(weight, 4))
