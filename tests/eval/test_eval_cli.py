"""`defectforge evaluate` settings: profiles, overrides, user errors."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.config import PROFILES, resolve_config
from eval.output_folder import claim_output, output_dir
from flows.cli import app

runner = CliRunner()


def test_print_config_resolves_profile_and_overrides(toy_dataset):
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--profile", "quick",
                                 "--arms", "augment,real", "--seeds", "0,1", "--epochs", "3",
                                 "--tile", "0", "--scale", "0.25", "--flipud", "0.5", "--print-config"])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.output)
    assert config["arms"] == ["real", "augment"]  # the reference always first
    assert config["seeds"] == [0, 1] and config["tile"] is None
    assert config["detector"]["epochs"] == 3 and config["detector"]["scale"] == 0.25
    assert config["detector"]["flipud"] == 0.5
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


def test_onto_is_checked_and_keeps_folders_of_earlier_settings(toy_dataset, tmp_path):
    """--onto defective is its own setting (its own folder); a folder written before the setting
    existed (its settings.json has no `onto`) still takes the default."""
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--onto", "scrap"])
    assert result.exit_code != 0 and "onto" in str(result.exception)
    config = resolve_config(str(toy_dataset), "dev", out_dir=tmp_path / "eval")
    folder = output_dir(config, "toy")
    claim_output(config, folder)
    assert "onto" not in json.loads((folder / "settings.json").read_text())
    assert output_dir(config, "toy") == folder
    with pytest.raises(DefectforgeError, match="settings.json: this output folder"):
        output_dir(config.model_copy(update={"onto": "defective"}), "toy")


def test_transform_synthetic_is_its_own_setting_and_keeps_earlier_folders(toy_dataset, tmp_path):
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--transform-synthetic",
                                 "--print-config"])
    assert result.exit_code == 0 and "transform_synthetic: true" in result.output
    config = resolve_config(str(toy_dataset), "dev", out_dir=tmp_path / "eval")
    folder = output_dir(config, "toy")
    claim_output(config, folder)
    assert "transform_synthetic" not in json.loads((folder / "settings.json").read_text())
    with pytest.raises(DefectforgeError, match="settings.json: this output folder"):
        output_dir(config.model_copy(update={"transform_synthetic": True}), "toy")


def test_a_run_refused_for_a_bad_input_leaves_no_claim_on_its_folder(toy_dataset, tmp_path):
    """A missing --budget is named and refused before the folder records its settings, so the
    corrected rerun into the same --out is not refused as "other settings"."""
    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", "--dataset", str(toy_dataset), "--profile", "dev",
                                 "--arms", "real", "--budget", str(tmp_path / "nope.json"),
                                 "--out", str(out)])
    assert result.exit_code != 0 and "nope.json: not a budget manifest" in str(result.exception)
    assert not (out / "settings.json").exists()
    corrected = resolve_config(str(toy_dataset), "dev", out_dir=out, budget_path=tmp_path / "k.json")
    assert output_dir(corrected, "toy") == out.resolve()


def test_a_file_setting_named_relatively_or_absolutely_is_the_same_setting(toy_dataset, tmp_path,
                                                                          monkeypatch):
    """The same budget named from another working folder (relative there, absolute here) reuses
    the folder; another budget is refused; a folder recorded with relative paths (earlier
    versions) still matches from its working folder."""
    (tmp_path / "budgets").mkdir()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "eval"
    relative = resolve_config(str(toy_dataset), "dev", out_dir=out, budget_path="budgets/k.json")
    claim_output(relative, output_dir(relative, "toy"))
    recorded = json.loads((out / "settings.json").read_text())
    assert recorded["budget_path"] == str(tmp_path / "budgets" / "k.json")
    absolute = relative.model_copy(update={"budget_path": tmp_path / "budgets" / "k.json"})
    assert output_dir(absolute, "toy") == out.resolve()
    monkeypatch.chdir(tmp_path / "budgets")
    assert output_dir(relative.model_copy(update={"budget_path": "k.json"}), "toy") == out.resolve()
    with pytest.raises(DefectforgeError, match="settings.json: this output folder"):
        output_dir(relative.model_copy(update={"budget_path": tmp_path / "other.json"}), "toy")
    monkeypatch.chdir(tmp_path)
    recorded["budget_path"] = "budgets/k.json"
    (out / "settings.json").write_text(json.dumps(recorded, sort_keys=True, indent=1))
    assert output_dir(absolute, "toy") == out.resolve()
