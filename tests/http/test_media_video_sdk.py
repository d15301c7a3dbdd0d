"""OpenAI's Videos API through the official `openai` SDK (and raw HTTP), against a real server.

Two servers: one that renders fast (`video_render_latency` 20 ms per second per megapixel, so
a 4 s 720p job takes about 74 ms) for the whole life of a job, and the shared instant server
(default render latency: a 12 s 1792x1024 job stays unfinished for 22 s) for what a client
sees before completion. Every MP4 is opened with PyAV, every image with Pillow.
"""

import io
import time
from collections.abc import Iterator
from typing import Any

import av
import httpx
import openai
import pytest
from openai.types import Video
from PIL import Image
from tests.http.conftest import INSTANT, StartServer
from tests.robustness.conftest import assert_envelope

from mockcore.media.video_scene import FRAMES_PER_SECOND
from mockcore.settings import Settings

pytestmark = [
    pytest.mark.e2e,
    # The SDK marks the Videos API deprecated (Sora's shutdown date); the calls still work.
    pytest.mark.filterwarnings("ignore:The Sora API is scheduled:DeprecationWarning"),
]

RENDERING = Settings(ttft=0.0, itl=0.0, video_render_latency=20.0)
STATUS_ORDER = {"queued": 0, "in_progress": 1, "completed": 2}


@pytest.fixture(scope="module")
def rendering_server(start_server: StartServer) -> str:
    return start_server(RENDERING)


@pytest.fixture(scope="module")
def client(rendering_server: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{rendering_server}/v1", api_key="x", max_retries=0, timeout=60.0) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def http_rendering(rendering_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rendering_server, timeout=60.0, trust_env=False) as raw:
        yield raw


def probe(mp4: bytes) -> dict[str, Any]:
    """What PyAV reads from an MP4: container, codec, size, pixel format, duration and frames."""
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert container.duration is not None
        return {
            "format": container.format.name,
            "codec": stream.codec_context.name,
            "size": f"{stream.codec_context.width}x{stream.codec_context.height}",
            "pix_fmt": stream.codec_context.pix_fmt,
            "duration_s": container.duration / av.time_base,
            "frames": frames,
        }


# -- a job's life ----------------------------------------------------------------------------


def test_a_job_goes_from_queued_through_in_progress_to_completed(client: openai.OpenAI) -> None:
    created = client.videos.create(prompt="a lighthouse in a storm", seconds="12", size="1792x1024")
    assert (created.status, created.progress) == ("queued", 0)
    seen = [created]
    while seen[-1].status != "completed":
        time.sleep(0.02)
        seen.append(client.videos.retrieve(created.id))
    ranks = [(STATUS_ORDER[video.status], video.progress) for video in seen]
    assert ranks == sorted(ranks)
    done = seen[-1]
    assert done.progress == 100
    assert done.completed_at is not None
    assert done.completed_at >= done.created_at
    assert done.expires_at == done.completed_at + 3600


def test_create_and_poll_returns_the_completed_video_with_what_was_asked(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(
        prompt="a fox in the snow", model="sora-2-pro", seconds="8", size="720x1280"
    )
    assert video.status == "completed"
    assert (video.model, video.seconds, video.size, video.prompt) == (
        "sora-2-pro",
        "8",
        "720x1280",
        "a fox in the snow",
    )
    assert video.id.startswith("video_")
    assert video.object == "video"


def test_the_server_tells_the_poller_when_to_ask_again(http_rendering: httpx.Client) -> None:
    created = http_rendering.post("/v1/videos", json={"prompt": "poll", "seconds": "12", "size": "1792x1024"})
    assert created.status_code == 200
    assert 1 <= int(created.headers["openai-poll-after-ms"]) <= 1000
    done = Video.model_validate(created.json())
    while done.status != "completed":
        time.sleep(0.05)
        answer = http_rendering.get(f"/v1/videos/{done.id}")
        done = Video.model_validate(answer.json())
    assert "openai-poll-after-ms" not in answer.headers


@pytest.mark.parametrize(("size", "seconds"), [("1280x720", "4"), ("720x1280", "8"), ("1792x1024", "12")])
def test_the_download_is_a_real_mp4_of_the_length_and_size_asked(
    client: openai.OpenAI, size: str, seconds: str
) -> None:
    video = client.videos.create_and_poll(prompt=f"shapes {size}", seconds=seconds, size=size)  # type: ignore[arg-type]
    content = client.videos.download_content(video.id)
    assert content.response.headers["content-type"] == "video/mp4"
    found = probe(content.read())
    assert found["format"].startswith("mov,mp4")
    assert (found["codec"], found["size"], found["pix_fmt"]) == ("h264", size, "yuv420p")
    assert found["duration_s"] == pytest.approx(int(seconds), abs=1 / FRAMES_PER_SECOND)
    assert found["frames"] == int(seconds) * FRAMES_PER_SECOND


def test_the_same_request_gives_the_same_bytes_and_another_prompt_others(client: openai.OpenAI) -> None:
    def download(prompt: str) -> bytes:
        video = client.videos.create_and_poll(prompt=prompt, seconds="4", size="1280x720")
        return client.videos.download_content(video.id).read()

    first = download("a calico cat playing a piano")
    assert download("a calico cat playing a piano") == first
    assert download("a dog playing the drums") != first


def test_the_thumbnail_is_a_webp_and_the_spritesheet_a_jpeg(client: openai.OpenAI) -> None:
    video = client.videos.create_and_poll(prompt="previews", seconds="8", size="1280x720")
    thumbnail = client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.response.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumbnail.read())) as image:
        assert (image.format, image.size) == ("WEBP", (1280, 720))
    sheet = client.videos.download_content(video.id, variant="spritesheet")
    assert sheet.response.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(sheet.read())) as image:
        assert (image.format, image.size) == ("JPEG", (4 * 160, 2 * 90))  # one 1/8-size tile per second


def test_json_bodies_and_integer_seconds_are_accepted(http_rendering: httpx.Client) -> None:
    answer = http_rendering.post("/v1/videos", json={"prompt": "json", "seconds": 8, "size": "1024x1792"})
    assert answer.status_code == 200
    video = Video.model_validate(answer.json())
    assert (video.seconds, video.size, video.model) == ("8", "1024x1792", "sora-2")


def test_every_field_of_the_sdks_video_type_is_sent(http_rendering: httpx.Client) -> None:
    answer = http_rendering.post("/v1/videos", files={"prompt": (None, "fields")})
    assert answer.status_code == 200
    assert set(answer.json()) == set(Video.model_fields)


# -- list and delete ---------------------------------------------------------------------------


def test_list_pages_through_every_job_and_delete_removes_one(client: openai.OpenAI) -> None:
    mine = [
        client.videos.create(prompt=f"list {index}", seconds="4", size="1280x720").id for index in range(3)
    ]
    newest_first = [video.id for video in client.videos.list(limit=2)]  # the SDK follows `after`
    assert len(newest_first) == len(set(newest_first))
    assert [video_id for video_id in newest_first if video_id in mine] == mine[::-1]
    oldest_first = [video.id for video in client.videos.list(order="asc", limit=100)]
    assert [video_id for video_id in oldest_first if video_id in mine] == mine

    page = client.videos.list(limit=1)
    assert len(page.data) == 1
    assert page.has_more
    assert page.last_id == page.data[0].id

    deleted = client.videos.delete(mine[1])
    assert (deleted.id, deleted.deleted, deleted.object) == (mine[1], True, "video.deleted")
    assert mine[1] not in [video.id for video in client.videos.list(limit=100)]
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(mine[1])
    with pytest.raises(openai.NotFoundError):
        client.videos.delete(mine[1])


def test_the_list_page_has_openais_shape(http_rendering: httpx.Client) -> None:
    http_rendering.post("/v1/videos", json={"prompt": "shape"})
    body = http_rendering.get("/v1/videos", params={"limit": 1}).json()
    assert set(body) == {"object", "data", "first_id", "last_id", "has_more"}
    assert body["object"] == "list"
    assert body["first_id"] == body["last_id"] == body["data"][0]["id"]


# -- errors ------------------------------------------------------------------------------------


def test_content_before_completion_is_a_400_video_not_ready(instant_server: str) -> None:
    with httpx.Client(base_url=instant_server, timeout=30.0, trust_env=False) as http:
        video = http.post("/v1/videos", json={"prompt": "slow", "seconds": "12", "size": "1792x1024"}).json()
        assert video["status"] in {"queued", "in_progress"}
        for variant in ("video", "thumbnail", "spritesheet"):
            answer = http.get(f"/v1/videos/{video['id']}/content", params={"variant": variant})
            assert answer.status_code == 400
            assert assert_envelope(answer)["code"] == "video_not_ready"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "p", "seconds": "5"}, "seconds"),
        ({"prompt": "p", "seconds": 10}, "seconds"),
        ({"prompt": "p", "seconds": 4.5}, "seconds"),
        ({"prompt": "p", "size": "1920x1080"}, "size"),
        ({"seconds": "4"}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "p", "model": 7}, "model"),
    ],
    ids=["seconds-5", "seconds-int-10", "seconds-float", "size", "no-prompt", "empty-prompt", "model-number"],
)
def test_bad_json_requests_are_a_400_naming_the_field(
    http: httpx.Client, body: dict[str, Any], param: str
) -> None:
    answer = http.post("/v1/videos", json=body)
    assert answer.status_code == 400
    assert assert_envelope(answer)["param"] == param


def test_bad_form_requests_are_a_400_naming_the_field(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(prompt="p", seconds="16")  # type: ignore[arg-type]
    assert caught.value.param == "seconds"
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(prompt="p", size="640x480")  # type: ignore[arg-type]
    assert caught.value.param == "size"


def test_a_malformed_json_body_is_a_400(http: httpx.Client) -> None:
    answer = http.post("/v1/videos", content=b'{"prompt": ', headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert_envelope(answer)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "up"}, "order"),
        ({"after": "video_x"}, "after"),
    ],
    ids=["limit-0", "limit-text", "order", "after-unknown"],
)
def test_bad_list_queries_are_a_400_naming_the_parameter(
    http: httpx.Client, params: dict[str, str], param: str
) -> None:
    answer = http.get("/v1/videos", params=params)
    assert answer.status_code == 400
    assert assert_envelope(answer)["param"] == param


def test_an_unknown_variant_is_a_400(http: httpx.Client) -> None:
    video = http.post("/v1/videos", json={"prompt": "variant"}).json()
    answer = http.get(f"/v1/videos/{video['id']}/content", params={"variant": "poster"})
    assert answer.status_code == 400
    assert assert_envelope(answer)["param"] == "variant"


@pytest.mark.parametrize("video_id", ["video_0000", "nope", "videofile_0000", "video_a.b"])
def test_an_unknown_id_is_a_404_on_every_route(http: httpx.Client, video_id: str) -> None:
    for method, path in [
        ("GET", f"/v1/videos/{video_id}"),
        ("GET", f"/v1/videos/{video_id}/content"),
        ("DELETE", f"/v1/videos/{video_id}"),
    ]:
        answer = http.request(method, path)
        assert answer.status_code == 404, (method, path)
        assert assert_envelope(answer)["param"] == "video_id"


def test_a_body_over_the_upload_limit_is_a_413(http: httpx.Client) -> None:
    too_big = INSTANT.media_max_upload_bytes + 1024
    answer = http.post("/v1/videos", json={"prompt": "p", "input_reference": {"image_url": "x" * too_big}})
    assert answer.status_code == 413
    assert_envelope(answer)
