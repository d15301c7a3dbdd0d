"""Every Python example of the behaviour docs runs, and its asserts hold (STYLE: docs cannot rot)."""

import re
from pathlib import Path

import pytest

BEHAVIOUR_DOC = Path(__file__).parents[2] / "docs" / "behaviour.md"
PYTHON_BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(document: Path) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of `document`."""
    text = document.read_text(encoding="utf-8")
    return [(text.count("\n", 0, match.start()) + 1, match["code"]) for match in PYTHON_BLOCK.finditer(text)]


EXAMPLES = python_blocks(BEHAVIOUR_DOC)


def test_the_behaviour_docs_have_a_runnable_example_that_checks_itself() -> None:
    assert EXAMPLES
    assert all("assert " in code for _, code in EXAMPLES)


@pytest.mark.parametrize(("line", "code"), EXAMPLES, ids=[f"behaviour.md:{line}" for line, _ in EXAMPLES])
def test_the_example_runs_and_its_asserts_hold(
    line: int, code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(code, f"{BEHAVIOUR_DOC}:{line}", "exec"), {"__name__": "__docs__"})  # noqa: S102
    assert capsys.readouterr().out  # the example shows what it claims
