"""`defectforge rescore`: an evaluation's trained detectors scored on another split, untrained."""

import json

import pytest
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.coco_metrics import CocoMetrics
from eval.config import resolve_config
from eval.protocol import RESULT, run_evaluation
from eval.rescore import RescoredRun, compare_arms, rescore
from flows.cli import app


def _run(arm, seed, value):
    return RescoredRun(arm=arm, seed=seed, coco=CocoMetrics(map50=0, map50_95=value, per_class_ap50={},
                                                            per_class_ap50_95={}))


def test_each_synthetic_arm_meets_the_stronger_real_only_arm_paired_by_seed():
    runs = [_run("real", 0, 0.30), _run("real", 1, 0.32), _run("real-e398", 0, 0.40),
            _run("real-e398", 1, 0.42), _run("diffusion", 0, 0.45), _run("diffusion", 1, 0.44)]
    arms = {a.arm: a for a in compare_arms(runs)}
    assert arms["real"].delta is None and arms["real-e398"].delta is None
    assert arms["diffusion"].reference == "real-e398"
    assert arms["diffusion"].delta.mean == pytest.approx(0.035)  # +0.05 and +0.02
    assert arms["diffusion"].map50_95.mean == pytest.approx(0.445)


@pytest.fixture(scope="module")
def evaluation(toy_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("rescore") / "eval"
    config = resolve_config(str(toy_dataset), "quick", real_budget=8, arms=["real"], seeds=[0, 1],
                            test_limit=4, epochs=1, imgsz=64, val_imgsz=96, batch=8, workers=0,
                            device="cpu", out_dir=out, experiment="toy-rescore", jobs=1)
    with pytest.MonkeyPatch.context() as patch:  # a real MLflow store of its own
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{out.parent / 'mlflow.db'}")
        run_evaluation(config)
    return out


@pytest.mark.slow
def test_rescoring_on_the_test_split_gives_the_evaluation_figures(evaluation):
    result = rescore(evaluation, "test")
    assert result.images == 4 and [(r.arm, r.seed) for r in result.runs] == [("real", 0), ("real", 1)]
    for run in result.runs:
        recorded = json.loads((evaluation / "arms" / run.arm / f"seed{run.seed}" / RESULT).read_text())
        assert run.coco.model_dump() == recorded["metrics"]["coco"]


@pytest.mark.slow
def test_rescoring_on_validation_images_reads_the_images_outside_the_budget_and_resumes(
        evaluation, monkeypatch):
    result = rescore(evaluation, "val")
    scored = json.loads((evaluation / "rescore" / "val" / "annotations.json").read_text())
    budget = json.loads(next(evaluation.glob("budget-k8-*.json")).read_text())
    assert result.images == len(scored["images"]) == 4  # test_limit spreads over them
    chosen = {image["file_name"].rsplit("/", 1)[-1] for image in scored["images"]}
    in_budget = {str(name).rsplit("/", 1)[-1] for name in budget.get("file_names", [])}
    assert not chosen & in_budget
    saved = json.loads((evaluation / "rescore" / "val.json").read_text())
    assert saved["split"] == "val" and len(saved["runs"]) == 2

    def no_predictions(*args, **kwargs):
        raise AssertionError("a scored run was scored again")

    monkeypatch.setattr("eval.rescore.predict_coco", no_predictions)
    again = rescore(evaluation, "val")
    assert again.model_dump() == result.model_dump()


@pytest.mark.slow
def test_the_command_logs_the_figures_to_the_evaluations_mlflow_run(evaluation):
    import mlflow

    outcome = CliRunner().invoke(app, ["rescore", str(evaluation), "--on", "val"])
    assert outcome.exit_code == 0, outcome.output
    report = json.loads((evaluation / "report" / "report.json").read_text())
    run = mlflow.MlflowClient(tracking_uri=report["tracking_uri"]).get_run(report["parent_run_id"])
    saved = json.loads((evaluation / "rescore" / "val.json").read_text())
    assert run.data.metrics["rescore_val/real/coco_map50_95"] == pytest.approx(
        saved["arms"][0]["map50_95"]["mean"])
    assert f"logged to the evaluation's MLflow run {report['parent_run_id']}" in outcome.output


@pytest.mark.slow
def test_a_run_without_weights_and_a_folder_without_settings_are_clear_errors(evaluation, tmp_path):
    outcome = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert outcome.exit_code != 0
    with pytest.raises(DefectforgeError, match="not an evaluation folder"):
        rescore(tmp_path, "val")
    broken = tmp_path / "broken"
    (broken / "arms" / "real" / "seed0").mkdir(parents=True)
    (broken / "arms" / "real" / "seed0" / RESULT).write_text("{}")
    (broken / "settings.json").write_text((evaluation / "settings.json").read_text())
    with pytest.raises(DefectforgeError, match="no weights at detector/train/weights/last.pt"):
        rescore(broken, "val")
    outcome = CliRunner().invoke(app, ["rescore", str(evaluation), "--on", "train"])
    assert outcome.exit_code != 0 and "--on: expected val or test" in str(outcome.exception or outcome.output)
