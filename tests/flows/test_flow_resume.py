"""Kill -9 a campaign mid-generation, start it again: exactly `count` samples, no duplicates,
no partial files, a COCO file pycocotools loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from pipeline.paths import runs_root

COUNT = 24


def _records(folder) -> list:
    return sorted((folder / "records").glob("*.json")) if (folder / "records").is_dir() else []


@pytest.mark.slow
def test_flow_campaign_killed_mid_generation_resumes(prefect_api, toy, tmp_path, check_coco):
    values = {**toy, "name": "resume", "count": COUNT, "batch_size": 6, "evaluate": False}
    values["render"] = {**values["render"], "batch_size": 2}  # samples land two at a time
    config = tmp_path / "resume.yaml"
    config.write_text(yaml.safe_dump(values))
    command = [sys.executable, "-m", "flows.cli", "campaign", "--config", str(config)]
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    generated = runs_root() / "campaigns" / "resume" / "generated"

    # 1. start, wait for the first finished samples, kill the whole process group with SIGKILL
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 300
        while not _records(generated) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finished_before = len(_records(generated))
    assert 0 < finished_before < COUNT, (tmp_path / "first.log").read_text()[-3000:]
    assert not (generated / "annotations.json").exists()

    # 2. the same command again finishes the campaign
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]

    # 3. exactly COUNT samples, each once, each image whole; the COCO file is valid
    records = [json.loads(path.read_text()) for path in _records(generated)]
    assert len(records) == COUNT
    assert len({record["id"] for record in records}) == COUNT
    assert sorted(path.stem for path in (generated / "images").glob("*.png")) == sorted(
        record["id"] for record in records
    )
    summary = json.loads((generated.parent / "summary.json").read_text())
    assert summary["generated"] == COUNT
    document = check_coco(generated / "annotations.json", summary["images_in_coco"])
    assert {image["sample_id"] for image in document["images"]} <= {r["id"] for r in records}
