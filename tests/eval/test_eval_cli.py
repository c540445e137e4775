"""`defectforge evaluate` settings: profiles, overrides, user errors."""

import pytest
import yaml
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.config import PROFILES, resolve_config
from flows.cli import app

runner = CliRunner()


def test_print_config_resolves_profile_and_overrides(toy_dataset):
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--profile", "quick",
                                 "--arms", "augment,real", "--seeds", "0,1", "--epochs", "3",
                                 "--tile", "0", "--print-config"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    assert config["arms"] == ["real", "augment"]  # the reference always first
    assert config["seeds"] == [0, 1] and config["tile"] is None
    assert config["detector"]["epochs"] == 3
    assert config["real_budget"] == PROFILES["quick"].real_budget


def test_full_profile_is_gpu_sized(tmp_path):
    with pytest.raises(DefectforgeError, match="diffusion arm needs --generated"):
        resolve_config("deeppcb", "full")
    full = resolve_config("deeppcb", "full", generated=tmp_path)
    assert full.detector.imgsz == full.detector.val_imgsz == 640 and full.tile is None
    assert len(full.arms) == 5 and full.test_limit is None


def test_bad_values_are_user_errors(toy_dataset):
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--arms", "real,gan"])
    assert result.exit_code != 0 and "unknown arms ['gan']" in str(result.exception)
    result = runner.invoke(app, ["evaluate", "--dataset", "x", "--seeds", "0,a"])
    assert "--seeds" in str(result.exception)
