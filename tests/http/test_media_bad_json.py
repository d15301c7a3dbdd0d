"""The JSON media routes refuse a body that does not decode with a 400, never a 500."""

import pytest
from litestar import Litestar
from litestar.testing import TestClient

# A nested prompt is refused by its type first; nesting elsewhere reaches the depth limit.
DEEP_PROMPT = b'{"prompt": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}"
DEEP_EXTRA = b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b', "prompt": "p"}'
BAD_UTF8 = b'{"prompt": "\xff\xfe"}'


@pytest.mark.parametrize("path", ["/v1/images/generations", "/v1/videos"])
@pytest.mark.parametrize(
    ("body", "says"),
    [(DEEP_PROMPT, ""), (DEEP_EXTRA, "nested too deeply"), (BAD_UTF8, "could not parse")],
)
def test_a_body_that_does_not_decode_is_a_400(
    app_client: TestClient[Litestar], path: str, body: bytes, says: str
) -> None:
    response = app_client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert says in error["message"]
