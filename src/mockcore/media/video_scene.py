"""What a video shows: a procedural animation, every parameter drawn from a digest of the prompt.

A scene is a vertical two-colour gradient with a few shapes (ellipses and rectangles) that
drift at constant speed and bounce off the edges, and a bar along the bottom that grows with
the time played (so a viewer sees the clip's length). Positions are fractions of the free
space, so one scene renders at any size; the same prompt gives the same scene at every size
and length. The video runs at `FRAMES_PER_SECOND`: low, so that encoding stays cheap.

The thumbnail is the first frame; the spritesheet is one small tile per second of video,
`SPRITE_COLUMNS` to a row.
"""

import colorsys
import math
from typing import Literal

import msgspec

from mockcore.digest import derived_bytes, digest_texts

ShapeKind = Literal["ellipse", "rectangle"]
Rgb = tuple[int, int, int]
YCbCr = tuple[int, int, int]

FRAMES_PER_SECOND = 8
THUMBNAIL_FRAME = 0
SPRITE_COLUMNS = 4
SPRITE_SCALE = 8  # a spritesheet tile is the frame divided by this, each way
MIN_SHAPES = 3
MAX_SHAPES = 6
SHAPE_KINDS: tuple[ShapeKind, ...] = ("ellipse", "rectangle")
_SCENE_PERSON = b"mock-video"
_BYTES_PER_SHAPE = 8
_BYTE = 255.0
_MIN_SIZE, _MAX_SIZE = 0.08, 0.24  # a shape's side, as a share of the frame's shorter side
_MIN_SPEED, _MAX_SPEED = 0.08, 0.35  # crossings of the free space per second


class MovingShape(msgspec.Struct, frozen=True, kw_only=True):
    """One shape: kind, colour, side (share of the shorter side), start and speed (shares of travel)."""

    kind: ShapeKind
    colour: Rgb
    size: float
    start_x: float
    start_y: float
    speed_x: float
    speed_y: float


class VideoScene(msgspec.Struct, frozen=True, kw_only=True):
    """Everything that decides a video's pixels, apart from its size and length."""

    top_colour: Rgb
    bottom_colour: Rgb
    bar_colour: Rgb
    shapes: tuple[MovingShape, ...]


class PlacedShape(msgspec.Struct, frozen=True, kw_only=True):
    """A shape in one frame: its box in pixels (left, top inclusive; right, bottom exclusive)."""

    kind: ShapeKind
    colour: Rgb
    left: int
    top: int
    right: int
    bottom: int


class FrameLayout(msgspec.Struct, frozen=True, kw_only=True):
    """What one frame draws over the gradient: the shapes in order, then the time bar."""

    shapes: tuple[PlacedShape, ...]
    bar_width: int
    bar_height: int
    bar_colour: Rgb


class SpriteSheetLayout(msgspec.Struct, frozen=True, kw_only=True):
    """The spritesheet's grid: tiles of the given frames, left to right, top to bottom."""

    columns: int
    rows: int
    tile_width: int
    tile_height: int
    frame_indices: tuple[int, ...]


def _rgb(hue: float, saturation: float, value: float) -> Rgb:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return (round(red * _BYTE), round(green * _BYTE), round(blue * _BYTE))


def _share(byte: int, low: float, high: float) -> float:
    return low + (high - low) * byte / _BYTE


def _shape(draw: bytes) -> MovingShape:
    """A shape from `_BYTES_PER_SHAPE` bytes: kind, hue, side, start (x, y), speeds (x, y), signs."""
    signs = draw[7]
    return MovingShape(
        kind=SHAPE_KINDS[draw[0] % len(SHAPE_KINDS)],
        colour=_rgb(draw[1] / 256.0, 0.75, 0.95),
        size=_share(draw[2], _MIN_SIZE, _MAX_SIZE),
        start_x=draw[3] / 256.0,
        start_y=draw[4] / 256.0,
        speed_x=_share(draw[5], _MIN_SPEED, _MAX_SPEED) * (1 if signs & 1 else -1),
        speed_y=_share(draw[6], _MIN_SPEED, _MAX_SPEED) * (1 if signs & 2 else -1),
    )


def video_scene(prompt: str) -> VideoScene:
    """The scene of `prompt`: the same prompt always gives the same scene."""
    digest = digest_texts([prompt], person=_SCENE_PERSON)
    head = derived_bytes(digest, b"scene", 4)
    count = MIN_SHAPES + head[0] % (MAX_SHAPES - MIN_SHAPES + 1)
    hue = head[1] / 256.0
    draws = derived_bytes(digest, b"shapes", count * _BYTES_PER_SHAPE)
    return VideoScene(
        top_colour=_rgb(hue, 0.65, 0.22 + 0.2 * head[2] / 256.0),
        bottom_colour=_rgb(hue + 0.12, 0.55, 0.55 + 0.3 * head[3] / 256.0),
        bar_colour=_rgb(hue + 0.5, 0.2, 1.0),
        shapes=tuple(
            _shape(draws[index * _BYTES_PER_SHAPE : (index + 1) * _BYTES_PER_SHAPE]) for index in range(count)
        ),
    )


def frame_count(seconds: int) -> int:
    """Frames in a video of `seconds` seconds."""
    return seconds * FRAMES_PER_SECOND


def _bounce(start: float, speed: float, time_s: float) -> float:
    """A point moving at `speed` from `start` in [0, 1], reflected at both ends."""
    phase = (start + speed * time_s) % 2.0
    return 2.0 - phase if phase > 1.0 else phase


def frame_layout(scene: VideoScene, width: int, height: int, index: int, frames: int) -> FrameLayout:
    """Frame `index` of `frames` at `width` x `height`: where each shape is, how long the bar is."""
    time_s = index / FRAMES_PER_SECOND
    shorter = min(width, height)
    placed = []
    for shape in scene.shapes:
        side = max(round(shape.size * shorter), 1)
        left = round(_bounce(shape.start_x, shape.speed_x, time_s) * (width - side))
        top = round(_bounce(shape.start_y, shape.speed_y, time_s) * (height - side))
        placed.append(
            PlacedShape(
                kind=shape.kind, colour=shape.colour, left=left, top=top, right=left + side, bottom=top + side
            )
        )
    return FrameLayout(
        shapes=tuple(placed),
        bar_width=round(width * (index + 1) / frames),
        bar_height=max(math.ceil(height / 90), 2),
        bar_colour=scene.bar_colour,
    )


def gradient_colour(scene: VideoScene, row: int, rows: int) -> Rgb:
    """The background colour of `row` of `rows` (top to bottom)."""
    weight = row / max(rows - 1, 1)
    top, bottom = scene.top_colour, scene.bottom_colour
    return (
        round(top[0] + (bottom[0] - top[0]) * weight),
        round(top[1] + (bottom[1] - top[1]) * weight),
        round(top[2] + (bottom[2] - top[2]) * weight),
    )


def bt709_ycbcr(colour: Rgb) -> YCbCr:
    """`colour` in BT.709 limited-range Y'CbCr, the colour space the MP4 declares."""
    red, green, blue = (channel / _BYTE for channel in colour)
    luma = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return (
        round(16 + 219 * luma),
        round(128 + 224 * (blue - luma) / 1.8556),
        round(128 + 224 * (red - luma) / 1.5748),
    )


def spritesheet_layout(seconds: int, width: int, height: int) -> SpriteSheetLayout:
    """One tile per second of video (its first frame), `SPRITE_COLUMNS` tiles to a row."""
    columns = min(seconds, SPRITE_COLUMNS)
    return SpriteSheetLayout(
        columns=columns,
        rows=math.ceil(seconds / columns),
        tile_width=max(width // SPRITE_SCALE, 1),
        tile_height=max(height // SPRITE_SCALE, 1),
        frame_indices=tuple(second * FRAMES_PER_SECOND for second in range(seconds)),
    )
