"""Where defectforge reads dataset definitions and writes everything it produces.

In a source checkout (a `pyproject.toml` beside the packages) outputs go to `<project>/runs` and
product lines live in `<project>/datasets`; installed from a wheel, outputs go to `./runs` of the
working directory and the bundled lines (`sample`, `deeppcb`) come from the installed package
`defectforge_datasets`. `DEFECTFORGE_DATASETS` (folders separated by `os.pathsep`, searched in
order; the CLI's `--datasets-dir` prepends one) lets a team keep its lines in its own repository.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCE_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
"""True when running from the project's source tree (editable install or PYTHONPATH)."""
DATASETS_ENV = "DEFECTFORGE_DATASETS"


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A name that becomes one folder: letters, digits, `.`, `_`, `-`; no separators, no `..`."""


def check_name(value: str, what: str) -> str:
    """`value` if it is one safe path component (see NAME_PATTERN); else ValueError naming `what`."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value) or ".." in value:
        raise ValueError(
            f"{what} {value!r} must be one folder name: letters, digits, `.`, `_`, `-` "
            "(at most 100, no `/`, no `..`, not starting with `.`)"
        )
    return value


def runs_root() -> Path:
    """All outputs (prepared data, models, generated sets, reports): `$DEFECTFORGE_RUNS`, else
    `<project>/runs` in a source checkout, `./runs` when installed."""
    default = PROJECT_ROOT / "runs" if SOURCE_CHECKOUT else Path.cwd() / "runs"
    return Path(os.environ.get("DEFECTFORGE_RUNS", default)).resolve()


def state_root() -> Path:
    """Tool state (Prefect home, MLflow store, ultralytics settings, caches): under runs/."""
    return Path(os.environ.get("DEFECTFORGE_STATE", runs_root() / "state")).resolve()


def bundled_datasets() -> Path:
    """The product lines shipped with defectforge (`datasets/` of the checkout or the wheel)."""
    if SOURCE_CHECKOUT:
        return PROJECT_ROOT / "datasets"
    return PROJECT_ROOT / "defectforge_datasets"


def datasets_search_path() -> list[Path]:
    """Folders searched for `<name>/dataset.yaml`, in order: `$DEFECTFORGE_DATASETS` entries,
    then `./datasets` of an installed copy, then the bundled lines."""
    entries = [Path(p).expanduser() for p in os.environ.get(DATASETS_ENV, "").split(os.pathsep) if p]
    if not SOURCE_CHECKOUT:
        entries.append(Path.cwd() / "datasets")
    entries.append(bundled_datasets())
    unique: list[Path] = []
    for entry in (e.resolve() for e in entries):
        if entry not in unique:
            unique.append(entry)
    return unique


def datasets_root() -> Path:
    """Where new product lines are written (`defectforge data init`): the first search-path entry."""
    return datasets_search_path()[0]
