"""Every sent image decoded in full with Pillow before it is answered.

The core read each image's size from its header; a truncated or corrupt image still has a
header, so only decoding its pixels tells. Pillow comes with the `media` extra and is
imported on first use: without it the route answers 501. Decoding takes milliseconds per
image, so callers run this off the event loop.
"""

import io
from collections.abc import Sequence

from mockcore.errors import RequestError
from mockcore.image_retrieval import SentImage

INSTALL_HINT = 'pip install "aiperf-mock-server[media]"'


class ImageLibraryMissingError(Exception):
    """Pillow is not installed."""


def _decode_failure(sent: SentImage) -> str | None:
    """Why the image's pixels do not decode to its header's size, or None when they do."""
    from PIL import Image  # noqa: PLC0415 - optional, and slow to import

    try:
        with Image.open(io.BytesIO(sent.data), formats=[sent.format.upper()]) as image:
            image.load()
            size = image.size
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, ValueError, SyntaxError...
        return f"{type(exc).__name__}: {exc}"
    if size != (sent.width, sent.height):
        return f"its pixels are {size[0]}x{size[1]}, its header says {sent.width}x{sent.height}"
    return None


def check_pixels(images: Sequence[SentImage]) -> None:
    """Raise `RequestError` (400) naming the first image that does not decode.

    Raises `ImageLibraryMissingError` when Pillow is not installed.
    """
    try:
        import PIL  # noqa: PLC0415, F401 - only to know whether Pillow is there
    except ImportError:
        raise ImageLibraryMissingError from None
    for index, sent in enumerate(images):
        reason = _decode_failure(sent)
        if reason is not None:
            param = f"input[{index}].url"
            raise RequestError(f"`{param}` is not an image that decodes ({reason}).", param)
