"""The fast path in front of Litestar: same answers, same envelopes, a bug is still a 500."""

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from mockcore import Settings
from mockhttp import MockServerApp, Services, create_app

INSTANT = Settings(ttft=0.0, itl=0.0)
CHAT = {"model": "m", "messages": [{"role": "user", "content": "the fast path"}], "max_tokens": 8}


def _content(response: Any) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


def test_the_app_is_the_fast_path_over_litestar() -> None:
    app = create_app(INSTANT)
    assert isinstance(app, MockServerApp)
    assert isinstance(app.litestar, Litestar)


def test_a_trailing_slash_goes_through_litestar_to_the_same_answer(app_client: TestClient[Litestar]) -> None:
    direct = app_client.post("/v1/chat/completions", json=CHAT)
    routed = app_client.post("/v1/chat/completions/", json=CHAT)
    assert direct.status_code == routed.status_code == 200
    assert _content(direct) == _content(routed)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/chat/completions/"])
def test_a_bug_in_an_endpoint_is_a_500_in_the_envelope(path: str) -> None:
    def broken_clock() -> float:
        raise RuntimeError("clock failure")

    app = create_app(INSTANT, services=Services(settings=INSTANT, clock=broken_clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(path, json=CHAT)
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "server_error"
        assert "clock failure" not in response.text
        assert client.get("/health").status_code == 200
