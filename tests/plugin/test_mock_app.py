"""`mock_app` and `mock_app_factory`: the mock in-process, with the marker's options (no server)."""

import pytest

INNER_SUITE = """
import asyncio

import httpx
import pytest

CHAT = {"model": "m", "messages": [{"role": "user", "content": "in process"}]}


def post_all(mock_app, bodies):
    async def send():
        transport = httpx.ASGITransport(app=mock_app.app)
        async with httpx.AsyncClient(transport=transport, base_url=mock_app.base_url) as client:
            return [await client.post("/v1/chat/completions", json=body) for body in bodies]

    return asyncio.run(send())


def content(response):
    return response.json()["choices"][0]["message"]["content"]


def test_without_a_marker_the_app_has_the_default_options(mock_app):
    assert (mock_app.settings.ttft, mock_app.settings.error_rate) == (20.0, 0.0)
    assert mock_app.openai_base_url == mock_app.base_url + "/v1"


@pytest.mark.mock_server(ttft=0, itl=0, error_rate=50, random_seed=7)
def test_the_marker_options_and_the_predicted_faults(mock_app):
    responses = post_all(mock_app, [CHAT] * 8)
    predicted = [mock_app.predict("/v1/chat/completions", CHAT, sequence_number=n) for n in range(1, 9)]
    assert {p.status_code for p in predicted} == {200, 500}  # the seed gives both
    assert [r.status_code for r in responses] == [p.status_code for p in predicted]
    for response, prediction in zip(responses, predicted):
        if prediction.status_code == 200:
            assert content(response) == prediction.plan.choices[0].content_text


def test_the_factory_builds_a_fresh_app_per_call(mock_app_factory):
    first, second = mock_app_factory(ttft=0, itl=0), mock_app_factory(ttft=0, itl=0.5)
    assert first.app is not second.app
    assert (first.settings.itl, second.settings.itl) == (0.0, 0.5)
    (response,) = post_all(second, [CHAT])
    assert content(response) == second.predict("chat", CHAT).plan.choices[0].content_text


@pytest.mark.mock_server(ttft="soon")
def test_a_bad_marker_value(mock_app):
    pass


def test_a_bad_factory_option(mock_app_factory):
    mock_app_factory(itl_ms=0)
"""


def test_the_in_process_fixtures_honour_their_options(user_suite: pytest.Pytester) -> None:
    user_suite.makepyfile(test_user=INNER_SUITE)
    result = user_suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_a_bad_marker_value*",
            "mock_server(ttft='soon'): Invalid value 'soon' for --ttft: expected number >= 0.",
            "*test_a_bad_factory_option*",
            "mock_server(itl_ms=0): unknown option 'itl_ms'; did you mean itl*",
        ]
    )
    result.stdout.no_fnmatch_line("*During handling of the above exception*")
