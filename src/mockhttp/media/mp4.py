"""A video job's files: the MP4 (H.264, yuv420p, by PyAV's libx264), its thumbnail and spritesheet.

The core's scene says what each frame shows; this module draws it. Frames are drawn
straight into the three Y'CbCr planes (Pillow, one 8-bit image per plane; chroma at half
size), so no colour conversion runs per frame, then encoded with x264's fastest preset. The
output is deterministic: one encoder thread, no B-frames or look-ahead (`zerolatency`), and
FFmpeg's bit-exact flags keep version strings and timestamps out of the container, so the
same job gives the same bytes (for one build of PyAV). The thumbnail is the first frame as
WebP (PyAV's libwebp, from the same planes) and the spritesheet small RGB tiles as JPEG
(Pillow): the formats OpenAI serves for those variants.

Imported only when a route first needs a file: PyAV and Pillow come with the `media` extra.
CPU-bound; callers run it in a worker thread. PyAV releases the GIL while FFmpeg encodes, and
the Python work per frame is short, so the event loop keeps running meanwhile.
"""

import functools
import io
from collections.abc import Callable

import av
from PIL import Image, ImageDraw

from mockcore.media.video import VideoJob
from mockcore.media.video_scene import (
    FRAMES_PER_SECOND,
    THUMBNAIL_FRAME,
    FrameLayout,
    Rgb,
    VideoScene,
    bt709_ycbcr,
    frame_count,
    frame_layout,
    gradient_colour,
    spritesheet_layout,
    video_scene,
)
from mockhttp.media.imaging import saved_file

X264_OPTIONS = {
    "preset": "ultrafast",
    "tune": "zerolatency",
    "crf": "26",
    "x264-params": "colorprim=bt709:transfer=bt709:colormatrix=bt709",
}
WEBP_OPTIONS = {"quality": "80", "compression_level": "2"}
KEYFRAME_INTERVAL_S = 2
SPRITESHEET_QUALITY = 85
_PIXEL_FORMAT = "yuv420p"
_CHROMA_SUBSAMPLING = 2  # yuv420p: chroma planes are half the width and half the height
_BIT_EXACT = {"fflags": "+bitexact"}

Fill = int | tuple[int, int, int]


def _draw_layout(
    image: Image.Image, layout: FrameLayout, height: int, scale: int, fill: Callable[[Rgb], Fill]
) -> None:
    """Draw the shapes and the time bar of `layout` (frame pixels; `height` tall) at 1/`scale`."""
    draw = ImageDraw.Draw(image)
    for shape in layout.shapes:
        box = (
            shape.left // scale,
            shape.top // scale,
            (shape.right - 1) // scale,
            (shape.bottom - 1) // scale,
        )
        if shape.kind == "ellipse":
            draw.ellipse(box, fill=fill(shape.colour))
        else:
            draw.rectangle(box, fill=fill(shape.colour))
    if layout.bar_width > 0:
        bar = (
            0,
            (height - layout.bar_height) // scale,
            (layout.bar_width - 1) // scale,
            (height - 1) // scale,
        )
        draw.rectangle(bar, fill=fill(layout.bar_colour))


def _stretched(mode: str, column: bytes, width: int, rows: int) -> Image.Image:
    """A one-pixel column of row colours stretched to `width` (in C, not per pixel)."""
    return Image.frombytes(mode, (1, rows), column).resize((width, rows), Image.Resampling.NEAREST)


def _ycbcr_component(plane: int, colour: Rgb) -> int:
    return bt709_ycbcr(colour)[plane]


class _PlanePainter:
    """Draws frames of one scene at one size straight into yuv420p `VideoFrame`s."""

    def __init__(self, scene: VideoScene, width: int, height: int, frames: int) -> None:
        self._scene = scene
        self._width = width
        self._height = height
        self._frames = frames
        rows = [bt709_ycbcr(gradient_colour(scene, row, height)) for row in range(height)]
        template = av.VideoFrame(width, height, _PIXEL_FORMAT)
        self._backgrounds = []
        for plane, (line_size, plane_rows) in enumerate((p.line_size, p.height) for p in template.planes):
            scale = 1 if plane == 0 else _CHROMA_SUBSAMPLING
            column = bytes(rows[row * scale][plane] for row in range(plane_rows))
            self._backgrounds.append(_stretched("L", column, line_size, plane_rows))

    def frame(self, index: int) -> av.VideoFrame:
        """Frame `index`, with its presentation time in frames."""
        layout = frame_layout(self._scene, self._width, self._height, index, self._frames)
        frame = av.VideoFrame(self._width, self._height, _PIXEL_FORMAT)
        for plane_index, (plane, background) in enumerate(zip(frame.planes, self._backgrounds, strict=True)):
            scale = 1 if plane_index == 0 else _CHROMA_SUBSAMPLING
            image = background.copy()
            _draw_layout(image, layout, self._height, scale, functools.partial(_ycbcr_component, plane_index))
            plane.update(image.tobytes())
        frame.pts = index
        return frame


def _painter(job: VideoJob) -> _PlanePainter:
    return _PlanePainter(video_scene(job.prompt), job.width, job.height, frame_count(job.seconds))


def encode_mp4(job: VideoJob) -> bytes:
    """The job's video: `job.seconds` seconds at `FRAMES_PER_SECOND`, `job.width` x `job.height`."""
    painter = _painter(job)
    output = io.BytesIO()
    with av.open(output, mode="w", format="mp4", options=_BIT_EXACT) as container:
        stream = container.add_stream("libx264", rate=FRAMES_PER_SECOND, options=X264_OPTIONS)
        stream.width = job.width
        stream.height = job.height
        stream.pix_fmt = _PIXEL_FORMAT
        codec = stream.codec_context
        codec.thread_count = 1
        codec.gop_size = KEYFRAME_INTERVAL_S * FRAMES_PER_SECOND
        codec.flags |= av.codec.context.Flags.bitexact
        for index in range(frame_count(job.seconds)):
            container.mux(stream.encode(painter.frame(index)))
        container.mux(stream.encode(None))
    return output.getvalue()


def thumbnail_webp(job: VideoJob) -> bytes:
    """The first frame at the video's size, as a (still) WebP image."""
    output = io.BytesIO()
    with av.open(output, mode="w", format="webp", options=_BIT_EXACT) as container:
        stream = container.add_stream("libwebp", rate=1, options=WEBP_OPTIONS)
        stream.width = job.width
        stream.height = job.height
        stream.pix_fmt = _PIXEL_FORMAT
        stream.codec_context.thread_count = 1
        frame = _painter(job).frame(THUMBNAIL_FRAME)
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return output.getvalue()


def _rgb_tile(scene: VideoScene, width: int, height: int, index: int, frames: int) -> Image.Image:
    """Frame `index` drawn in RGB at `width` x `height` (a spritesheet tile)."""
    column = b"".join(bytes(gradient_colour(scene, row, height)) for row in range(height))
    image = _stretched("RGB", column, width, height)
    _draw_layout(image, frame_layout(scene, width, height, index, frames), height, 1, lambda colour: colour)
    return image


def spritesheet_jpeg(job: VideoJob) -> bytes:
    """One small tile per second of the video in a grid, as JPEG."""
    scene = video_scene(job.prompt)
    grid = spritesheet_layout(job.seconds, job.width, job.height)
    frames = frame_count(job.seconds)
    sheet = Image.new("RGB", (grid.columns * grid.tile_width, grid.rows * grid.tile_height))
    for position, index in enumerate(grid.frame_indices):
        tile = _rgb_tile(scene, grid.tile_width, grid.tile_height, index, frames)
        row, column = divmod(position, grid.columns)
        sheet.paste(tile, (column * grid.tile_width, row * grid.tile_height))
    return saved_file(sheet, "JPEG", quality=SPRITESHEET_QUALITY)
