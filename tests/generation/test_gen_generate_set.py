"""generate_set end to end on a tiny prepared sample line: files, COCO, provenance, gate, resume,
boxes in the real annotation style, strict rejections counted."""

import json
from collections import Counter

import numpy as np
import pytest

from eval.realism import contact_sheet
from pipeline.data.coco_check import check_coco
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import decode_mask, mask_bbox
from pipeline.generate import generate_set
from pipeline.train import train_generator
from pipeline.training_data import defective_backgrounds


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


def _margins(annotation: dict, width: int, height: int) -> list[float]:
    """Margins of a COCO box past its mask's tight box, for the sides the image border did not clip."""
    x, y, w, h = annotation["bbox"]
    mx, my, mw, mh = mask_bbox(decode_mask(annotation["segmentation"]))
    sides = [(mx - x, x > 0), (my - y, y > 0), (x + w - mx - mw, x + w < width), (y + h - my - mh, y + h < height)]
    return [margin for margin, free in sides if free]


def _loosen_real_boxes(coco_path, px: int) -> None:
    """Every real box of a COCO file grown by `px` per side (inside the image): hand-drawn style."""
    coco = json.loads(coco_path.read_text())
    sizes = {image["id"]: (image["width"], image["height"]) for image in coco["images"]}
    for annotation in coco["annotations"]:
        width, height = sizes[annotation["image_id"]]
        x, y, w, h = annotation["bbox"]
        x0, y0 = max(0, x - px), max(0, y - px)
        annotation["bbox"] = [x0, y0, min(width, x + w + px) - x0, min(height, y + h + px) - y0]
    coco_path.write_text(json.dumps(coco))


@pytest.mark.slow
def test_gen_generate_set_labels_follow_the_real_style_and_counts_strict_rejections(tmp_path, tiny_line, kit):
    spec, budget = tiny_line
    model = train_generator("tiny", budget, tmp_path / "model", config={
        "model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}, progress=False)
    card = json.loads((model / "model_card.json").read_text())
    classes = PreparedDataset("tiny").info.class_names
    assert set(card["class_directions"]) == set(classes) and set(card["class_directions"].values()) <= {-1, 0, 1}
    kwargs = dict(seed=5, budget_path=budget, keep_rejected=True, progress=False)
    config = {"batch_size": 4, "gate": {"retries": 0}}
    # 1. the sample line's real boxes are tight (exact masks): so are the generated ones
    generate_set("tiny", spec, model, 6, tmp_path / "tight", config=config, **kwargs)
    coco = json.loads((tmp_path / "tight" / "annotations.json").read_text())
    assert coco["annotations"] and all(m == 0 for a in coco["annotations"] for m in _margins(a, 128, 128))
    records = {r.name: json.loads(r.read_text()) for r in (tmp_path / "tight" / "records").iterdir()}
    stored = sorted(tuple(i["bbox"]) for r in records.values() for i in r["instances"] if i["bbox"])
    assert stored == sorted(tuple(a["bbox"]) for a in coco["annotations"])  # assembled from the stored boxes
    # 2. real boxes drawn 10 px past their masks: generated boxes about 10 px past theirs
    _loosen_real_boxes(PreparedDataset("tiny").coco_path("train"), 10)
    generate_set("tiny", spec, model, 6, tmp_path / "loose", config=config, **kwargs)
    loose = json.loads((tmp_path / "loose" / "annotations.json").read_text())["annotations"]
    margins = [m for a in loose for m in _margins(a, 128, 128)]
    assert margins and 8 <= float(np.median(margins)) <= 12  # (real boxes clipped at the border: 0 px)
    assert float(np.quantile(margins, 0.25)) >= 5
    # 3. with every class declared brighter, then darker, on identical images (no retries, and no
    # contrast or over-drawing limit), each instance the contrast rule passes is rejected in one run
    gate = {"retries": 0, "min_contrast": 0, "max_spill": 1000, "max_box_excess": 1}
    strict = {}
    for way in (1, -1):
        out = tmp_path / f"way{way}"
        summary = generate_set("tiny", spec, model, 6, out, config={
            "batch_size": 4, "gate": gate, "directions": dict.fromkeys(classes, way)}, **kwargs)
        assert json.loads((out / "summary.json").read_text())["strict_rejected"] == summary.strict_rejected
        strict[way] = summary.strict_rejected
    verdicts = [i["gate"] for r in (out / "records").iterdir() for i in json.loads(r.read_text())["instances"]]
    passable = sum(v["contrast_rule_passed"] for v in verdicts)
    assert passable > 0 and strict[1] + strict[-1] == passable


@pytest.mark.slow
def test_gen_generate_set_covers_the_real_defect_images_evenly(tmp_path, tiny_line, kit):
    """Sample i starts from background i mod n: where placement succeeds, each of the budget's
    defect images as often as the others (placed by each sample's seed, a set skipped some and
    repeated others)."""
    spec, budget = tiny_line
    model = train_generator("tiny", budget, tmp_path / "model", config={
        "model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}, progress=False)
    out = tmp_path / "gen"
    summary = generate_set("tiny", spec, model, 12, out, seed=5, budget_path=budget, progress=False,
                           config={"batch_size": 4, "gate": {"retries": 0}, "onto": "defective"})
    assert summary.placement_failed == 0
    used = Counter(json.loads(r.read_text())["background"] for r in (out / "records").iterdir())
    defect_images, _ = defective_backgrounds(PreparedDataset("tiny"), budget)
    assert len(defect_images) == 3 and used == {str(p): 4 for p in defect_images}
