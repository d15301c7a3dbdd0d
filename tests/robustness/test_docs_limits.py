"""`docs/limits.md` says what the code does: flags, variables, defaults and each refusal.

The flags, variables and defaults are derived from `mockcore.settings.Settings` and
`mockcli.options.flag_name`; the status, type and param of every row are observed on an app
with small limits, in process.
"""

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from tests.robustness.conftest import CHAT, COMPLETIONS, EMBEDDINGS, RANKING, assert_envelope, encode
from typer.testing import CliRunner

from mockcli.main import app as cli_app
from mockcli.options import flag_name
from mockcore import Settings
from mockcore.settings import environment_variable
from mockhttp import create_app

DOC = Path(__file__).parents[2] / "docs" / "limits.md"
LIMIT_FIELDS = [name for name in Settings.__struct_fields__ if name.startswith("max_")]
PROTECTION_FIELDS = ["header_timeout", "api_key"]
DEFAULTS = Settings()

SMALL = Settings(
    ttft=0.0,
    itl=0.0,
    max_request_bytes=4096,
    max_request_items=2,
    max_prompt_chars=40,
    max_output_tokens=10,
    max_concurrent_streams=1,
)


def section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def table_rows(markdown: str) -> list[dict[str, str]]:
    """The first table of `markdown` as dicts keyed by its header."""
    all_lines = markdown.splitlines()
    first = next(index for index, line in enumerate(all_lines) if line.startswith("|"))
    lines = list(itertools.takewhile(lambda line: line.startswith("|"), all_lines[first:]))
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "").strip()) <= {"-"}
    return [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        for line in lines[2:]
    ]


def code(cell: str) -> str:
    """The first `code` span of a cell."""
    match = re.search(r"`([^`]*)`", cell)
    assert match, cell
    return match[1]


def params(cell: str) -> set[str | None]:
    return {None} if cell == "null" else set(re.findall(r"`([^`]*)`", cell))


def rows_by_flag(title: str) -> dict[str, dict[str, str]]:
    return {code(row["flag"]): row for row in table_rows(section(title))}


LIMIT_ROWS = rows_by_flag("Limits")
PROTECTION_ROWS = rows_by_flag("Other protections")


def default_matches(cell: str, default: Any) -> bool:
    if default is None:
        return cell == "none"
    return float(code(cell)) == default


@pytest.mark.parametrize(
    ("rows", "field"),
    [
        *((LIMIT_ROWS, field) for field in LIMIT_FIELDS),
        *((PROTECTION_ROWS, field) for field in PROTECTION_FIELDS),
    ],
)
def test_every_limit_and_protection_has_a_row_with_its_flag_variable_and_default(
    rows: dict[str, dict[str, str]], field: str
) -> None:
    row = rows.get(flag_name(field))
    assert row is not None, f"{flag_name(field)} is missing from its table in docs/limits.md"
    assert code(row["environment variable"]) == environment_variable(field)
    assert default_matches(row["default"], getattr(DEFAULTS, field)), row["default"]


def test_no_row_documents_an_option_that_does_not_exist() -> None:
    flags = {flag_name(field) for field in Settings.__struct_fields__}
    assert set(LIMIT_ROWS) | set(PROTECTION_ROWS) <= flags
    help_text = CliRunner().invoke(cli_app, ["--help"], terminal_width=200).output
    for flag in [*LIMIT_ROWS, *PROTECTION_ROWS]:
        assert flag in help_text


def message(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


# Requests just over each limit of SMALL, one per documented param.
OVER_LIMIT: dict[str, list[tuple[str, bytes]]] = {
    "max_request_bytes": [(CHAT, encode({"model": "m", "messages": [message("x")], "pad": " " * 4096}))],
    "max_request_items": [
        (CHAT, encode({"model": "m", "messages": [message("x")] * 3})),
        (COMPLETIONS, encode({"model": "m", "prompt": ["x"] * 3})),
        (EMBEDDINGS, encode({"model": "m", "input": [[1]] * 3})),
        (RANKING, encode({"model": "m", "query": {"text": "q"}, "passages": [{"text": "p"}] * 3})),
    ],
    "max_prompt_chars": [
        (CHAT, encode({"model": "m", "messages": [message("x" * 41)]})),
        (COMPLETIONS, encode({"model": "m", "prompt": [1] * 11})),
        (EMBEDDINGS, encode({"model": "m", "input": "x" * 41})),
        (RANKING, encode({"model": "m", "query": {"text": "q" * 40}, "passages": [{"text": "p"}]})),
    ],
    "max_output_tokens": [
        (CHAT, encode({"model": "m", "messages": [message("x")], "max_tokens": 11})),
        (CHAT, encode({"model": "m", "messages": [message("x")], "max_completion_tokens": 11})),
        (COMPLETIONS, encode({"model": "m", "prompt": "x", "min_tokens": 11})),
    ],
}


@pytest.fixture(scope="module")
def small() -> Any:
    with TestClient(create_app(SMALL)) as client:
        yield client


@pytest.mark.parametrize("field", sorted(OVER_LIMIT))
def test_a_request_over_a_limit_gets_the_documented_status_type_and_param(small: Any, field: str) -> None:
    row = LIMIT_ROWS[flag_name(field)]
    seen_params: set[str | None] = set()
    for path, body in OVER_LIMIT[field]:
        response: httpx.Response = small.post(path, content=body)
        assert response.status_code == int(row["over the limit"]), response.text
        error = assert_envelope(response)
        assert error["type"] == code(row["type"])
        assert error["param"] in params(row["param"])
        assert flag_name(field) in error["message"]
        seen_params.add(error["param"])
    assert seen_params == params(row["param"]), "every documented param is observed"


def test_a_stream_over_the_limit_gets_the_documented_status_type_and_param() -> None:
    # Streams must be held open: call the app as ASGI, with a client that never hangs up.
    row = LIMIT_ROWS[flag_name("max_concurrent_streams")]
    app = create_app(SMALL)
    body = encode({"model": "m", "messages": [message("x")], "stream": True, "max_tokens": 5})

    async def request() -> tuple[asyncio.Task[None], dict[str, Any], list[bytes]]:
        start: dict[str, Any] = {}
        bodies: list[bytes] = []
        delivered = False
        forever = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await forever.wait()
            return {"type": "http.disconnect"}

        async def send(asgi_message: dict[str, Any]) -> None:
            if asgi_message["type"] == "http.response.start":
                start.update(asgi_message)
            else:
                bodies.append(asgi_message.get("body", b""))
                if not asgi_message.get("more_body"):
                    return
                await forever.wait()  # a client that reads nothing more: the stream stays open

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": CHAT,
            "raw_path": CHAT.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        task = asyncio.ensure_future(app(scope, receive, send))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        return task, start, bodies

    async def scenario() -> None:
        held, held_start, _ = await request()
        assert held_start["status"] == 200
        refused, refused_start, refused_bodies = await request()
        await asyncio.wait_for(refused, 5.0)
        assert refused_start["status"] == int(row["over the limit"])
        headers = dict(refused_start["headers"])
        assert headers[b"retry-after"] == b"1"
        error = assert_envelope(
            httpx.Response(
                refused_start["status"], headers=refused_start["headers"], content=b"".join(refused_bodies)
            )
        )
        assert error["type"] == code(row["type"])
        assert error["param"] in params(row["param"])
        assert error["code"] == "too_many_streams"
        held.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held

    asyncio.run(scenario())


def test_the_fixed_limits_are_as_documented(small: Any) -> None:
    fixed = {
        row["limit"].split(",")[0]: row for row in table_rows(section("Limits").split("Two more limits")[1])
    }
    model_row, nesting_row = fixed["model name"], fixed["JSON nesting"]
    too_long = small.post(CHAT, content=encode({"model": "m" * 257, "messages": [message("x")]}))
    assert too_long.status_code == int(model_row["over the limit"])
    assert assert_envelope(too_long)["param"] in params(model_row["param"])
    depth = 1100
    nested = b'{"model": "m", "messages": [{"role": "user"}], "x": ' + b"[" * depth + b"]" * depth + b"}"
    too_deep = small.post(CHAT, content=nested)
    assert too_deep.status_code == int(nesting_row["over the limit"])
    assert assert_envelope(too_deep)["param"] in params(nesting_row["param"])


def test_the_api_key_row_says_what_a_request_without_the_key_gets() -> None:
    row = PROTECTION_ROWS[flag_name("api_key")]
    with TestClient(create_app(Settings(api_key="k"))) as client:
        response = client.post(CHAT, content=b"{}")
    assert str(response.status_code) in row["effect"]
    error = assert_envelope(response)
    assert f"`{error['type']}`" in row["effect"]
    assert f"`{error['code']}`" in row["effect"]
    assert "param null" in row["effect"]
