"""The Dockerfile: read and checked for the image's properties, and its build steps run here.

No container daemon runs on this machine, so the image itself is never built. Instead the
file is parsed (tests/deploy/dockerfile_instructions.py) and its properties checked, and the
one slow test runs the Dockerfile's own RUN commands outside a container: the wheel built
from exactly the files the COPY lines bring in, then installed into a fresh virtualenv, and
the installed command started with the image's environment.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from tests.deploy.dockerfile_instructions import (
    Dockerfile,
    Instruction,
    Stage,
    UnsupportedDockerfileError,
    env_assignments,
    exec_form,
    healthcheck,
    image_environment,
    parse_dockerfile,
    run_steps,
    substitute,
)
from tests.deploy.dockerignore import BuildContext
from tests.server_process import ServerProcess, clean_environ, free_port

from mockcli.config import resolve_settings
from mockcore.settings import ENV_PREFIX, Settings, environment_variable

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
IMAGE_PORT = 8000


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DOCKERFILE)


def console_script() -> str:
    """The name of the console script that starts the server, from pyproject.toml."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    (name,) = [name for name, target in scripts.items() if target == "mockcli.main:run"]
    return str(name)


def copy_sources(stage: Stage) -> list[str]:
    """The context paths the stage's COPY lines bring in (not those copied from other stages)."""
    sources = []
    for copy in stage.all("COPY"):
        if copy.value.startswith("--from="):
            continue
        *paths, _destination = copy.value.split()
        sources.extend(paths)
    return sources


# -- the image's properties ----------------------------------------------------------------------


def test_the_wheel_is_built_in_a_first_stage_of_a_slim_python_311(dockerfile: Dockerfile) -> None:
    build = dockerfile.stages[0]
    assert build.name == "build"
    assert len(dockerfile.stages) == 2
    for stage in dockerfile.stages:
        assert dockerfile.base_image(stage).startswith("python:3.11-slim"), stage.base
    (step,) = build.all("RUN")
    assert "pip wheel" in step.value
    assert "--no-deps" in step.value


def test_the_final_stage_installs_the_wheel_with_the_media_extra_into_a_virtualenv(
    dockerfile: Dockerfile,
) -> None:
    final = dockerfile.final
    assert any(copy.value.startswith("--from=build ") for copy in final.all("COPY"))
    environment = image_environment(final, base={"PATH": "/usr/bin"})
    virtualenv = environment["VIRTUAL_ENV"]
    assert environment["PATH"].startswith(f"{virtualenv}/bin:")
    (install,) = [step for step in final.all("RUN") if "pip install" in step.value]
    assert 'python -m venv "$VIRTUAL_ENV"' in install.value
    assert '"$VIRTUAL_ENV/bin/python" -m pip install' in install.value
    assert ".whl)[media]" in install.value


def test_the_image_runs_as_a_numeric_non_root_user(dockerfile: Dockerfile) -> None:
    user, _, group = dockerfile.final.only("USER").value.partition(":")
    assert user.isdigit()
    assert int(user) != 0
    assert group.isdigit()
    assert int(group) != 0
    (useradd,) = [step for step in dockerfile.final.all("RUN") if "useradd" in step.value]
    assert f"--uid {user}" in useradd.value


def test_the_server_listens_on_every_interface_at_the_exposed_port(dockerfile: Dockerfile) -> None:
    assert dockerfile.final.only("EXPOSE").value == str(IMAGE_PORT)
    environment = image_environment(dockerfile.final, base={})
    assert environment["MOCK_SERVER_HOST"] == "0.0.0.0"  # noqa: S104 - the point of a container image
    assert environment["MOCK_SERVER_PORT"] == str(IMAGE_PORT)


def test_the_configuration_comes_only_from_mock_server_variables_that_are_settings(
    dockerfile: Dockerfile,
) -> None:
    assert exec_form(dockerfile.final.only("ENTRYPOINT").value) == [console_script()]
    assert dockerfile.final.all("CMD") == []  # no flags baked in: everything is a variable
    environment = image_environment(dockerfile.final, base={})
    variables = {name: value for name, value in environment.items() if name.startswith(ENV_PREFIX)}
    known = {environment_variable(field) for field in Settings.__struct_fields__}
    assert set(variables) <= known
    settings = resolve_settings({}, variables)
    assert (settings.host, settings.port) == ("0.0.0.0", IMAGE_PORT)  # noqa: S104


def test_the_healthcheck_asks_health_with_the_images_own_python(dockerfile: Dockerfile) -> None:
    options, command = healthcheck(dockerfile.final.only("HEALTHCHECK").value)
    assert command[:2] == ["python", "-c"]
    assert "urllib.request.urlopen" in command[2]
    assert "/health'" in command[2]
    assert "MOCK_SERVER_PORT" in command[2]  # follows the port a user sets
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)


def test_the_build_context_holds_what_the_copies_need_and_nothing_else(dockerfile: Dockerfile) -> None:
    context = BuildContext(DOCKERIGNORE)
    sources = copy_sources(dockerfile.stage("build"))
    assert sources == ["pyproject.toml", "README.md", "src/"]
    for source in sources:
        for path in [ROOT / source, *(ROOT / source).rglob("*.py")]:
            relative = path.relative_to(ROOT).as_posix()
            assert context.includes(relative) == ("__pycache__" not in relative), relative
    for left_out in [".git/HEAD", ".venv/bin/python", "tests/conftest.py", "docs/api.md", "Dockerfile"]:
        assert not context.includes(left_out), left_out


# -- the reader itself ---------------------------------------------------------------------------


def test_the_reader_joins_continuations_and_skips_comments_inside_them(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(
        "# syntax=docker/dockerfile:1\nARG BASE=python:3.11-slim\nFROM ${BASE} AS one\n"
        "RUN echo a \\\n    # a comment line inside\n    && echo b\n"
    )
    parsed = parse_dockerfile(path)
    assert parsed.base_image(parsed.stage("one")) == "python:3.11-slim"
    (step,) = parsed.stage("one").all("RUN")
    assert step.value == "echo a && echo b"
    assert step.line == 4


def stage_of(lines: str) -> Stage:
    """A stage made of `lines`, one instruction each."""
    stage = Stage(base="scratch", name=None)
    for number, line in enumerate(lines.splitlines(), start=1):
        keyword, _, value = line.partition(" ")
        stage.instructions.append(Instruction(keyword=keyword, value=value, line=number))
    return stage


def test_one_env_line_substitutes_the_values_from_before_it() -> None:
    stage = stage_of('ENV A=1\nENV A=2 B="$A-${A}" C=plain')
    assert image_environment(stage, base={}) == {"A": "2", "B": "1-1", "C": "plain"}
    assert image_environment(stage, base={}, overrides={"A": "9"}) == {"A": "9", "B": "9-9", "C": "plain"}


def test_a_run_step_sees_the_build_arguments_and_the_env_before_it() -> None:
    stage = stage_of("ARG DIR=/default\nENV X=$DIR/x\nRUN use $X\nENV Y=late")
    (step,) = run_steps(stage, base={"PATH": "/bin"}, arguments={"DIR": "/given"})
    assert step.command == "use $X"
    assert step.variables == {"PATH": "/bin", "DIR": "/given", "X": "/given/x"}


def test_the_reader_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(UnsupportedDockerfileError):
        env_assignments("LEGACY value")
    with pytest.raises(UnsupportedDockerfileError):
        env_assignments("A='single'")
    with pytest.raises(UnsupportedDockerfileError):
        substitute("${A:-default}", {})
    with pytest.raises(UnsupportedDockerfileError):
        exec_form("python -c pass")


def test_the_context_reader_lets_the_last_matching_pattern_win(tmp_path: Path) -> None:
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("*\n!keep/\nkeep/**/*.log\n!keep/important.log\n")
    context = BuildContext(ignore)
    assert context.includes("keep/a/b.txt")
    assert not context.includes("keep/a/b.log")
    assert context.includes("keep/important.log")
    assert not context.includes("other/file.txt")


# -- the build steps, run ------------------------------------------------------------------------


def lay_out_context(stage: Stage, context: BuildContext, workdir: Path) -> None:
    """Copy into `workdir` what the stage's COPY lines would, through the .dockerignore."""
    for copy in stage.all("COPY"):
        if copy.value.startswith("--from="):
            continue
        *sources, destination = copy.value.split()
        target = workdir / destination
        for source in sources:
            origin = ROOT / source
            files = sorted(origin.rglob("*")) if origin.is_dir() else [origin]
            for path in files:
                relative = path.relative_to(ROOT).as_posix()
                if path.is_dir() or not context.includes(relative):
                    continue
                inside = path.relative_to(origin) if origin.is_dir() else Path(path.name)
                (target / inside).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / inside)


def run_step(command: str, variables: dict[str, str], cwd: Path) -> None:
    result = subprocess.run(
        ["sh", "-c", command],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{command}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.mark.e2e
@pytest.mark.slow
def test_the_build_steps_make_a_virtualenv_whose_command_serves_health(
    dockerfile: Dockerfile, tmp_path: Path
) -> None:
    """The Dockerfile's RUN commands, outside a container; about 20 s, most of it pip.

    A full install, not the current venv's packages: the fresh virtualenv gets the wheel and
    its `[media]` extra from the package index as the image does (about 17 s measured here
    with a warm pip cache, about the same without), so a dependency missing from
    pyproject.toml fails here. The image's absolute folders move into `tmp_path`: the build
    arguments by value, the virtualenv by overriding `VIRTUAL_ENV` (every later ENV line
    follows it). `python` is this interpreter, standing in for the image's. The one RUN not
    run is the `useradd` (it would change this machine's users).
    """
    wheels, virtualenv, workdir = tmp_path / "wheels", tmp_path / "venv", tmp_path / "src"
    here = clean_environ({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    arguments = {"WHEEL_DIR": str(wheels)}
    build = dockerfile.stage("build")
    lay_out_context(build, BuildContext(DOCKERIGNORE), workdir)
    for step in run_steps(build, here, arguments):
        run_step(step.command, step.variables, cwd=workdir)
    assert len(list(wheels.glob("aiperf_mock_server-*.whl"))) == 1

    overrides = {"VIRTUAL_ENV": str(virtualenv)}
    skipped = []
    for step in run_steps(dockerfile.final, here, arguments, overrides):
        if "$VIRTUAL_ENV" in step.command or "$WHEEL_DIR" in step.command:
            run_step(step.command, step.variables, cwd=tmp_path)
        else:
            skipped.append(step.command)
    assert [command.split()[0] for command in skipped] == ["useradd"]
    python = virtualenv / "bin" / "python"
    imports = subprocess.run(
        [python, "-c", "import PIL, av, mockcli; print(mockcli.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert imports.returncode == 0, imports.stderr
    assert imports.stdout.startswith(str(virtualenv)), imports.stdout  # the wheel, not this checkout

    port = free_port()
    image_env = image_environment(
        dockerfile.final,
        base={"PATH": os.environ["PATH"]},
        overrides={**overrides, "MOCK_SERVER_PORT": str(port)},
    )
    (entrypoint,) = exec_form(dockerfile.final.only("ENTRYPOINT").value)
    command = shutil.which(entrypoint, path=image_env["PATH"])
    assert command == str(virtualenv / "bin" / entrypoint)
    _, check = healthcheck(dockerfile.final.only("HEALTHCHECK").value)
    check[0] = str(shutil.which(check[0], path=image_env["PATH"]))
    assert check[0] == str(python)

    server = ServerProcess([command], port=port, env=image_env)
    try:
        body = server.wait_until_healthy()
        assert body["config"]["host"] == "0.0.0.0"  # noqa: S104
        assert body["config"]["port"] == port
        healthy = subprocess.run(
            check, env=clean_environ(image_env), capture_output=True, timeout=60, check=False
        )
        assert healthy.returncode == 0, healthy.stderr
    finally:
        server.close()
    unhealthy = subprocess.run(
        check, env=clean_environ(image_env), capture_output=True, timeout=60, check=False
    )
    assert unhealthy.returncode != 0
