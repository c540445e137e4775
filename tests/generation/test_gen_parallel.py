"""`generate --workers N`: processes drawing ranges of a set give the images one process draws,
resume like it, and report a worker's error clearly without writing a COCO file."""

import json

import pytest
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from flows.cli import app
from pipeline.generate import generate_set
from pipeline.generate_parallel import generate_set_in_processes
from pipeline.train import train_generator

SETTINGS = {"batch_size": 2, "gate": {"retries": 1}}


@pytest.mark.slow
def test_gen_parallel_draws_the_images_of_one_process_and_resumes(tmp_path, tiny_line, kit):
    spec, budget = tiny_line
    model = train_generator("tiny", budget, tmp_path / "model", config={
        "model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}, progress=False)
    kwargs = dict(seed=2, budget_path=budget, config=SETTINGS, keep_rejected=True, progress=False)
    one = generate_set("tiny", spec, model, 5, tmp_path / "one", **kwargs)
    two = generate_set_in_processes("tiny", spec, model, 5, tmp_path / "two", workers=2, **kwargs)
    assert two.count == one.count == 5 and two.generated_now == one.generated_now and two.skipped == 0
    images = {folder: {p.name: p.read_bytes() for p in (tmp_path / folder / "images").iterdir()}
              for folder in ("one", "two")}
    assert len(images["one"]) == 5 and images["two"] == images["one"]
    boxes = {folder: [(a["bbox"], a["category_id"]) for a in
                      json.loads((tmp_path / folder / "annotations.json").read_text())["annotations"]]
             for folder in ("one", "two")}
    assert boxes["two"] == boxes["one"]
    again = generate_set_in_processes("tiny", spec, model, 5, tmp_path / "two", workers=2, **kwargs)
    assert again.skipped == 5 and again.generated_now == 0


def test_gen_parallel_reports_a_worker_error_and_writes_no_coco(tmp_path, tiny_line):
    spec, budget = tiny_line
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(DefectforgeError, match="no generator model here"):
        generate_set_in_processes("tiny", spec, not_a_model, 3, tmp_path / "out", workers=2, budget_path=budget,
                                  config=SETTINGS, progress=False)
    assert not (tmp_path / "out" / "annotations.json").exists()


def test_gen_parallel_cli_refuses_zero_workers(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--dataset", "sample", "--count", "2", "--out",
                                      str(tmp_path / "out"), "--workers", "0"])
    assert result.exit_code == 2 and "--workers" in result.output and not (tmp_path / "out").exists()
