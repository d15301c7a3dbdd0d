"""SPEC section 10: the app is a plain ASGI callable that another app can mount."""

from collections.abc import Iterator

import pytest
from litestar import Litestar, get
from litestar.handlers import asgi
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

from mockcore import GenerationPlan, Settings, predict
from mockhttp import create_app

INSTANT = Settings(ttft=0.0, itl=0.0)


def build_host() -> Litestar:
    """A host application with routes of its own and the mock mounted under `/mock`."""
    mock = create_app(INSTANT)

    @asgi("/mock", is_mount=True, copy_scope=True)
    async def mock_server(scope: Scope, receive: Receive, send: Send) -> None:
        await mock(scope, receive, send)

    @get("/own")
    async def own() -> dict[str, str]:
        return {"host": "yes"}

    return Litestar(route_handlers=[mock_server, own], logging_config=None)


@pytest.fixture(scope="module")
def host_client() -> Iterator[TestClient[Litestar]]:
    with TestClient(build_host()) as client:
        yield client


def test_mounted_health_answers(host_client: TestClient[Litestar]) -> None:
    response = host_client.get("/mock/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_mounted_chat_completion_matches_the_prediction(host_client: TestClient[Litestar]) -> None:
    payload = {"model": "m", "messages": [{"role": "user", "content": "mounted and working"}]}
    response = host_client.post("/mock/v1/chat/completions", json=payload)
    assert response.status_code == 200
    plan = predict("chat", payload, INSTANT).plan
    assert isinstance(plan, GenerationPlan)
    assert response.json()["choices"][0]["message"]["content"] == plan.choices[0].content_text


def test_mounted_stream_arrives_whole(host_client: TestClient[Litestar]) -> None:
    payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = host_client.post("/mock/v1/chat/completions", json=payload)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")


def test_mounted_errors_keep_the_envelope(host_client: TestClient[Litestar]) -> None:
    response = host_client.get("/mock/v1/nothing-here")
    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_the_host_keeps_its_own_routes(host_client: TestClient[Litestar]) -> None:
    assert host_client.get("/own").json() == {"host": "yes"}
