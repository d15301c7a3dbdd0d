"""Marker options become the server's own command line and Settings, or one clear error."""

import re

import pytest

from mockcore import Settings, predict
from mockpytest.options import MockServerOptionError, cli_values, command_line, resolve, server_environ
from mockpytest.prediction import predict_answer, route_of

CHAT = {"model": "m", "messages": [{"role": "user", "content": "what do you predict"}]}


def test_options_become_the_flags_of_the_server() -> None:
    options = {
        "ttft": 0,
        "error_rate": 2.5,
        "fast": True,
        "control_headers": False,
        "random_seed": None,
        "fault_mix": "server_error=1",
    }
    assert command_line(cli_values(options)) == [
        "--ttft",
        "0",
        "--error-rate",
        "2.5",
        "--fast",
        "--no-control-headers",
        "--fault-mix",
        "server_error=1",
    ]


def test_the_settings_are_resolved_by_the_servers_own_code() -> None:
    settings = resolve({"ttft": 0, "error_rate": 5, "workers": 2}, {}, port=43210)
    assert (settings.ttft, settings.error_rate, settings.workers) == (0.0, 5.0, 2)
    assert (settings.port, settings.host) == (43210, "127.0.0.1")


def test_the_test_process_environment_does_not_configure_the_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_SERVER_TTFT", "99")
    environ = server_environ()
    assert "MOCK_SERVER_TTFT" not in environ
    assert resolve({}, environ).ttft == Settings().ttft


def test_a_suite_run_inside_a_pod_gets_no_replica_unless_it_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "ci-runner-7")
    environ = server_environ()
    assert "POD_NAME" not in environ
    assert resolve({}, environ).replica_name == ""
    assert resolve({"replica_name": "mock-3"}, environ).dcgm_hostname == "mock-3"


def test_the_plugin_strips_the_variable_the_config_layer_reads() -> None:
    from mockcli.config import POD_NAME_ENV
    from mockpytest import options

    assert POD_NAME_ENV == options._POD_NAME_ENV


def test_a_value_out_of_range_names_the_option_and_its_valid_range() -> None:
    expected = "mock_server(ttft=-1): Invalid value '-1' for --ttft: expected number >= 0."
    with pytest.raises(MockServerOptionError, match=re.escape(expected)):
        resolve({"ttft": -1}, {})


def test_an_unknown_option_suggests_the_names_it_resembles() -> None:
    with pytest.raises(MockServerOptionError, match="unknown option 'ttfb'; did you mean ttft"):
        cli_values({"ttfb": 0})


@pytest.mark.parametrize("name", ["port", "host"])
def test_the_port_and_host_are_chosen_by_the_plugin(name: str) -> None:
    with pytest.raises(MockServerOptionError, match=f"the plugin chooses the {name}"):
        cli_values({name: "8000"})


def test_a_value_that_is_not_a_scalar_is_refused() -> None:
    with pytest.raises(MockServerOptionError, match="ttft must be a number, a string or a bool, not list"):
        cli_values({"ttft": [0]})


def test_an_engine_the_server_cannot_run_fails_before_anything_starts() -> None:
    with pytest.raises(
        MockServerOptionError, match=r"mock_server\(engine='no-such-model'\): --engine no-such-model"
    ):
        resolve({"engine": "no-such-model"}, {})


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("chat", "chat"),
        ("/v1/chat/completions", "chat"),
        ("/v1/completions", "completions"),
        ("/generate_stream", "generate_stream"),
        ("/v2/rerank", "cohere_rerank"),
    ],
)
def test_a_route_is_named_or_given_by_its_path(route: str, expected: str) -> None:
    assert route_of(route) == expected


def test_an_unknown_route_lists_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown route '/v1/chat'.*chat.*/v1/chat/completions"):
        route_of("/v1/chat")


def test_the_prediction_is_mockcores_with_the_mocks_settings() -> None:
    settings = Settings(ttft=0, itl=0, error_rate=50, random_seed=3)
    for number in range(1, 6):
        assert predict_answer(settings, "/v1/chat/completions", CHAT, sequence_number=number) == predict(
            "chat", CHAT, settings, sequence_number=number
        )
