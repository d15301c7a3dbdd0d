"""NIM image retrieval: `POST /v1/infer` and `POST /v1/image/infer` with real images.

Every image is a base64 data URL decoded for real; each gets page-element boxes (`table`,
`chart`, `title`) drawn from its bytes, on its pixel grid, normalised to 0-1. What is not an
image that decodes (a link, bad base64, random bytes, a truncated PNG, a GIF) is a 400
naming the input.
"""

import base64
import io
import itertools
import time
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from tests.http.conftest import INSTANT

from mockcore import Settings
from mockcore.image_retrieval import PAGE_ELEMENT_CLASSES, ImageRetrievalPlan
from mockcore.predict import predict_image_retrieval
from mockhttp import create_app

CORNERS = ("x_min", "y_min", "x_max", "y_max")


def image_bytes(
    width: int, height: int, image_format: str = "PNG", color: tuple[int, int, int] = (20, 90, 200)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, image_format)
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def infer_body(*urls: str) -> dict[str, Any]:
    return {"input": [{"type": "image_url", "url": url} for url in urls]}


PNG = data_url(image_bytes(640, 480))
JPEG = data_url(image_bytes(300, 400, "JPEG"), "image/jpeg")


def boxes_of(item: dict[str, Any]) -> list[dict[str, float]]:
    return [box for name in PAGE_ELEMENT_CLASSES for box in item["bounding_boxes"][name]]


def test_each_image_gets_page_element_boxes_in_nims_shape(http: httpx.Client) -> None:
    response = http.post(
        "/v1/infer", json=infer_body(PNG, JPEG) | {"model": "nvidia/nemoretriever-page-elements-v3"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "usage"}
    assert [item["index"] for item in body["data"]] == [0, 1]
    for item in body["data"]:
        assert set(item["bounding_boxes"]) == set(PAGE_ELEMENT_CLASSES)
        for box in boxes_of(item):
            assert set(box) == {*CORNERS, "confidence"}
            assert 0.0 <= box["x_min"] < box["x_max"] <= 1.0
            assert 0.0 <= box["y_min"] < box["y_max"] <= 1.0
            assert 0.5 <= box["confidence"] < 1.0
    sizes = sum(len(base64.b64decode(url.split(",", 1)[1])) for url in (PNG, JPEG))
    assert body["usage"] == {"images_size_mb": round(sizes / 1_000_000, 6)}


def test_boxes_lie_on_the_pixel_grid_of_the_decoded_size(app_client: TestClient[Litestar]) -> None:
    for width, height in ((640, 480), (97, 61), (1, 1)):
        body = app_client.post("/v1/infer", json=infer_body(data_url(image_bytes(width, height)))).json()
        for box in boxes_of(body["data"][0]):
            for corner, pixels in zip(CORNERS, (width, height, width, height), strict=True):
                assert abs(box[corner] * pixels - round(box[corner] * pixels)) < 1e-6 * pixels + 1e-9, (
                    corner,
                    box,
                )


def test_the_same_image_gets_the_same_boxes_on_both_paths_and_another_image_others(
    app_client: TestClient[Litestar],
) -> None:
    first = app_client.post("/v1/infer", json=infer_body(PNG, PNG)).json()["data"]
    second = app_client.post("/v1/image/infer", json=infer_body(PNG)).json()["data"]
    assert first[0]["bounding_boxes"] == first[1]["bounding_boxes"] == second[0]["bounding_boxes"]
    others = [
        app_client.post(
            "/v1/infer", json=infer_body(data_url(image_bytes(640, 480, color=(shade, 0, 0))))
        ).json()
        for shade in range(6)
    ]
    assert len({str(other["data"][0]["bounding_boxes"]) for other in others}) > 1


def test_across_images_every_class_is_found_and_boxes_of_one_image_never_overlap(
    app_client: TestClient[Litestar],
) -> None:
    urls = [data_url(image_bytes(200, 260, color=(shade, 40, 90))) for shade in range(40)]
    data = app_client.post("/v1/infer", json=infer_body(*urls)).json()["data"]
    assert all(any(item["bounding_boxes"][name] for item in data) for name in PAGE_ELEMENT_CLASSES)
    for item in data:
        boxes = sorted(boxes_of(item), key=lambda box: box["y_min"])
        assert all(upper["y_max"] <= lower["y_min"] for upper, lower in itertools.pairwise(boxes))


def test_the_answer_is_the_prediction(app_client: TestClient[Litestar]) -> None:
    payload = infer_body(PNG, JPEG)
    body = app_client.post("/v1/infer", json=payload).json()
    prediction = predict_image_retrieval(payload, INSTANT)
    assert prediction.status_code == 200
    assert isinstance(prediction.plan, ImageRetrievalPlan)
    assert body["data"] == msgspec.json.decode(msgspec.json.encode(prediction.plan.detections))


def test_the_answer_comes_after_the_base_and_per_image_latency() -> None:
    settings = Settings(
        ttft=0.0, itl=0.0, image_retrieval_base_latency=100.0, image_retrieval_per_image_latency=50.0
    )
    with TestClient(create_app(settings)) as client:
        started = time.perf_counter()
        assert client.post("/v1/infer", json=infer_body(PNG, PNG)).status_code == 200
        assert time.perf_counter() - started >= 0.2


TRUNCATED_PNG = image_bytes(64, 64)[:-40]
BAD_IMAGES = [
    ("a link", "https://example.com/page.png", "does not fetch"),
    ("not base64 encoded", "data:image/png,rawbytes", "base64 data URL"),
    ("invalid base64", "data:image/png;base64,@@@@", "not valid base64"),
    ("random bytes", data_url(bytes(range(256)) * 4), "not a PNG or JPEG"),
    ("a GIF", data_url(image_bytes(8, 8, "GIF"), "image/gif"), "not a PNG or JPEG"),
    ("a truncated PNG", data_url(TRUNCATED_PNG), "is not an image that decodes"),
    ("a PNG cut inside its header", data_url(image_bytes(8, 8)[:20]), "no size"),
    ("a JPEG without its frame", data_url(b"\xff\xd8\xff\xd9"), "no size"),
    ("a PNG too large to decode", data_url(image_bytes(8, 8)[:16] + (9000).to_bytes(4, "big") * 2), "pixels"),
]


@pytest.mark.parametrize(
    ("url", "says"), [case[1:] for case in BAD_IMAGES], ids=[case[0] for case in BAD_IMAGES]
)
def test_what_is_not_an_image_that_decodes_is_a_400_naming_the_input(
    http: httpx.Client, url: str, says: str
) -> None:
    response = http.post("/v1/infer", json=infer_body(PNG, url))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "input[1].url"
    assert says in error["message"], error["message"]


BAD_BODIES = [
    ("no input", {}, "input"),
    ("empty input", {"input": []}, "input"),
    ("a text part", {"input": [{"type": "text", "url": PNG}]}, "input[0].type"),
    ("no url", {"input": [{"type": "image_url"}]}, "input[0].url"),
    ("model as a number", infer_body(PNG) | {"model": 3}, "model"),
]


@pytest.mark.parametrize(
    ("body", "param"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES]
)
def test_a_bad_body_is_a_400_naming_the_field(
    app_client: TestClient[Litestar], body: dict[str, Any], param: str
) -> None:
    response = app_client.post("/v1/infer", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_too_many_images_and_a_missing_key_are_refused_in_the_openai_envelope() -> None:
    with TestClient(create_app(Settings(ttft=0.0, itl=0.0, max_request_items=1, api_key="k"))) as client:
        unauthorized = client.post("/v1/infer", json=infer_body(PNG))
        too_many = client.post("/v1/infer", json=infer_body(PNG, PNG), headers={"Authorization": "Bearer k"})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == "invalid_api_key"
    assert (too_many.status_code, too_many.json()["error"]["param"]) == (400, "input")
