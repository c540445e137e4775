"""generate_set end to end on a tiny prepared sample line: files, COCO, provenance, gate, resume."""

import json
import shutil

import pytest

from eval.realism import contact_sheet
from pipeline.data.budget import choose_real_budget, save_budget
from pipeline.data.coco_check import check_coco
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset
from pipeline.generate import generate_set
from pipeline.paths import PROJECT_ROOT
from pipeline.train import train_generator


@pytest.fixture
def tiny_line(tmp_path, monkeypatch, kit):
    """A prepared 10-board copy of the sample line (128 px), its spec and a k=4 budget."""
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("DEFECTFORGE_DATASETS", str(tmp_path / "datasets"))
    folder = tmp_path / "datasets" / "tiny"
    folder.mkdir(parents=True)
    text = (PROJECT_ROOT / "datasets" / "sample" / "dataset.yaml").read_text()
    text = text.replace("name: sample", "name: tiny")
    text = text.replace("{boards: 200, defect_free: 40}", "{boards: 10, defect_free: 1}")
    text = text.replace("{boards: 100, defect_free: 20}", "{boards: 3, defect_free: 1}")
    (folder / "dataset.yaml").write_text(text)
    shutil.copy(PROJECT_ROOT / "datasets" / "sample" / "defects.yaml", folder / "defects.yaml")
    prepare_dataset("tiny", progress=False, workers=1)
    budget = save_budget(choose_real_budget(PreparedDataset("tiny").coco_path("train"), 4, 0), tmp_path / "b.json")
    return folder / "defects.yaml", budget


@pytest.mark.slow
def test_gen_generate_set_writes_gated_coco_and_resumes(tmp_path, tiny_line, kit):
    spec, budget = tiny_line
    model = train_generator("tiny", budget, tmp_path / "model", config={
        "model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}, progress=False)
    card = json.loads((model / "model_card.json").read_text())
    chosen = json.loads(budget.read_text())["file_names"]
    assert card["budget"]["k"] == 4 and sorted(card["images"]) == sorted(f.split("/")[-1] for f in chosen)
    out = tmp_path / "gen"
    kwargs = dict(seed=3, budget_path=budget, config={"batch_size": 4, "gate": {"retries": 1}},
                  keep_rejected=True, progress=False)
    summary = generate_set("tiny", spec, model, 3, out, **kwargs)
    assert summary.generated_now + summary.placement_failed == 3 and summary.skipped == 0
    assert check_coco(out / "annotations.json").ok
    coco = json.loads((out / "annotations.json").read_text())
    image = coco["images"][0]
    assert image["spec_hash"] and image["revision"] == card["revision"] and image["generator"] == "defectforge-compact"
    assert image["sample_id"].endswith("-3-000000") and image["clean_file_name"]
    assert {"verdict", "score", "box_changed"} <= set(coco["annotations"][0]["gate"])
    first = {p.name: p.read_bytes() for p in (out / "images").iterdir()}
    again = generate_set("tiny", spec, model, 3, out, **kwargs)
    assert again.skipped == 3 and again.generated_now == 0
    fresh = generate_set("tiny", spec, model, 3, tmp_path / "gen2", **kwargs)
    assert fresh.count == 3
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "gen2" / "images").iterdir()}
    assert json.loads((out / "summary.json").read_text())["count"] == 3
    sheet = contact_sheet(PreparedDataset("tiny").coco_path("train"), out / "annotations.json", tmp_path / "s.png", size=16)
    assert sheet.stat().st_size > 0
