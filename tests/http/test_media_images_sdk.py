"""The image routes against a real server, through the official `openai` client.

Every image opens with Pillow at the size and in the format asked for; the same request
gets the same bytes; an edit is made from its input's pixels (and only inside its mask);
streams yield the SDK's typed events; bad input gets a 4xx envelope, never a 500.
"""

import base64
import hashlib
import io
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.testing import TestClient
from openai.types import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
)
from PIL import Image, ImageChops, ImageStat
from tests.http.conftest import StartServer

from mockcore import Settings
from mockcore.media.image_requests import ImageGenerationRequest
from mockcore.media.images import plan_image_generation
from mockcore.tokenizer import count_tokens
from mockhttp.errors import http_exception_response
from mockhttp.media import images as image_routes
from mockhttp.services import local_services

pytestmark = pytest.mark.e2e

FAST = Settings(fast=True)
# Small, known image latencies: 40 ms, plus 150 ms per megapixel at medium quality.
PACED = Settings(ttft=0.0, itl=0.0, image_base_latency=40.0, image_latency_per_megapixel=150.0)
SMALL_UPLOADS = Settings(fast=True, media_max_upload_bytes=4096)
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def png_bytes(
    size: tuple[int, int] = (64, 64), colour: tuple[int, ...] = (30, 120, 200), mode: str = "RGB"
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def opened(b64_json: str | None) -> Image.Image:
    assert b64_json is not None
    image = Image.open(io.BytesIO(base64.b64decode(b64_json)))
    image.load()
    return image


@pytest.fixture(scope="module")
def fast_url(start_server: StartServer) -> str:
    return start_server(FAST)


@pytest.fixture(scope="module")
def client(fast_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{fast_url}/v1", api_key="x", max_retries=0, timeout=30.0) as sdk:
        yield sdk


@pytest.mark.parametrize(
    ("size", "output_format"),
    [("1024x1024", "png"), ("256x256", "jpeg"), ("1792x1024", "webp"), ("512x512", "png")],
)
def test_a_generated_image_opens_at_the_size_and_format_asked(
    client: openai.OpenAI, size: str, output_format: str
) -> None:
    answer = client.images.generate(
        prompt="a lighthouse at dusk",
        size=size,
        output_format=output_format,
    )
    assert answer.data is not None
    assert len(answer.data) == 1
    image = opened(answer.data[0].b64_json)
    assert f"{image.width}x{image.height}" == size
    assert image.format == PIL_FORMATS[output_format]
    assert (answer.size, answer.output_format, answer.quality, answer.background) == (
        size,
        output_format,
        "medium",
        "opaque",
    )


def test_the_same_request_gets_the_same_bytes_and_another_prompt_others(client: openai.OpenAI) -> None:
    def image_of(prompt: str) -> list[str | None]:
        answer = client.images.generate(prompt=prompt, size="256x256", n=2)
        assert answer.data is not None
        return [datum.b64_json for datum in answer.data]

    first = image_of("a red bicycle")
    assert first == image_of("a red bicycle")
    assert first[0] != first[1]
    assert image_of("a blue bicycle") != first


def test_a_transparent_background_keeps_an_alpha_channel(client: openai.OpenAI) -> None:
    answer = client.images.generate(
        prompt="a logo", size="256x256", background="transparent", output_format="png"
    )
    assert answer.data is not None
    image = opened(answer.data[0].b64_json)
    assert image.mode == "RGBA"
    alpha = image.getchannel("A").getextrema()
    assert alpha[0] == 0
    assert answer.background == "transparent"


def test_usage_is_openais_for_the_prompt_and_the_images(client: openai.OpenAI) -> None:
    prompt = "a watercolour of a harbour with boats"
    answer = client.images.generate(prompt=prompt, size="1024x1536", quality="high", n=2)
    usage = answer.usage
    assert usage is not None
    assert usage.input_tokens == usage.input_tokens_details.text_tokens == count_tokens(prompt)
    assert usage.input_tokens_details.image_tokens == 0
    assert usage.output_tokens == 2 * 6240
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens_details is not None
    assert usage.output_tokens_details.image_tokens == usage.output_tokens


def test_a_url_answer_is_served_by_the_server(client: openai.OpenAI, fast_url: str) -> None:
    answer = client.images.generate(
        prompt="a cat", size="512x512", response_format="url", output_format="jpeg"
    )
    assert answer.data is not None
    url = answer.data[0].url
    assert url is not None
    assert answer.data[0].b64_json is None
    assert url.startswith(f"{fast_url}/v1/files/images/image_")
    served = httpx.get(url, timeout=10.0)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(served.content))
    assert (image.format, image.size) == ("JPEG", (512, 512))
    same = client.images.generate(prompt="a cat", size="512x512", output_format="jpeg")
    assert same.data is not None
    assert same.data[0].b64_json == base64.b64encode(served.content).decode()


def test_an_unknown_image_file_is_a_404_envelope(fast_url: str) -> None:
    for image_id in ("image_0123456789abcdef", "video_1", "not a key"):
        answer = httpx.get(f"{fast_url}/v1/files/images/{image_id}", timeout=10.0)
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "invalid_request_error"


def test_a_streamed_generation_yields_partial_images_then_the_image(client: openai.OpenAI) -> None:
    events = list(
        client.images.generate(
            prompt="a mountain lake", size="256x256", stream=True, partial_images=2, quality="low"
        )
    )
    assert [type(event) for event in events] == [
        ImageGenPartialImageEvent,
        ImageGenPartialImageEvent,
        ImageGenCompletedEvent,
    ]
    partials, completed = events[:2], events[2]
    assert [event.partial_image_index for event in partials] == [0, 1]
    for event in events:
        image = opened(event.b64_json)
        assert (image.size, image.format) == ((256, 256), "PNG")
        assert (event.size, event.quality, event.output_format) == ("256x256", "low", "png")
    assert isinstance(completed, ImageGenCompletedEvent)
    assert completed.usage.output_tokens == 17
    final = client.images.generate(prompt="a mountain lake", size="256x256", quality="low")
    assert final.data is not None
    assert final.data[0].b64_json == completed.b64_json


def test_an_edit_is_made_from_the_input_image(client: openai.OpenAI) -> None:
    def edit_of(colour: tuple[int, int, int]) -> Image.Image:
        answer = client.images.edit(
            image=("input.png", png_bytes((256, 256), colour), "image/png"),
            prompt="add a hat",
            size="256x256",
        )
        assert answer.data is not None
        assert answer.usage is not None
        assert answer.usage.input_tokens_details.image_tokens == 255
        return opened(answer.data[0].b64_json)

    dark, light = edit_of((0, 0, 0)), edit_of((255, 255, 255))
    assert dark.size == light.size == (256, 256)
    dark_mean = ImageStat.Stat(dark.convert("L")).mean[0]
    light_mean = ImageStat.Stat(light.convert("L")).mean[0]
    assert dark_mean + 60 < light_mean


def test_an_edit_changes_only_what_the_mask_leaves_transparent(client: openai.OpenAI) -> None:
    source = Image.new("RGB", (128, 128))
    source.putdata([(x * 2, y * 2, 90) for y in range(128) for x in range(128)])
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    mask = Image.new("RGBA", (128, 128), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 64, 128))  # the left half is to be edited
    mask_buffer = io.BytesIO()
    mask.save(mask_buffer, "PNG")
    answer = client.images.edit(
        image=("source.png", buffer.getvalue(), "image/png"),
        mask=("mask.png", mask_buffer.getvalue(), "image/png"),
        prompt="paint the left half",
        size="256x256",
    )
    assert answer.data is not None
    edited = opened(answer.data[0].b64_json).convert("RGB")
    assert edited.size == (256, 256)
    expected = source.resize((256, 256), Image.Resampling.BILINEAR)
    difference = ImageChops.difference(edited, expected)
    assert difference.crop((128, 0, 256, 256)).getbbox() is None  # the kept half is the input
    assert difference.crop((0, 0, 128, 256)).getbbox() is not None  # the edited half is not


def test_several_input_images_are_edited_together(client: openai.OpenAI) -> None:
    images = [
        ("a.png", png_bytes((64, 64), (200, 0, 0)), "image/png"),
        ("b.png", png_bytes((96, 64)), "image/png"),
    ]
    answer = client.images.edit(image=images, prompt="combine them", size="512x512", output_format="webp")
    assert answer.data is not None
    image = opened(answer.data[0].b64_json)
    assert (image.format, image.size) == ("WEBP", (512, 512))
    assert answer.usage is not None
    assert answer.usage.input_tokens_details.image_tokens == 2 * 255


def test_a_streamed_edit_yields_edit_events(client: openai.OpenAI) -> None:
    events = list(
        client.images.edit(
            image=("input.png", png_bytes(), "image/png"),
            prompt="make it pop",
            size="256x256",
            stream=True,
            partial_images=1,
        )
    )
    assert [type(event) for event in events] == [ImageEditPartialImageEvent, ImageEditCompletedEvent]
    assert all(opened(event.b64_json).size == (256, 256) for event in events)


def test_an_edit_takes_a_data_url_instead_of_a_file(fast_url: str) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    answer = httpx.post(
        f"{fast_url}/v1/images/edits",
        data={"prompt": "p", "url": data_url, "size": "256x256"},
        files={"unused": ("note.txt", b"x", "text/plain")},
        timeout=10.0,
    )
    assert answer.status_code == 200, answer.text
    assert opened(answer.json()["data"][0]["b64_json"]).size == (256, 256)


@pytest.mark.parametrize(
    ("content", "what"),
    [(png_bytes()[:60], "a truncated PNG"), (bytes(range(256)) * 8, "random bytes")],
)
def test_an_undecodable_image_is_a_400(client: openai.OpenAI, content: bytes, what: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.edit(image=("input.png", content, "image/png"), prompt=f"edit {what}")
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == "image"


def test_a_mask_of_another_size_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.edit(
            image=("input.png", png_bytes((64, 64)), "image/png"),
            mask=("mask.png", png_bytes((32, 32), (0, 0, 0, 0), "RGBA"), "image/png"),
            prompt="p",
        )
    assert caught.value.body["param"] == "mask"


def test_an_upload_over_the_limit_is_a_413(start_server: StartServer) -> None:
    url = start_server(SMALL_UPLOADS)
    noise = Image.frombytes("L", (96, 96), hashlib.shake_256(b"noise").digest(96 * 96))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > SMALL_UPLOADS.media_max_upload_bytes
    with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as sdk:
        with pytest.raises(openai.APIStatusError) as caught:
            sdk.images.edit(image=("big.png", buffer.getvalue(), "image/png"), prompt="p")
        assert caught.value.status_code == 413
        assert caught.value.body["type"] == "invalid_request_error"
        small = sdk.images.edit(
            image=("small.png", png_bytes((16, 16)), "image/png"), prompt="p", size="256x256"
        )
        assert small.data is not None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "p", "size": "100x100"}, "size"),
        ({"prompt": "p", "n": 0}, "n"),
        ({"prompt": "p", "n": 11}, "n"),
        ({"size": "256x256"}, "prompt"),
        ({"prompt": "p", "background": "transparent", "output_format": "jpeg"}, "background"),
    ],
)
def test_a_bad_generation_is_a_400_envelope(fast_url: str, body: dict[str, object], param: str) -> None:
    answer = httpx.post(f"{fast_url}/v1/images/generations", json=body, timeout=10.0)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


def test_malformed_json_is_a_400_envelope(fast_url: str) -> None:
    answer = httpx.post(f"{fast_url}/v1/images/generations", content=b"{not json", timeout=10.0)
    assert answer.status_code == 400
    assert answer.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"prompt": "p", "size": "9x9"}, "size"), ({"n": "1"}, "prompt"), ({"prompt": "p"}, "image")],
)
def test_a_bad_edit_form_is_a_400_envelope(fast_url: str, fields: dict[str, str], param: str) -> None:
    files = (
        {"image": ("a.png", png_bytes(), "image/png")}
        if param != "image"
        else {"other": ("x", b"x", "text/plain")}
    )
    answer = httpx.post(f"{fast_url}/v1/images/edits", data=fields, files=files, timeout=10.0)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_an_edit_that_is_not_a_form_is_a_400_envelope(fast_url: str) -> None:
    answer = httpx.post(f"{fast_url}/v1/images/edits", json={"prompt": "p"}, timeout=10.0)
    assert answer.status_code == 400
    assert "multipart/form-data" in answer.json()["error"]["message"]


def test_an_image_answers_no_sooner_than_its_planned_latency(start_server: StartServer) -> None:
    url = start_server(PACED)
    request = ImageGenerationRequest(prompt="slow", size="1024x1024", quality="high")
    planned_s = plan_image_generation(request, PACED).latency_s
    assert planned_s == pytest.approx((40 + 150 * 1.048576 * 2) / 1000)
    with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as sdk:
        started = time.monotonic()
        sdk.images.generate(prompt="slow", size="1024x1024", quality="high")
        assert time.monotonic() - started >= planned_s - 0.002
        started = time.monotonic()
        events = list(sdk.images.generate(prompt="slow", size="256x256", stream=True, partial_images=1))
        assert len(events) == 2
        assert time.monotonic() - started >= (40 + 150 * 0.065536) / 1000 - 0.002


def test_the_user_is_echoed_as_the_safety_identifier(client: openai.OpenAI) -> None:
    answer = client.images.generate(prompt="p", size="256x256", user="user-42")
    assert answer.safety_identifier == "user-42"


def test_without_pillow_the_image_routes_answer_501(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_routes, "_pillow_installed", lambda: False)
    image_app = Litestar(
        route_handlers=image_routes.build_image_handlers(local_services(FAST)),
        exception_handlers={HTTPException: http_exception_response},
        logging_config=None,
    )
    with TestClient(image_app) as app:
        answer = app.post("/v1/images/generations", json={"prompt": "p"})
    assert answer.status_code == 501
    assert 'pip install "aiperf-mock-server[media]"' in answer.json()["error"]["message"]
