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
from botocore.eventstream import EventStreamBuffer

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
    "/v1/responses",
    "/v1/messages",
    "/generate",
    "/generate_stream",
    "/endpoints/my-model/invocations",
    "/endpoints/my-model/invocations-response-stream",
    "/rerank",
    "/v1/infer",
    "/rag/api/prompt",
}
# Ids that change with every request (tool-call ids are drawn from the prompt and stay).
VOLATILE_ID_PREFIXES = ("chatcmpl-", "cmpl-", "resp_", "msg_", "rs_", "fc_")
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
    content: bytes

    @property
    def body(self) -> str:
        """The text of the answer; an event-stream answer is its frames' payloads joined."""
        if self.content_type.startswith("application/vnd.amazon.eventstream"):
            frames = EventStreamBuffer()
            frames.add_data(self.content)
            return b"".join(message.payload for message in frames).decode()
        return self.content.decode()


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
        timeout=30,
        check=True,
    )
    content, trailer = completed.stdout.rsplit(b"\n", 1)
    status, content_type = trailer.decode().split(" ", 1)
    return Answer(status=int(status), content_type=content_type, content=content)


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
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        content=response.content,
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
        key in {"created", "created_at"}
        or (key in {"id", "item_id"} and isinstance(value, str) and value.startswith(VOLATILE_ID_PREFIXES))
        or (parent == "config" and key == "port")
        # Control events depend on which examples ran before (and when) on the shared server.
        or key in {"at_unix_s", "sequence", "total"}
        or parent == "counts"
    )
    return MASK if volatile else value


def sse_events(text: str) -> list[Any]:
    """(event name, data) of every event, framed `[event: name\\n]data:[ ]...` + blank line.

    The data is JSON decoded (and masked); OpenAI's closing `[DONE]` is kept as it is.
    """
    events = []
    for frame in text.strip("\n").split("\n\n"):
        name = None
        data_line = frame
        if frame.startswith("event: "):
            name, data_line = frame.removeprefix("event: ").split("\n", 1)
        assert data_line.startswith("data:"), frame
        data = data_line.removeprefix("data:").removeprefix(" ")
        events.append((name, data if data == "[DONE]" else masked(json.loads(data))))
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
        assert answer.content_type.startswith(("text/event-stream", "application/vnd.amazon.eventstream"))
        if example.sample.rstrip("\n").endswith("[DONE]"):
            assert answer.body.endswith("data: [DONE]\n\n")
        assert sse_events(answer.body) == sse_events(example.sample)
    else:
        assert example.sample_language == "json"
        assert answer.content_type.startswith("application/json")
        assert masked(json.loads(answer.body)) == masked(json.loads(example.sample))


def test_the_documented_error_envelope_is_what_the_server_says() -> None:
    errors_section = API_PAGE.read_text().split("\n## Errors", 1)[1]
    samples = [match["body"] for match in _CODE_BLOCK.finditer(errors_section) if match["language"] == "json"]
    envelope = next(json.loads(sample) for sample in samples if sample.lstrip().startswith('{\n  "error"'))
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
