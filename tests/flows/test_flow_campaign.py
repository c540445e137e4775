"""The campaign flow end to end on the bundled sample line at toy size (real stages, real Prefect)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from flows.campaign import batch_ranges, campaign
from flows.campaign_config import build_config, load_campaign_config


def test_flow_batch_ranges_cover_every_index_once():
    assert batch_ranges(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert [i for a, b in batch_ranges(100, 16) for i in range(a, b)] == list(range(100))


def test_flow_campaign_config_errors_name_file_field_and_value(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: sample\ncount: -3\nbatch_sise: 4\n")
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "campaign", "--config", str(bad)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"{bad}: count: Input should be greater than or equal to 1 (got -3)" in message
    assert "batch_sise: Extra inputs are not permitted" in message
    assert "Traceback" not in result.stderr


def test_flow_campaign_yaml_files_validate():
    paths = sorted((Path(__file__).parents[2] / "datasets" / "campaigns").glob("*.yaml"))
    assert {"sample-nightly.yaml", "deeppcb-nightly.yaml"} <= {path.name for path in paths}
    for path in paths:
        load_campaign_config(path)


def test_flow_demo_config_resolves_its_detector_settings():
    from flows.campaign import eval_config
    from flows.campaign_config import DEMO_CONFIG

    settings = eval_config(build_config(DEMO_CONFIG))
    detector = settings["detector"]
    assert detector["model"] == "yolov8n-p2.yaml" and detector["imgsz"] == detector["val_imgsz"]
    assert detector["nbs"] == detector["batch"] and settings["tile"] is None
    assert len(settings["seeds"]) >= 3 and settings["schedule"] == "steps"  # a CI over seeds
    # the baselines draw where generation draws, unless the evaluation overrides it
    assert settings["onto"] == DEMO_CONFIG["render"]["onto"] == "defective"
    assert eval_config(build_config({**DEMO_CONFIG, "eval_options": {"onto": "clean"}}))["onto"] == "clean"


@pytest.mark.slow
def test_flow_campaign_end_to_end_on_sample(prefect_api, toy, check_coco):
    cfg = build_config({**toy, "name": "e2e"})
    summary = campaign(config=cfg)

    # every requested sample exists once; the COCO file holds the gate-passed ones
    images = sorted((cfg.out_dir / "generated" / "images").glob("*.png"))
    assert summary["generated"] == len(images) == cfg.count
    document = check_coco(Path(summary["coco"]), summary["images_in_coco"])
    for image in document["images"]:
        assert image["spec_hash"] and image["revision"]
    assert Path(summary["yolo"]).is_file()
    # both arms were trained, scored and logged to MLflow
    evaluation = summary["evaluation"]
    assert [arm["arm"] for arm in evaluation["arms"]] == ["real", "diffusion"]
    # the real-only detectors trained in their own process beside the generator, which ended well
    assert summary["real_arm_ahead"]["exit_code"] == 0
    # the realism check ran beside the detectors: a figure, or why the set is too small for one
    assert "accuracy" in summary["realism"]
    assert evaluation["parent_run_id"]
    assert json.loads((cfg.out_dir / "summary.json").read_text()) == summary

    # a rerun reuses everything (content-keyed cache), recomputing only a deleted output
    shutil.rmtree(Path(summary["yolo"]).parent)
    again = campaign(config=cfg)
    assert Path(again["yolo"]).is_file()
    assert again["coco"] == summary["coco"]
    assert again["evaluation"]["parent_run_id"] == evaluation["parent_run_id"]

    # each campaign run adds one point per key metric to the campaign's trend run
    from mlflow import MlflowClient

    from eval.tracking import tracking_uri
    from eval.trend import COUNTER, TREND_TAG

    assert {"key/delta_map50_95", "key/gate_pass_rate"} <= set(summary["key_metrics"])
    assert again["trend_step"] == summary["trend_step"] + 1
    client = MlflowClient(tracking_uri())
    experiment = client.get_experiment_by_name(f"defectforge-{cfg.campaign_name}")
    [trend] = client.search_runs([experiment.experiment_id], f"tags.`{TREND_TAG}` = 'e2e'")
    history = client.get_metric_history(trend.info.run_id, "key/delta_map50_95")
    assert [m.step for m in history][-2:] == [summary["trend_step"], again["trend_step"]]
    assert [m.value for m in client.get_metric_history(trend.info.run_id, COUNTER)][-1] == again["trend_step"]
