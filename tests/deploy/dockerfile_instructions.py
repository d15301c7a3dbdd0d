"""A reader of the Dockerfile instructions our Dockerfile uses, so that tests can check it.

No container daemon runs here, so the tests read the file and run its build steps themselves.
The subset: comments and parser directives (skipped), `\\` line continuations, a global
`ARG` before the first `FROM`, `FROM image [AS name]`, exec-form (`["a", "b"]`) and shell-form
arguments, `ENV key=value ...` (double quotes only) and `$VAR` / `${VAR}` substitution without
modifiers. Anything outside it raises `UnsupportedDockerfileError` instead of being read wrongly.
"""

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
_MODIFIER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:")
_FROM = re.compile(r"^(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?$", re.IGNORECASE)


class UnsupportedDockerfileError(ValueError):
    """A construct this small reader does not understand."""


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case), its arguments as written, its first line."""

    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    """One `FROM` and the instructions up to the next."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """The instructions of this stage with `keyword`, in order."""
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def only(self, keyword: str) -> Instruction:
        """The one instruction with `keyword` (a test failure names what it found)."""
        found = self.all(keyword)
        assert len(found) == 1, f"expected one {keyword} in stage {self.name or self.base}, found {found}"
        return found[0]


@dataclass(frozen=True)
class StepEnvironment:
    """A RUN command and the variables in effect for it (build arguments and ENV)."""

    command: str
    variables: dict[str, str]


@dataclass
class Dockerfile:
    """The stages of a Dockerfile and its global build arguments."""

    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        """The stage named `name` (`FROM ... AS name`)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)

    @property
    def final(self) -> Stage:
        """The stage the image is made of."""
        return self.stages[-1]

    def base_image(self, stage: Stage) -> str:
        """The stage's base image with the global arguments substituted."""
        return substitute(stage.base, self.global_args)


def parse_dockerfile(path: Path) -> Dockerfile:
    """Read `path` into stages of instructions."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in _instructions(path.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            match = _FROM.match(instruction.value)
            if match is None:
                raise UnsupportedDockerfileError(f"line {instruction.line}: FROM {instruction.value}")
            stages.append(Stage(base=match["image"], name=match["name"]))
        elif not stages:
            if instruction.keyword != "ARG":
                raise UnsupportedDockerfileError(
                    f"line {instruction.line}: {instruction.keyword} before FROM"
                )
            name, _, default = instruction.value.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args=global_args, stages=stages)


def _instructions(text: str) -> Iterator[Instruction]:
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue  # comments (also inside a continuation) and parser directives
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        keyword, _, value = " ".join(part for part in pending if part).partition(" ")
        pending = []
        yield Instruction(keyword=keyword.upper(), value=value.strip(), line=start)
    if pending:
        raise UnsupportedDockerfileError(f"line {start}: the file ends inside a continuation")


def exec_form(value: str) -> list[str]:
    """The JSON array of an exec-form instruction (`["python", "-c", "..."]`)."""
    if not value.startswith("["):
        raise UnsupportedDockerfileError(f"not exec form: {value}")
    words = json.loads(value)
    assert isinstance(words, list), value
    assert all(isinstance(word, str) for word in words), value
    return words


def env_assignments(value: str) -> list[tuple[str, str]]:
    """The `key=value` pairs of one ENV instruction, quotes removed, nothing substituted."""
    if "'" in value:
        raise UnsupportedDockerfileError(f"single quotes in ENV: {value}")
    pairs = []
    for word in shlex.split(value, posix=True):
        name, equals, assigned = word.partition("=")
        if not equals:
            raise UnsupportedDockerfileError(f"the legacy `ENV key value` form: {value}")
        pairs.append((name, assigned))
    return pairs


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """`$VAR` and `${VAR}` replaced by their values ("" when unset), as Docker does."""
    if _MODIFIER.search(text):
        raise UnsupportedDockerfileError(f"a ${{VAR:...}} modifier: {text}")
    return _VARIABLE.sub(lambda match: variables.get(match["braced"] or match["bare"], ""), text)


def image_environment(
    stage: Stage, base: Mapping[str, str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment a container of `stage` starts with: `base` plus the stage's ENV.

    `overrides` replaces the value an ENV assigns to a name (so that a test can put the image's
    `/opt/...` virtualenv in a temporary folder and have the later ENV lines follow it).
    """
    environment = dict(base)
    for instruction in stage.all("ENV"):
        _assign(environment, env_assignments(instruction.value), overrides or {})
    return environment


def run_steps(
    stage: Stage,
    base: Mapping[str, str],
    arguments: Mapping[str, str],
    overrides: Mapping[str, str] | None = None,
) -> list[StepEnvironment]:
    """Every RUN of `stage` (shell form) with the variables in effect for it.

    `arguments` gives build arguments a value (as `docker build --build-arg` does); an ARG
    without one takes its default.
    """
    variables = dict(base)
    steps = []
    for instruction in stage.instructions:
        if instruction.keyword == "ARG":
            name, _, default = instruction.value.partition("=")
            variables[name] = arguments.get(name, default)
        elif instruction.keyword == "ENV":
            _assign(variables, env_assignments(instruction.value), overrides or {})
        elif instruction.keyword == "RUN":
            if instruction.value.startswith(("[", "--")):
                raise UnsupportedDockerfileError(f"line {instruction.line}: RUN in exec form or with options")
            steps.append(StepEnvironment(command=instruction.value, variables=dict(variables)))
    return steps


def _assign(environment: dict[str, str], pairs: list[tuple[str, str]], overrides: Mapping[str, str]) -> None:
    # Every value of one ENV line is substituted against the environment before that line.
    before = dict(environment)
    for name, value in pairs:
        environment[name] = overrides.get(name, substitute(value, before))


def healthcheck(value: str) -> tuple[dict[str, str], list[str]]:
    """A `HEALTHCHECK [--option=value ...] CMD [...]`: its options and its exec-form command."""
    options: dict[str, str] = {}
    rest = value
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, setting = option[2:].partition("=")
        options[name] = setting
        rest = rest.strip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise UnsupportedDockerfileError(f"HEALTHCHECK {value}")
    return options, exec_form(command.strip())
