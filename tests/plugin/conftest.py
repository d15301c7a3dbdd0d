"""A scratch test suite for the plugin's tests: strict as ours, so a warning of the plugin fails it."""

import pytest


@pytest.fixture
def user_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """`pytester` with an ini file that turns every warning into an error."""
    pytester.makeini("[pytest]\nfilterwarnings =\n    error\n")
    return pytester
