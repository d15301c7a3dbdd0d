"""The video routes in-process: renders shared by concurrent downloads, and the 501 without PyAV.

The app runs in this process under httpx's ASGI transport (one event loop, so requests really
overlap), with `--fast` so jobs complete at once; the renderer is replaced by a slow fake
that counts renders, and the media store forgets the files, so that every render the routes
do not share shows.
"""

import asyncio
import threading
import time

import httpx
import pytest

from mockcore.media.video import VideoJob
from mockcore.settings import Settings
from mockhttp import create_app
from mockhttp.media import video as video_routes
from mockhttp.media_store import LocalMediaStore
from mockhttp.services import Services

FAST = Settings(fast=True)


class FilelessStore(LocalMediaStore):
    """Keeps the job records but never a rendered file."""

    def put(self, key: str, data: bytes) -> None:
        if not key.startswith(("videofile_", "videothumb_", "videosprite_")):
            super().put(key, data)


async def _downloads(count: int, variant: str) -> list[httpx.Response]:
    app = create_app(services=Services(settings=FAST, media=FilelessStore()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        created = await client.post("/v1/videos", json={"prompt": "shared render"})
        video_id = created.json()["id"]
        path = f"/v1/videos/{video_id}/content"
        answers = await asyncio.gather(*(client.get(path, params={"variant": variant}) for _ in range(count)))
        answers.append(await client.get(path, params={"variant": variant}))  # after them: a new render
        return answers


def test_concurrent_first_downloads_share_one_render(monkeypatch: pytest.MonkeyPatch) -> None:
    renders: list[str] = []
    lock = threading.Lock()

    def slow_render(job: VideoJob, asset: object) -> bytes:
        with lock:
            renders.append(job.id)
        time.sleep(0.2)
        return b"rendered " + job.id.encode()

    monkeypatch.setattr(video_routes, "_rendered", slow_render)
    answers = asyncio.run(_downloads(5, "video"))
    assert [answer.status_code for answer in answers] == [200] * 6
    assert len({answer.content for answer in answers}) == 1
    assert answers[0].headers["content-type"] == "video/mp4"
    assert len(renders) == 2  # one for the five at once, one for the request after them


def test_without_pyav_and_pillow_a_download_is_a_501_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(video_routes, "media_libraries_installed", lambda: False)
    answers = asyncio.run(_downloads(1, "thumbnail"))
    assert answers[0].status_code == 501
    error = answers[0].json()["error"]
    assert error["code"] == "media_extra_missing"
    assert 'pip install "aiperf-mock-server[media]"' in error["message"]
