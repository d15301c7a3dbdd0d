"""`--api-key`: the /v1 routes want `Authorization: Bearer <key>` (or the key alone, as the
reference server accepts), on the header `--auth-header-name` names; the key never shows.

In process for the table of headers and routes; the real CLI (with access logs on) for the
official client and for what the server writes to its logs.
"""

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from litestar.testing import TestClient
from tests.robustness.conftest import (
    CHAT,
    POST_ROUTES,
    VALID_BODIES,
    CliServer,
    StartCliServer,
    assert_envelope,
    assert_healthy,
    encode,
)

from mockcore import Settings
from mockcore.settings import REDACTED
from mockhttp import create_app

KEY = "sk-mock-5b1e0c7d9a"
KEYED = Settings(ttft=0.0, itl=0.0, api_key=KEY)
GOOD = {"authorization": f"Bearer {KEY}"}
ALSO_GOOD = {"authorization": f"bearer {KEY}"}  # the scheme is case-insensitive (RFC 9110)
BARE_KEY = {"authorization": KEY}  # the reference server's other accepted form

BAD_CREDENTIALS: dict[str, dict[str, str]] = {
    "no Authorization header": {},
    "a wrong key": {"authorization": "Bearer sk-wrong"},
    "the key with one more character": {"authorization": f"Bearer {KEY}x"},
    "a prefix of the key": {"authorization": f"Bearer {KEY[:-1]}"},
    "an empty bearer token": {"authorization": "Bearer "},
    "the Basic scheme": {"authorization": f"Basic {KEY}"},
    "the key in another header": {"x-api-key": KEY},
}
PROTECTED: list[tuple[str, str]] = [*(("POST", path) for path in POST_ROUTES), ("GET", "/v1/models")]
OPEN = ["/health", "/", "/dcgm1/metrics", "/dcgm2/metrics", "/openapi.json"]


def call(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = encode(VALID_BODIES[path]) if method == "POST" else None
    return client.request(method, path, content=body, headers={"content-type": "application/json", **headers})


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient[Any]]:
    with TestClient(create_app(KEYED)) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=list(BAD_CREDENTIALS))
def test_a_protected_route_without_the_key_is_a_401_envelope(
    keyed: TestClient[Any], method: str, path: str, credentials: str
) -> None:
    response = call(keyed, method, path, BAD_CREDENTIALS[credentials])
    assert response.status_code == 401
    error = assert_envelope(response)
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert error["param"] is None
    assert KEY not in response.text


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("headers", [GOOD, ALSO_GOOD, BARE_KEY], ids=["Bearer", "bearer", "bare key"])
def test_a_protected_route_with_the_key_is_served(
    keyed: TestClient[Any], method: str, path: str, headers: dict[str, str]
) -> None:
    assert call(keyed, method, path, headers).status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"x-api-key": KEY}, 200),
        ({"X-API-Key": f"Bearer {KEY}"}, 200),
        ({"x-api-key": "sk-wrong"}, 401),
        (GOOD, 401),  # Authorization is no longer where the key is looked for
    ],
)
def test_auth_header_name_moves_the_key_to_another_header(headers: dict[str, str], status: int) -> None:
    settings = Settings(ttft=0.0, itl=0.0, api_key=KEY, auth_header_name="X-API-Key")
    with TestClient(create_app(settings)) as client:
        for method, path in PROTECTED:
            response = call(client, method, path, headers)
            assert response.status_code == status, (method, path)
        if status == 401:
            assert "`X-API-Key: Bearer <key>`" in call(client, "POST", CHAT, {}).json()["error"]["message"]


@pytest.mark.parametrize("path", OPEN)
def test_health_root_metrics_and_the_document_need_no_key(keyed: TestClient[Any], path: str) -> None:
    response = keyed.get(path)
    assert response.status_code == 200
    assert KEY not in response.text


@pytest.mark.parametrize("path", ["/health", "/"])
def test_the_configuration_shows_the_key_redacted(keyed: TestClient[Any], path: str) -> None:
    assert keyed.get(path, headers=GOOD).json()["config"]["api_key"] == REDACTED


def test_the_key_is_checked_before_the_body_is_read(keyed: TestClient[Any]) -> None:
    # A stranger can neither make the server parse a body nor learn what is wrong with it.
    oversized = b" " * (KEYED.max_request_bytes + 1)
    assert keyed.post(CHAT, content=oversized).status_code == 401
    assert keyed.post(CHAT, content=b"{not json").status_code == 401


# --- the real CLI -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_server(shared_cli_server: StartCliServer) -> CliServer:
    return shared_cli_server(["--ttft", "0", "--itl", "0", "--api-key", KEY, "--access-logs"])


@pytest.mark.e2e
def test_the_official_client_works_with_the_key(keyed_server: CliServer) -> None:
    with openai.OpenAI(base_url=f"{keyed_server.base_url}/v1", api_key=KEY, max_retries=0) as client:
        chat = client.chat.completions.create(
            model="mock-model", messages=[{"role": "user", "content": "hi"}], max_tokens=4
        )
        assert chat.usage is not None
        assert chat.usage.completion_tokens == 4
        chunks = list(
            client.chat.completions.create(
                model="mock-model", messages=[{"role": "user", "content": "hi"}], max_tokens=4, stream=True
            )
        )
        assert len(chunks) == 4
        assert client.completions.create(model="mock-model", prompt="hi", max_tokens=2).choices[0].text
        assert len(client.embeddings.create(model="mock-model", input="hi").data[0].embedding) == 768
        assert client.models.list().data


@pytest.mark.e2e
def test_the_official_client_with_a_wrong_key_gets_an_authentication_error(keyed_server: CliServer) -> None:
    with openai.OpenAI(base_url=f"{keyed_server.base_url}/v1", api_key="sk-wrong", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 401
        assert caught.value.code == "invalid_api_key"


@pytest.mark.e2e
@pytest.mark.parametrize("credentials", ["no Authorization header", "a wrong key", "the Basic scheme"])
def test_the_real_server_refuses_requests_without_the_key(keyed_server: CliServer, credentials: str) -> None:
    with httpx.Client(base_url=keyed_server.base_url, timeout=10.0, trust_env=False) as client:
        for method, path in PROTECTED:
            response = call(client, method, path, BAD_CREDENTIALS[credentials])
            assert response.status_code == 401
            assert assert_envelope(response)["code"] == "invalid_api_key"


@pytest.mark.e2e
def test_the_key_never_appears_in_health_root_or_the_logs(keyed_server: CliServer) -> None:
    with httpx.Client(base_url=keyed_server.base_url, timeout=10.0, trust_env=False) as client:
        for path in OPEN:
            response = client.get(path, headers=GOOD)
            assert response.status_code == 200
            assert KEY not in response.text
        assert client.get("/health").json()["config"]["api_key"] == REDACTED
        # Requests with the key, with a wrong one and with the key in odd places.
        call(client, "POST", CHAT, GOOD)
        call(client, "POST", CHAT, {"authorization": f"Bearer {KEY}-not"})
        call(client, "POST", CHAT, {"authorization": f"Basic {KEY}"})
    assert_healthy(keyed_server.base_url)
    log = keyed_server.log_text()
    assert '"path":"/v1/chat/completions"' in log, "access logs are on: requests are logged"
    assert REDACTED in log, "the configuration is logged at start, redacted"
    assert KEY not in log
