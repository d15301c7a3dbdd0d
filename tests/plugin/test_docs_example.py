"""The example test of docs/testing.md runs, as a user's suite, and passes."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TESTING_PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
SECTION = "## Using the mock in your own test suite"


def example() -> str:
    section = TESTING_PAGE.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return block


def test_the_documented_example_passes_as_written(user_suite: pytest.Pytester) -> None:
    code = example()
    assert "mock_server.predict(" in code
    assert "stream=True" in code
    user_suite.makepyfile(test_example=code)
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", timeout=180)
    result.assert_outcomes(passed=code.count("\ndef test_"))
