"""`defectforge worth`: an arm's score turned into the real images it is worth, from real-only
evaluations at other budgets (reports planted with known scores; a real MLflow store)."""

import json
import math

import pytest
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.config import resolve_config
from eval.report import ArmSummary, EvalReport
from eval.stats import Interval
from eval.worth import CurvePoint, equivalent_k
from flows.cli import app


def _curve(*points):
    return [CurvePoint(k=k, value=v, seeds=1, report="r") for k, v in points]


def test_interpolates_in_log_k_and_bounds_outside_the_curve():
    curve = _curve((50, 0.30), (100, 0.36), (200, 0.40))
    k, bound = equivalent_k(curve, 0.33)  # half way from 50 to 100 in log k
    assert bound == "within" and k == pytest.approx(math.sqrt(50 * 100))
    assert equivalent_k(curve, 0.40) == (pytest.approx(200), "within")
    assert equivalent_k(curve, 0.29) == (None, "below")
    assert equivalent_k(curve, 0.41) == (None, "above")


def test_a_lower_score_at_a_larger_budget_is_flattened_not_inverted():
    curve = _curve((50, 0.30), (100, 0.28), (200, 0.40))
    k, _ = equivalent_k(curve, 0.30)
    assert k == pytest.approx(50)
    k, _ = equivalent_k(curve, 0.35)  # between the running maximum 0.30 (k=100) and 0.40
    assert k == pytest.approx(math.exp(math.log(100) + 0.5 * math.log(2)))


def _arm(name, value, reference):
    interval = Interval(mean=value, low=value, high=value, n=1)
    return ArmSummary(arm=name, seeds=[0], metrics={"coco_map50_95": interval}, delta={},
                      per_class_ap50={}, per_class_ap50_95={}, synthetic_images=0,
                      reference=reference)


def _report(folder, k, arms, run_id, uri, epochs=200):
    config = resolve_config("toy", "quick", real_budget=k, arms=[a for a, _ in arms
                                                                if a != "real-e140"],
                            seeds=[0], epochs=epochs, out_dir=folder)
    report = EvalReport(
        config=config, dataset="toy", real_budget=k, spec_hash=None, tracking_uri=uri,
        experiment_id="0", parent_run_id=run_id, runs=[], best_arm="real", best_run_id=None,
        report_dir=str(folder / "report"),
        arms=[_arm(a, v, None if a.startswith("real") else "real") for a, v in arms])
    report.save(folder / "report" / "report.json")
    return folder


def test_worth_command_writes_the_table_and_logs_it_to_the_evaluation(tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run_id = client.create_run(client.create_experiment("toy-eval")).info.run_id
    base = _report(tmp_path / "k50", 50, [("real", 0.30), ("real-e140", 0.25),
                                          ("copypaste", 0.33), ("procedural", 0.29),
                                          ("augment", 0.45)], run_id, uri)
    k100 = _report(tmp_path / "k100", 100, [("real", 0.36)], "x", uri)
    k200 = _report(tmp_path / "k200", 200, [("real", 0.40)], "y", uri)

    result = CliRunner().invoke(app, ["worth", str(base), "--real-only", str(k100),
                                      "--real-only", str(k200)])
    assert result.exit_code == 0, result.output
    worth = json.loads((base / "report" / "worth.json").read_text())
    by_arm = {w["arm"]: w for w in worth["arms"]}
    assert set(by_arm) == {"copypaste", "procedural", "augment"}  # not real-only runs
    assert by_arm["copypaste"]["extra_images"] == pytest.approx(math.sqrt(5000) - 50)
    assert by_arm["procedural"]["bound"] == "below" and by_arm["augment"]["bound"] == "above"
    table = (base / "report" / "worth.md").read_text()
    assert "| copypaste | 0.330 | +21 (k = 71) |" in table
    assert "| augment | 0.450 | more than 150 (above real-only at k = 200) |" in table
    logged = client.get_run(run_id).data.metrics
    assert logged == {"copypaste/worth_real_images": pytest.approx(math.sqrt(5000) - 50)}
    assert [a.path for a in client.list_artifacts(run_id, "report")] == ["report/worth.md"]


def test_the_curve_takes_the_stronger_real_only_run_at_each_budget(tmp_path):
    from eval.worth import load_report, real_curve, worth_of_arms

    # real-only trained at the synthetic arm's steps scores more than `real`: the arm's gain
    # over it, not over `real`, is what it is worth
    base = _report(tmp_path / "k50", 50, [("real", 0.30), ("real-e140", 0.33),
                                          ("copypaste", 0.345)], "r", "sqlite://")
    k100 = _report(tmp_path / "k100", 100, [("real", 0.36)], "x", "sqlite://")
    reports = {"k50": load_report(base), "k100": load_report(k100)}
    curve = real_curve(reports)
    assert [(p.k, p.value, p.arm) for p in curve] == [(50, 0.33, "real-e140"), (100, 0.36, "real")]
    [copypaste] = worth_of_arms(reports["k50"], curve)
    assert copypaste.extra_images == pytest.approx(math.sqrt(5000) - 50)  # half way in log k


def test_budgets_trained_another_way_are_refused(tmp_path):
    base = _report(tmp_path / "k50", 50, [("real", 0.30), ("copypaste", 0.33)], "r", "sqlite://")
    other = _report(tmp_path / "k100", 100, [("real", 0.36)], "x", "sqlite://", epochs=100)
    result = CliRunner().invoke(app, ["worth", str(base), "--real-only", str(other)])
    assert isinstance(result.exception, DefectforgeError)
    assert "k100: its detector differ" in str(result.exception)
    missing = CliRunner().invoke(app, ["worth", str(base), "--real-only", str(tmp_path / "nope")])
    assert "nope: no evaluation report here" in str(missing.exception).replace("/report/report.json", "")
