"""An evaluation's output folder and the settings it holds results of.

Finished arms and seeds in a folder are reused by a rerun, so the folder records its settings
(`SETTINGS`) and refuses another run's. File settings are compared as absolute paths: the same
budget named `runs/budgets/k50.json` from one folder and `/work/runs/budgets/k50.json` from
another is the same setting.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conditioning.errors import DefectforgeError
from eval.config import EvalConfig
from pipeline.data.atomic import write_bytes
from pipeline.paths import runs_root

SETTINGS = "settings.json"
"""The evaluation folder's settings (`recorded_text`); another run's settings are refused there."""

ADDED_LATER = {"onto": "clean", "transform_synthetic": False}
"""Settings added after evaluation folders were written, keyed only away from these values: a
folder of the earlier settings keeps its key and its finished runs."""

FILE_SETTINGS = ("budget_path", "generated", "generator_model", "spec_path")
"""Settings that name a file or folder: compared and recorded as absolute paths."""


def keyed_settings(config: EvalConfig) -> dict:
    """Every setting that changes results (arms and seeds aside), paths as the user gave them."""
    keyed = config.model_dump(mode="json", exclude={"arms", "seeds", "out_dir", "experiment", "strict",
                                                    "register_name", "profile", "jobs"})
    return {key: value for key, value in keyed.items() if ADDED_LATER.get(key, object()) != value}


def settings_text(config: EvalConfig) -> str:
    """`keyed_settings` as text: the default folder's name hashes it, as it always has."""
    return json.dumps(keyed_settings(config), sort_keys=True, indent=1)


def recorded_text(config: EvalConfig) -> str:
    """`keyed_settings` with the file settings made absolute: what `SETTINGS` holds."""
    return json.dumps(absolute(keyed_settings(config)), sort_keys=True, indent=1)


def absolute(settings: dict) -> dict:
    """`settings` with each file setting resolved against the working folder."""
    return {key: (str(Path(value).resolve()) if key in FILE_SETTINGS and value is not None else value)
            for key, value in settings.items()}


def output_dir(config: EvalConfig, name: str) -> Path:
    """`runs/eval/<name>-k<k>-<profile>-<hash>` (hash of `settings_text`), or `out_dir`;
    finished arms and seeds in it are reused, so a folder holding results of other settings is
    refused. Nothing is written: `claim_output` records the settings once the inputs are checked."""
    text = settings_text(config)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    out = (Path(config.out_dir) if config.out_dir is not None else
           runs_root() / "eval" / f"{name}-k{config.real_budget}-{config.profile}-{digest}")
    out = out.resolve()
    settings = out / SETTINGS
    if settings.is_file() and not same_settings(settings, config):
        raise DefectforgeError(
            f"{settings}: this output folder holds results of other settings; pass another "
            "--out (or delete the folder) to evaluate these"
        )
    return out


def same_settings(settings: Path, config: EvalConfig) -> bool:
    """Whether the folder's `SETTINGS` are `config`'s, file settings compared as absolute paths
    (a folder recorded with relative ones reads them against the working folder)."""
    try:
        recorded = json.loads(settings.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(recorded, dict) and absolute(recorded) == absolute(keyed_settings(config))


def claim_output(config: EvalConfig, out: Path) -> None:
    """`SETTINGS`: from here on the folder holds results of these settings. Written only
    after the inputs passed their checks, so a run refused for a bad input (a missing budget,
    say) leaves no claim that would refuse the corrected rerun."""
    write_bytes(out / SETTINGS, recorded_text(config).encode())
