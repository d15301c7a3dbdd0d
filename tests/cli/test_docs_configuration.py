"""docs/configuration.md cannot rot: its option table is the real option list, its commands run.

The table must list every option of the Settings Struct (in order) with its short flag,
environment variable, default, valid values (as `valid_values` words them) and a meaning
that starts with the option's own description. Every `aiperf-mock-server` command in a
```bash block must be accepted by the real command (run in-process, without serving), and
every `$ command` of a ```console block must print exactly the lines shown under it.
"""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from mockcli.main import EXIT_INVALID_OPTION, app
from mockcli.options import FIELD_NAMES, SHORT_FLAGS, flag_name, valid_values
from mockcore.settings import Settings, environment_variable

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_FIELDS = {field.name: field for field in msgspec.inspect.type_info(Settings).fields}  # type: ignore[attr-defined]


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def description(name: str) -> str:
    info = _FIELDS[name].type
    while not isinstance(info, msgspec.inspect.Metadata):
        assert isinstance(info, msgspec.inspect.UnionType), f"{name} has no description"
        info = next(member for member in info.types if not isinstance(member, msgspec.inspect.NoneType))
    text: str = (info.extra_json_schema or {})["description"]
    return text[:1].upper() + text[1:]


def default_text(name: str) -> str:
    default = _FIELDS[name].default
    if default is None:
        return "none"
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


# -- the option table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    flag: str
    short: str
    environment: str
    default: str
    valid: str
    meaning: str


def option_rows() -> list[Row]:
    section = doc_text().split("## Options", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("| `--"):
            continue
        cells = re.split(r"\s*\|\s*", line.strip()[1:-1].strip())
        assert len(cells) == 6, f"a row of the option table needs 6 cells: {line}"
        rows.append(Row(*cells))
    return rows


def test_table_lists_every_option_in_order() -> None:
    assert [row.flag for row in option_rows()] == [f"`{flag_name(name)}`" for name in FIELD_NAMES]


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_table_row_matches_the_option(name: str) -> None:
    rows = {row.flag: row for row in option_rows()}
    row = rows.get(f"`{flag_name(name)}`")
    assert row is not None, f"{flag_name(name)} is missing from {DOC.name}"
    assert row.short == (f"`{SHORT_FLAGS[name]}`" if name in SHORT_FLAGS else "")
    assert row.environment == f"`{environment_variable(name)}`"
    assert row.default == f"`{default_text(name)}`"
    assert row.valid == valid_values(name)
    assert row.meaning.startswith(description(name)), row.meaning


def test_table_header() -> None:
    section = doc_text().split("## Options", 1)[1]
    assert "| flag | short | environment variable | default | valid values | meaning |" in section


# -- the commands ----------------------------------------------------------------------------


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", doc_text(), re.DOTALL | re.MULTILINE)


def split_command(line: str) -> tuple[dict[str, str], list[str]]:
    """`A=1 B=2 aiperf-mock-server --x 1` -> ({A: 1, B: 2}, [--x, 1])."""
    words = shlex.split(line)
    environment = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, value = words.pop(0).split("=", 1)
        environment[key] = value
    assert words, f"no command in {line!r}"
    assert words[0] == "aiperf-mock-server", line
    return environment, words[1:]


def bash_commands() -> list[tuple[dict[str, str], list[str]]]:
    """Every server command of the ```bash blocks, with the environment it runs in."""
    commands = []
    for block in code_blocks("bash"):
        exported: dict[str, str] = {}
        for line in block.replace("\\\n", " ").splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("export "):
                key, value = shlex.split(stripped)[1].split("=", 1)
                exported[key] = value
                continue
            environment, args = split_command(stripped)
            commands.append(({**exported, **environment}, args))
    return commands


def console_sessions() -> list[tuple[str, list[str]]]:
    """(`$ command`, the lines printed under it) of every ```console block."""
    sessions: list[tuple[str, list[str]]] = []
    for block in code_blocks("console"):
        for line in block.splitlines():
            if line.startswith("$ "):
                sessions.append((line[2:], []))
            else:
                assert sessions, f"output before any command: {line!r}"
                sessions[-1][1].append(line)
    return sessions


def test_page_has_examples() -> None:
    assert len(bash_commands()) >= 5
    assert len(console_sessions()) >= 2


@pytest.mark.parametrize(
    ("environment", "args"),
    bash_commands(),
    ids=lambda value: shlex.join(value) if isinstance(value, list) else None,
)
def test_bash_command_is_accepted(
    captured_settings: list[Settings], environment: dict[str, str], args: list[str]
) -> None:
    result = CliRunner().invoke(app, args, env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(captured_settings) == 1


@pytest.mark.parametrize(
    ("command", "expected"), console_sessions(), ids=lambda value: value if isinstance(value, str) else None
)
def test_console_session_prints_what_the_page_shows(
    captured_settings: list[Settings], command: str, expected: list[str]
) -> None:
    environment, args = split_command(command)
    result: Any = CliRunner().invoke(app, args, env=environment, catch_exceptions=False)
    assert result.exit_code == EXIT_INVALID_OPTION
    assert captured_settings == []
    assert result.stderr.splitlines() == expected
    assert result.stdout == ""


def test_environment_example_resolves_as_the_page_says(captured_settings: list[Settings]) -> None:
    """The export block: the flag beats MOCK_SERVER_TTFT; a prefix assignment adds workers."""
    exported_block = next(block for block in code_blocks("bash") if "export " in block)
    commands = [command for command in bash_commands() if "MOCK_SERVER_PORT" in command[0]]
    assert len(commands) == exported_block.count("aiperf-mock-server")
    for environment, args in commands:
        assert CliRunner().invoke(app, args, env=environment, catch_exceptions=False).exit_code == 0
    plain, flagged, workers = captured_settings
    assert (plain.port, plain.ttft, plain.dcgm_gpu_name) == (8080, 30.0, "h100")
    assert flagged.ttft == 10.0
    assert workers.workers == 2
