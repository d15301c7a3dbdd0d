"""The media routes: images, video jobs and audio transcription, as Litestar handlers.

Each module builds its handlers over the app's services; the heavy libraries (Pillow for
images, PyAV for audio and video) come with the `media` extra and are imported when a
route first needs them, so a server without the extra starts and answers every other route.
"""

from litestar.handlers import HTTPRouteHandler

from mockhttp.media.audio import build_audio_handlers
from mockhttp.media.images import build_image_handlers
from mockhttp.media.video import build_video_handlers
from mockhttp.services import Services


def build_media_handlers(services: Services) -> list[HTTPRouteHandler]:
    """Every media route of this app."""
    return [*build_image_handlers(services), *build_video_handlers(services), *build_audio_handlers(services)]
