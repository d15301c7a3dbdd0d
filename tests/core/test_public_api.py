"""The public surface of `mockcore`, and its purity (SPEC section 10, STYLE: httpx's habit)."""

import ast
import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest

import mockcore

CORE_ROOT = Path(mockcore.__file__).parent
CORE_SOURCES = sorted(CORE_ROOT.rglob("*.py"))
ALLOWED_THIRD_PARTY = {"msgspec", "mockcore"}


def public_names(module: ModuleType) -> set[str]:
    """Every public name bound in the package namespace, except its submodules."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }


def top_level_imports(source: Path) -> set[str]:
    """The first component of every module imported anywhere in `source`."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source.name}: relative import"
            assert node.module is not None
            modules.add(node.module.partition(".")[0])
    return modules


def test_all_lists_exactly_the_exported_names() -> None:
    assert set(mockcore.__all__) == public_names(mockcore)


def test_all_has_no_duplicates_and_is_sorted() -> None:
    assert len(set(mockcore.__all__)) == len(mockcore.__all__)
    assert mockcore.__all__ == sorted(
        mockcore.__all__, key=lambda name: (not name.isupper(), name[0].islower(), name)
    )


@pytest.mark.parametrize("name", mockcore.__all__)
def test_every_exported_name_is_documented(name: str) -> None:
    value = getattr(mockcore, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        assert value.__doc__, f"mockcore.{name} has no docstring"


@pytest.mark.parametrize("source", CORE_SOURCES, ids=lambda path: path.relative_to(CORE_ROOT).as_posix())
def test_the_core_imports_only_the_standard_library_and_msgspec(source: Path) -> None:
    foreign = {
        module
        for module in top_level_imports(source)
        if module not in sys.stdlib_module_names and module not in ALLOWED_THIRD_PARTY
    }
    assert foreign == set(), f"{source.relative_to(CORE_ROOT)} imports {sorted(foreign)}"
