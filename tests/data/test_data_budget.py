"""Real budgets: seeded, reproducible, stratified by class, saved and loaded."""

import pytest
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from pipeline.data.budget import budget_path, choose_real_budget, load_budget, save_budget


def test_budget_is_reproducible_and_stratified(tiny_sample, tmp_path):
    coco = tiny_sample.coco_path("train")
    first, again = choose_real_budget(coco, 6, seed=0), choose_real_budget(coco, 6, seed=0)
    assert first == again and len(first.image_ids) == 6
    assert choose_real_budget(coco, 6, seed=1).image_ids != first.image_ids
    present = {i.class_name for r in tiny_sample.records("train") for i in r.instances}
    assert {n for n, c in first.images_per_class.items() if c} == present
    path = save_budget(first, tmp_path / "b.json")
    assert load_budget(path) == first
    assert choose_real_budget(coco, 14, seed=3).image_ids == list(range(1, 15))


def test_budget_errors(tiny_sample, tmp_path):
    with pytest.raises(DefectforgeError, match="--k 99 must be between 1 and the 14 images"):
        choose_real_budget(tiny_sample.coco_path("train"), 99, seed=0)
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(DefectforgeError, match="not a budget manifest"):
        load_budget(tmp_path / "x.json")


def test_budget_cli(tiny_sample):
    from flows.cli import app

    result = CliRunner().invoke(app, ["data", "budget", "tiny", "--k", "4", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert load_budget(budget_path("tiny", 4, 2)).k == 4
