"""Where defectforge reads dataset definitions and writes everything it produces."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def runs_root() -> Path:
    """All outputs (prepared data, models, generated sets, reports): `$DEFECTFORGE_RUNS` or ./runs."""
    return Path(os.environ.get("DEFECTFORGE_RUNS", PROJECT_ROOT / "runs")).resolve()


def state_root() -> Path:
    """Tool state (Prefect home, MLflow store, ultralytics settings, caches): under runs/."""
    return Path(os.environ.get("DEFECTFORGE_STATE", runs_root() / "state")).resolve()


def datasets_root() -> Path:
    """Dataset definitions (`<name>/dataset.yaml`, `<name>/defects.yaml`): `$DEFECTFORGE_DATASETS`."""
    return Path(os.environ.get("DEFECTFORGE_DATASETS", PROJECT_ROOT / "datasets")).resolve()
