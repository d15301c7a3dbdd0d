"""docs/metrics.md cannot rot: its example runs, and its tables name exactly the served families."""

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from mockcore import Settings
from mockhttp import create_app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
TABLES = {  # section heading -> the paths whose families its table lists
    "## vLLM": ["/metrics"],
    "## The server's own": ["/metrics"],
    "## SGLang": ["/sglang/metrics"],
    "## TensorRT-LLM": ["/trtllm/metrics"],
    "## Dynamo": [
        "/dynamo_frontend/metrics",
        "/dynamo_component/prefill/metrics",
        "/dynamo_component/decode/metrics",
    ],
}


@pytest.fixture(scope="module")
def client() -> Any:
    with TestClient(create_app(Settings())) as test_client:
        yield test_client


def section(heading: str) -> str:
    start = DOC.index(heading)
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def documented_names(text: str) -> set[str]:
    """Family names in the first column of a section's table (`a`, `b` and `..._c` forms)."""
    names: set[str] = set()
    for row in re.findall(r"^\| (.+?) \|", text, flags=re.MULTILINE):
        for name in re.findall(r"`([^`]+)`", row):
            names.add(name.split("{")[0])
    expanded = set()
    for name in names:
        if name.startswith("..."):
            prefix = next(full for full in names if full.startswith("dynamo_component_kvstats_"))
            expanded.add(prefix.rsplit("_kvstats_", 1)[0] + "_kvstats" + name.removeprefix("..."))
        else:
            expanded.add(name)
    return expanded


def served_names(client: Any, paths: list[str]) -> set[str]:
    text = "".join(client.get(path).text for path in paths)
    return set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))


@pytest.mark.parametrize("heading", sorted(TABLES))
def test_each_table_lists_exactly_the_families_served(client: Any, heading: str) -> None:
    documented = documented_names(section(heading))
    served = served_names(client, TABLES[heading])
    if heading == "## vLLM":
        served = {name for name in served if name.startswith("vllm:")}
    if heading == "## The server's own":
        served = {name for name in served if name.startswith("aiperf_mock_")}
    assert documented == served


def test_the_curl_example_prints_what_the_page_shows(client: Any) -> None:
    command, shown = re.search(
        r"```bash\n(curl -s [^\n]+)\n```\n\n```text\n(.*?)```", DOC, flags=re.DOTALL
    ).groups()
    pattern = re.search(r"grep -E '(.+)'", command).group(1)
    path = re.search(r"http://localhost:8000(\S+)", command).group(1)
    lines = [line for line in client.get(path).text.splitlines() if re.search(pattern, line)]
    assert lines == shown.splitlines()
