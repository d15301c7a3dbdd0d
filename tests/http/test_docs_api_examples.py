"""Every curl example of `docs/api.md` runs against a real server and answers its sample.

Each ```bash block whose first line starts with `curl` is run with the URL pointed at a test
server started with the default settings; the code block right after it is the sample answer.
The live answer must be a 2xx with a valid JSON or SSE body equal to the sample, once the
volatile parts (ids, `created`, the port in `config`) are masked. The examples run with curl
when it is installed, and are always also replayed with httpx from the parsed command line.
"""

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockcore import Settings, predict

pytestmark = pytest.mark.e2e

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOCS_URL = "http://localhost:8000"
DOCUMENTED_ROUTES = {
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/ranking",
    "/v1/models",
    "/health",
    "/",
    "/reset_prefix_cache",
    "/control/events",
}
MASK = "<volatile>"
_CODE_BLOCK = re.compile(r"^```(?P<language>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """A curl command of the page and the sample answer printed under it."""

    command: str
    sample_language: str
    sample: str

    @property
    def arguments(self) -> list[str]:
        """The command line as curl sees it (backslash-newline continuations joined)."""
        return shlex.split(self.command.replace("\\\n", " "))

    @property
    def path(self) -> str:
        url = next(argument for argument in self.arguments[1:] if argument.startswith(DOCS_URL))
        return url.removeprefix(DOCS_URL)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str


def read_examples() -> list[Example]:
    blocks = [(match["language"], match["body"]) for match in _CODE_BLOCK.finditer(API_PAGE.read_text())]
    examples = []
    for position, (language, body) in enumerate(blocks):
        if language == "bash" and body.startswith("curl"):
            sample_language, sample = blocks[position + 1]
            examples.append(Example(command=body, sample_language=sample_language, sample=sample))
    return examples


EXAMPLES = read_examples()


def run_with_curl(arguments: list[str]) -> Answer:
    completed = subprocess.run(
        [*arguments, "--silent", "--show-error", "--write-out", "\n%{http_code} %{content_type}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    body, trailer = completed.stdout.rsplit("\n", 1)
    status, content_type = trailer.split(" ", 1)
    return Answer(status=int(status), content_type=content_type, body=body)


def replay_with_httpx(arguments: list[str]) -> Answer:
    """Replay the curl options the page uses; any other option fails the test."""
    assert arguments[0] == "curl"
    method: str | None = None
    headers: dict[str, str] = {}
    data: str | None = None
    url: str | None = None
    options = iter(arguments[1:])
    for option in options:
        if option in {"-H", "--header"}:
            name, value = next(options).split(":", 1)
            headers[name.strip()] = value.strip()
        elif option in {"-d", "--data", "--data-raw"}:
            data = next(options)
        elif option in {"-X", "--request"}:
            method = next(options)
        elif option in {"-N", "--no-buffer", "-s", "--silent"}:
            pass
        elif not option.startswith("-"):
            url = option
        else:
            pytest.fail(f"the httpx replay does not know curl option {option}")
    assert url is not None
    response = httpx.request(
        method or ("POST" if data is not None else "GET"), url, headers=headers, content=data, timeout=30.0
    )
    return Answer(
        status=response.status_code, content_type=response.headers.get("content-type", ""), body=response.text
    )


RUNNERS: dict[str, Callable[[list[str]], Answer]] = {"curl": run_with_curl, "httpx": replay_with_httpx}


def masked(value: Any, key: str | None = None, parent: str | None = None) -> Any:
    """`value` with what changes between runs replaced by a marker."""
    if key == "events":  # control calls: which ones depends on the examples that ran before
        return MASK
    if isinstance(value, dict):
        return {name: masked(item, name, key) for name, item in value.items()}
    if isinstance(value, list):
        return [masked(item, key, parent) for item in value]
    volatile = (
        key == "created"
        or (key == "id" and isinstance(value, str) and value.startswith(("chatcmpl-", "cmpl-")))
        or (parent == "config" and key == "port")
        # Control events depend on which examples ran before (and when) on the shared server.
        or key in {"at_unix_s", "sequence", "total"}
        or parent == "counts"
    )
    return MASK if volatile else value


def sse_events(text: str) -> list[Any]:
    """The data of every event, framed `data: ...` + blank line; JSON decoded, `[DONE]` kept."""
    events = []
    for frame in text.strip("\n").split("\n\n"):
        assert frame.startswith("data: "), frame
        data = frame.removeprefix("data: ")
        events.append(data if data == "[DONE]" else masked(json.loads(data)))
    assert events[-1] == "[DONE]"
    return events


@pytest.fixture(scope="module")
def docs_server(start_server: Any) -> str:
    """A server with the defaults the page's samples were taken with."""
    url: str = start_server(Settings())
    return url


def test_the_page_has_an_example_for_every_route() -> None:
    assert {example.path for example in EXAMPLES} == DOCUMENTED_ROUTES
    assert any('"stream": true' in example.command for example in EXAMPLES)
    assert any("reasoning_effort" in example.command for example in EXAMPLES)


@pytest.mark.parametrize("runner", list(RUNNERS))
@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{n}-{example.path}" for n, example in enumerate(EXAMPLES)]
)
def test_a_documented_example_answers_its_sample(docs_server: str, runner: str, example: Example) -> None:
    if runner == "curl" and shutil.which("curl") is None:
        pytest.skip("curl is not installed; the httpx replay covers the example")
    arguments = [argument.replace(DOCS_URL, docs_server) for argument in example.arguments]
    answer = RUNNERS[runner](arguments)
    assert 200 <= answer.status < 300, answer.body
    if example.sample_language == "text":
        assert answer.content_type.startswith("text/event-stream")
        assert answer.body.endswith("data: [DONE]\n\n")
        assert sse_events(answer.body) == sse_events(example.sample)
    else:
        assert example.sample_language == "json"
        assert answer.content_type.startswith("application/json")
        assert masked(json.loads(answer.body)) == masked(json.loads(example.sample))


def test_the_documented_error_envelope_is_what_the_server_says() -> None:
    samples = [
        match["body"] for match in _CODE_BLOCK.finditer(API_PAGE.read_text()) if match["language"] == "json"
    ]
    envelope = next(json.loads(sample) for sample in samples if '"error"' in sample)
    prediction = predict("chat", {"model": "m", "messages": []})
    assert prediction.error is not None
    assert envelope == {
        "error": {
            "message": prediction.error.message,
            "type": prediction.error.type,
            "param": prediction.error.param,
            "code": prediction.error.code,
        }
    }
