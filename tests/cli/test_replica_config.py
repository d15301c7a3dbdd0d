"""The replica's name from flags, `MOCK_SERVER_REPLICA_NAME` or `POD_NAME`, and what it implies."""

import subprocess
import sys
from typing import Any

import pytest
from tests.server_process import clean_environ
from typer.testing import CliRunner

from mockcli.config import POD_NAME_ENV, ConfigError, resolve_settings
from mockcli.main import EXIT_INVALID_OPTION, app
from mockcore.settings import Settings


def test_pod_name_is_the_replica_name_when_none_is_given() -> None:
    settings = resolve_settings({}, {POD_NAME_ENV: "mock-server-2"})
    assert settings.replica_name == "mock-server-2"
    assert settings.dcgm_hostname == "mock-server-2"
    assert settings.dcgm_seed == 0


@pytest.mark.parametrize(
    ("flags", "environ"),
    [
        ({"replica_name": "from-flag"}, {POD_NAME_ENV: "mock-server-2"}),
        ({}, {"MOCK_SERVER_REPLICA_NAME": "from-flag", POD_NAME_ENV: "mock-server-2"}),
        ({"replica_name": "from-flag"}, {"MOCK_SERVER_REPLICA_NAME": "from-env"}),
    ],
)
def test_a_given_replica_name_wins_over_pod_name(flags: dict[str, Any], environ: dict[str, str]) -> None:
    assert resolve_settings(flags, environ).replica_name == "from-flag"


def test_an_empty_pod_name_or_none_leaves_the_server_no_replica() -> None:
    assert resolve_settings({}, {POD_NAME_ENV: ""}) == Settings()
    assert resolve_settings({}, {}) == Settings()


@pytest.mark.parametrize(
    ("flags", "environ"),
    [({"dcgm_hostname": "gpu-node-a"}, {}), ({}, {"MOCK_SERVER_DCGM_HOSTNAME": "gpu-node-a"})],
    ids=["flag", "env"],
)
def test_an_explicit_dcgm_hostname_wins_over_the_replica_name(
    flags: dict[str, Any], environ: dict[str, str]
) -> None:
    settings = resolve_settings(flags, {POD_NAME_ENV: "mock-server-2", **environ})
    assert (settings.replica_name, settings.dcgm_hostname) == ("mock-server-2", "gpu-node-a")


def test_an_explicit_dcgm_seed_wins_over_the_replica_default() -> None:
    assert resolve_settings({"dcgm_seed": "9"}, {POD_NAME_ENV: "mock-server-2"}).dcgm_seed == 9


@pytest.mark.parametrize(("random_seed", "expected"), [(None, 3), ("100", 103)])
def test_seed_from_ordinal_adds_the_pod_ordinal(random_seed: str | None, expected: int) -> None:
    environ = {POD_NAME_ENV: "mock-server-3", "MOCK_SERVER_SEED_FROM_ORDINAL": "true"}
    assert resolve_settings({"random_seed": random_seed}, environ).random_seed == expected


@pytest.mark.parametrize(
    ("flags", "environ", "message"),
    [
        (
            {"seed_from_ordinal": True},
            {POD_NAME_ENV: "mock-server-7d9f8b5c4-x2k9z"},
            "--seed-from-ordinal needs a replica name ending in -<ordinal>, "
            "but --replica-name (from POD_NAME) is 'mock-server-7d9f8b5c4-x2k9z'.",
        ),
        (
            {},
            {"MOCK_SERVER_SEED_FROM_ORDINAL": "true", "MOCK_SERVER_REPLICA_NAME": "mock"},
            "--seed-from-ordinal (from MOCK_SERVER_SEED_FROM_ORDINAL) needs a replica name ending in "
            "-<ordinal>, but --replica-name (from MOCK_SERVER_REPLICA_NAME) is 'mock'.",
        ),
        (
            {"seed_from_ordinal": True},
            {},
            "--seed-from-ordinal needs a replica name ending in -<ordinal>: "
            "set POD_NAME, MOCK_SERVER_REPLICA_NAME or --replica-name.",
        ),
    ],
)
def test_seed_from_ordinal_without_an_ordinal_names_where_the_name_came_from(
    flags: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_settings(flags, environ)
    assert str(raised.value) == message


def test_the_command_refuses_to_start_without_an_ordinal(captured_settings: list[Settings]) -> None:
    result: Any = CliRunner().invoke(
        app, ["--seed-from-ordinal"], env={POD_NAME_ENV: "mock-server"}, catch_exceptions=False
    )
    assert result.exit_code == EXIT_INVALID_OPTION
    assert captured_settings == []
    assert result.stderr.splitlines() == [
        "Error: --seed-from-ordinal needs a replica name ending in -<ordinal>, "
        "but --replica-name (from POD_NAME) is 'mock-server'."
    ]


def test_the_command_takes_pod_name(captured_settings: list[Settings]) -> None:
    result = CliRunner().invoke(
        app, ["--seed-from-ordinal"], env={POD_NAME_ENV: "mock-server-4"}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    (settings,) = captured_settings
    assert (settings.replica_name, settings.dcgm_hostname, settings.random_seed) == (
        "mock-server-4",
        "mock-server-4",
        4,
    )


def test_a_real_process_exits_2_with_one_line() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mockcli", "--seed-from-ordinal"],
        env=clean_environ({POD_NAME_ENV: "mock-server-x"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == EXIT_INVALID_OPTION, completed.stderr
    assert completed.stderr.splitlines() == [
        "Error: --seed-from-ordinal needs a replica name ending in -<ordinal>, "
        "but --replica-name (from POD_NAME) is 'mock-server-x'."
    ]


def test_the_test_environment_never_leaks_a_pod_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside a pod, the suite's servers must still be no replica unless a test says so."""
    monkeypatch.setenv(POD_NAME_ENV, "ci-runner-0")
    assert POD_NAME_ENV not in clean_environ()
    assert clean_environ({POD_NAME_ENV: "mock-0"})[POD_NAME_ENV] == "mock-0"
