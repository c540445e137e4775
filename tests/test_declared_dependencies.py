"""Every third-party module the code imports comes from a declared dependency (tests: or dev)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"conditioning", "pipeline", "eval", "flows", "tests", "conftest"}


def _imported(folders: list[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path)
    return {m: p for m, p in found.items() if m not in sys.stdlib_module_names and m not in LOCAL}


def _declared(*groups: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for group in groups:
        specs += project["optional-dependencies"][group]
    return {_normal(re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0]) for spec in specs}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _undeclared(folders: list[str], declared: set[str]) -> dict[str, str]:
    owners = packages_distributions()
    missing = {}
    for module, path in _imported(folders).items():
        distributions = {_normal(d) for d in owners.get(module, [module])}
        if not distributions & declared:
            missing[module] = f"{path.relative_to(ROOT)} (from {sorted(distributions)})"
    return missing


def test_library_imports_are_declared_dependencies():
    assert _undeclared(["conditioning", "pipeline", "eval", "flows"], _declared()) == {}


def test_test_imports_are_declared_in_the_dev_extra():
    assert _undeclared(["tests"], _declared("dev")) == {}
