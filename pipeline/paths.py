"""Where defectforge reads dataset definitions and writes everything it produces."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


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
    """All outputs (prepared data, models, generated sets, reports): `$DEFECTFORGE_RUNS` or ./runs."""
    return Path(os.environ.get("DEFECTFORGE_RUNS", PROJECT_ROOT / "runs")).resolve()


def state_root() -> Path:
    """Tool state (Prefect home, MLflow store, ultralytics settings, caches): under runs/."""
    return Path(os.environ.get("DEFECTFORGE_STATE", runs_root() / "state")).resolve()


def datasets_root() -> Path:
    """Dataset definitions (`<name>/dataset.yaml`, `<name>/defects.yaml`): `$DEFECTFORGE_DATASETS`."""
    return Path(os.environ.get("DEFECTFORGE_DATASETS", PROJECT_ROOT / "datasets")).resolve()
