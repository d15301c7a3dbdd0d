"""docs/scale-out.md cannot rot: its commands, samples, manifest excerpts and figures are checked.

Every `aiperf-mock-server` command runs in-process (without serving) and must name the replica
the page says; the `/health` sample is what that replica answers; every `$ command` of a
```console block prints exactly the lines under it; the Python example prints the ```text
block under it; every ```yaml excerpt is in the manifest its first line names; every `kubectl
-k` path is a kustomization; the capacity figures are those of docs/performance.md; and, where
aiperf can be run, every aiperf flag of the page is one `aiperf profile --help` lists.
"""

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from typer.testing import CliRunner

from mockcli.main import EXIT_INVALID_OPTION, app
from mockcore.settings import Settings
from mockhttp import create_app

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scale-out.md"
PERFORMANCE = ROOT / "docs" / "performance.md"
_BLOCK = re.compile(r"^```(?P<language>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=.*")


def blocks() -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in page order."""
    return [(match["language"], match["body"]) for match in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def block_after(predicate: Callable[[str], bool], language: str) -> str:
    """The body of the first `language` block right after the block `predicate` accepts."""
    page = blocks()
    for (_, body), (next_language, next_body) in itertools.pairwise(page):
        if predicate(body):
            assert next_language == language, f"no ```{language} block after {body!r}"
            return next_body
    pytest.fail("no such block on the page")


def shell_commands() -> list[tuple[dict[str, str], list[str]]]:
    """(environment, words) of every command of the ```bash blocks; `&` and pipes cut off."""
    commands = []
    for language, body in blocks():
        if language != "bash":
            continue
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if "|" in words:
                words = words[: words.index("|")]
            environment = {}
            while words and _ASSIGNMENT.fullmatch(words[0]):
                key, value = words.pop(0).split("=", 1)
                environment[key] = value
            commands.append((environment, [word for word in words if word != "&"]))
    return commands


def commands_of(program: str) -> list[tuple[dict[str, str], list[str]]]:
    return [(environment, words[1:]) for environment, words in shell_commands() if words[0] == program]


def run_server_command(environment: dict[str, str], args: list[str]) -> Settings:
    """The settings `aiperf-mock-server args` starts with, run in-process without serving."""
    captured: list[Settings] = []
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("MOCK_SERVER_") or name == "POD_NAME":
                patch.delenv(name)
        patch.setattr("mockcli.main.serve", captured.append)
        patch.setattr("mockcli.main.configure_logging", lambda *_args: None)
        result = CliRunner().invoke(app, args, env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (settings,) = captured
    return settings


# -- the replicas on one machine -------------------------------------------------------------


def test_every_server_command_starts_the_replica_its_pod_name_says() -> None:
    servers = commands_of("aiperf-mock-server")
    assert len(servers) == 3
    for ordinal, (environment, args) in enumerate(servers):
        settings = run_server_command(environment, args)
        name = environment["POD_NAME"]
        assert name == f"mock-server-{ordinal}"
        assert (settings.replica_name, settings.dcgm_hostname) == (name, name)
        assert settings.random_seed == 100 + ordinal
        assert settings.error_rate == 2.0


def test_the_health_sample_is_what_that_replica_answers() -> None:
    (curl,) = commands_of("curl")
    url = next(word for word in curl[1] if word.startswith("http://"))
    port = url.split(":")[2].split("/")[0]
    environment, args = next(
        (environment, args) for environment, args in commands_of("aiperf-mock-server") if port in args
    )
    sample = json.loads(block_after(lambda body: "jq .replica" in body, "json"))
    with TestClient(create_app(run_server_command(environment, args))) as client:
        assert client.get("/health").json()["replica"] == sample


def console_sessions() -> list[tuple[str, list[str]]]:
    sessions: list[tuple[str, list[str]]] = []
    for language, body in blocks():
        if language != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                sessions.append((line[2:], []))
            else:
                sessions[-1][1].append(line)
    return sessions


@pytest.mark.parametrize(("command", "expected"), console_sessions(), ids=lambda value: str(value)[:60])
def test_a_console_session_prints_what_the_page_shows(
    captured_settings: list[Settings], command: str, expected: list[str]
) -> None:
    words = shlex.split(command)
    environment = {}
    while _ASSIGNMENT.fullmatch(words[0]):
        key, value = words.pop(0).split("=", 1)
        environment[key] = value
    assert words[0] == "aiperf-mock-server"
    result: Any = CliRunner().invoke(app, words[1:], env=environment, catch_exceptions=False)
    assert result.exit_code == EXIT_INVALID_OPTION
    assert captured_settings == []
    assert result.stderr.splitlines() == expected


def test_the_page_has_its_sessions() -> None:
    assert len(console_sessions()) == 2


def test_the_python_example_prints_what_the_page_shows() -> None:
    (example,) = [body for language, body in blocks() if language == "python"]
    expected = block_after(lambda body: body == example, "text")
    completed = subprocess.run(
        [sys.executable, "-c", example], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == expected


# -- Kubernetes --------------------------------------------------------------------------------


def container_env(manifest: Path) -> list[list[dict[str, Any]]]:
    """The `env` list of every container of every document of a manifest file."""
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the manifests")
    envs = []
    for document in yaml.safe_load_all(manifest.read_text(encoding="utf-8")):
        pod = ((document or {}).get("spec") or {}).get("template", {}).get("spec", {})
        envs += [container.get("env", []) for container in pod.get("containers", [])]
    return envs


def test_every_yaml_excerpt_is_in_the_manifest_it_names() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the manifests")
    excerpts = [body for language, body in blocks() if language == "yaml"]
    assert len(excerpts) == 2
    for excerpt in excerpts:
        source = excerpt.splitlines()[0].removeprefix("# ")
        manifest = ROOT / source
        assert manifest.is_file(), source
        entries = yaml.safe_load(excerpt)
        assert any(all(entry in env for entry in entries) for env in container_env(manifest)), source


def test_every_kubectl_path_is_a_kustomization() -> None:
    paths = [args[args.index("-k") + 1] for _, args in commands_of("kubectl") if "-k" in args]
    assert paths
    for path in paths:
        assert (ROOT / path / "kustomization.yaml").is_file(), path


def test_the_manifests_and_names_the_page_refers_to_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in sorted(set(re.findall(r"`((?:deploy/[\w/.-]+)|Dockerfile)`", text))):
        assert (ROOT / path).exists(), path
    manifests = "\n".join(path.read_text() for path in (ROOT / "deploy").rglob("*.yaml"))
    for name in (
        "aiperf-mock-server",
        "aiperf-mock-server-headless",
        "PodMonitor",
        "HorizontalPodAutoscaler",
    ):
        assert name in text
        assert re.search(rf"\b{name}\b", manifests), name


# -- capacity ----------------------------------------------------------------------------------


def _unwrapped(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_capacity_figures_and_machine_are_those_of_performance_md() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Capacity per replica", 1)[1]
    performance = _unwrapped(PERFORMANCE.read_text(encoding="utf-8"))
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 5
    for row in rows:
        figure = row.split("|")[2].strip().split()[0]
        assert figure in performance, row
    for quoted in re.findall(r"\b\d[\d,]*\.\d+ ms\b|\b\d{1,3}(?:,\d{3})+ tokens/s\b", section):
        assert quoted.split()[0] in performance, quoted
    machine = re.search(r"Machine: (.*?)\.\n", section, re.DOTALL)
    assert machine is not None
    assert _unwrapped(machine[1]) in performance


# -- aiperf --------------------------------------------------------------------------------------


def aiperf_command() -> list[str] | None:
    """How to run aiperf here: $AIPERF, `aiperf` on PATH, or the sibling offline wrapper once installed."""
    if os.environ.get("AIPERF"):
        return shlex.split(os.environ["AIPERF"])
    if found := shutil.which("aiperf"):
        return [found]
    wrapper = ROOT.parent / "shared" / "tools" / "aiperf-offline"
    home = Path(os.environ.get("AIPERF_HOME", Path.home() / ".cache" / "aiperf-offline"))
    if wrapper.is_file() and (home / "venv" / "bin" / "aiperf").exists():
        return [str(wrapper)]
    return None


def test_every_aiperf_flag_is_one_aiperf_has() -> None:
    runs = commands_of("aiperf")
    assert len(runs) == 3
    assert all(args[0] == "profile" for _, args in runs)
    command = aiperf_command()
    if command is None:
        pytest.skip("aiperf is not installed (set AIPERF to a command that runs it)")
    completed = subprocess.run(
        [*command, "profile", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert completed.returncode == 0, completed.stderr
    known = set(re.findall(r"--[a-z0-9][a-z0-9-]*", completed.stdout))
    for _, args in runs:
        for flag in (word for word in args if word.startswith("--")):
            assert flag in known, flag
