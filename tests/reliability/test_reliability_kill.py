"""kill -9 a small campaign at seeded random points (any stage: budget, training, generation,
COCO, YOLO), run it again: 0 lost, 0 duplicate samples, no temp files, a valid COCO file."""

from __future__ import annotations

import os

import pytest
import yaml

from eval.reliability.kill_resume import kill_and_resume
from pipeline.paths import runs_root

COUNT = 12
CAMPAIGN = {
    "name": "kill-resume", "dataset": "sample", "real_budget": 8, "count": COUNT, "batch_size": 4,
    "train": {"base_steps": 2, "control_steps": 2, "clean_crops": 32, "batch_size": 4},
    "render": {"steps": 2, "batch_size": 2,
               "gate": {"retries": 0, "min_contrast": 0.0, "max_spill": 100.0, "max_box_excess": 1.0}},
    "evaluate": False,
}  # fmt: skip
"""The smallest real campaign (the flows tests' toy sizes, no detectors)."""


@pytest.mark.slow
def test_campaign_killed_at_random_points_resumes_exactly(tmp_path):
    config = tmp_path / "kill.yaml"
    config.write_text(yaml.safe_dump(CAMPAIGN))
    out = runs_root() / "campaigns" / CAMPAIGN["name"]
    report = kill_and_resume(config, [out, runs_root() / "models"], COUNT, kills=2, seed=13,
                             env=dict(os.environ))  # fmt: skip
    assert report.kills >= 1, report
    assert (report.samples, report.lost, report.duplicates, report.temp_files) == (COUNT, 0, 0, 0), report
    assert report.coco_ok, report
