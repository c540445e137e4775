"""The metric audit: each rule on planted detections, then the whole table on tiny real detectors."""

import json

import pytest

from eval.coco_metrics import coco_evaluate, load_coco
from eval.metric_variants import (
    coco_ap,
    coco_matching,
    keep_top,
    ultralytics_ap,
    ultralytics_matching,
)


@pytest.fixture
def split(toy_dataset):
    path = toy_dataset / "annotations" / "test.json"
    return path, json.loads(path.read_text())


def test_coco_rules_reproduce_coco_evaluate(noisy_detections, split):
    path, gt = split
    detections = noisy_detections(gt, 0)
    expected = coco_evaluate(path, detections)
    map50, map50_95 = coco_ap(coco_matching(load_coco(path), detections))
    assert 0.1 < expected.map50_95 < 0.95
    assert (map50, map50_95) == pytest.approx((expected.map50, expected.map50_95), abs=1e-12)


def test_cap_of_100_per_image_and_class_drops_late_hits(noisy_detections, split):
    path, gt = split
    image = gt["images"][0]["id"]
    hits = [dict(d, score=0.1) for d in noisy_detections(gt, 1) if d["image_id"] == image]
    junk = [{"image_id": image, "category_id": c, "bbox": [0.0, 0.0, 3.0, 3.0], "score": 0.5}
            for c in (1, 2) for _ in range(120)]
    detections = junk + hits
    assert len(keep_top(detections, 100)) == 200  # every hit scores below 100 junk boxes
    coco = load_coco(path)
    assert coco_ap(coco_matching(coco, detections, 300))[1] > coco_ap(coco_matching(coco, detections))[1]


def test_ultralytics_matching_matches_like_cocoeval(noisy_detections, split):
    """Greedy in score order, best unclaimed box: the same hits as COCOeval without crowds."""
    path, gt = split
    coco = load_coco(path)
    for seed in range(3):
        detections = noisy_detections(gt, seed)
        by_coco = coco_matching(coco, detections)
        by_ultralytics = ultralytics_matching(coco, keep_top(detections, 100))
        assert coco_ap(by_ultralytics) == pytest.approx(coco_ap(by_coco), abs=1e-12)
        assert ultralytics_ap(by_ultralytics) == pytest.approx(ultralytics_ap(by_coco), abs=1e-12)


def test_interpolations_differ_on_one_curve(tmp_path):
    """Hit, miss, hit on two boxes: COCO reads the envelope at 101 recall steps (51 x 1, 50 x 2/3);
    ultralytics integrates a linear interpolation of it (the drop at recall 1/2 is a slope)."""
    gt = {"images": [{"id": 1, "width": 100, "height": 100, "file_name": "a.png"}],
          "categories": [{"id": 1, "name": "pit"}],
          "annotations": [{"id": n + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": 100,
                           "iscrowd": 0} for n, b in enumerate([[0, 0, 10, 10], [50, 50, 10, 10]])]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    detections = [{"image_id": 1, "category_id": 1, "bbox": b, "score": s}
                  for b, s in (([0, 0, 10, 10], 0.9), ([80, 0, 10, 10], 0.8), ([50, 50, 10, 10], 0.7))]
    matched = coco_matching(load_coco(path), detections)
    assert coco_ap(matched)[0] == pytest.approx((51 + 50 * 2 / 3) / 101)
    assert ultralytics_ap(matched)[0] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=0.01)
    assert ultralytics_ap(matched)[0] != pytest.approx(coco_ap(matched)[0], abs=1e-6)


def test_crowd_boxes_are_ignored_by_cocoeval_only(noisy_detections, split, tmp_path):
    path, gt = split
    crowd = dict(gt["annotations"][0], id=10_000, iscrowd=1)
    with_crowd = dict(gt, annotations=gt["annotations"] + [crowd])
    crowd_path = tmp_path / "crowd.json"
    crowd_path.write_text(json.dumps(with_crowd))
    coco = load_coco(crowd_path)
    detections = noisy_detections(gt, 2)
    by_coco, by_ultralytics = coco_matching(coco, detections), ultralytics_matching(coco, detections)
    assert len(by_ultralytics.gt_image) == len(by_coco.gt_image) + 1


@pytest.fixture(scope="module")
def evaluation(toy_dataset, tmp_path_factory):
    """An evaluation folder as eval.protocol lays it out: settings.json, test/, and two real-only
    runs (tiny detectors, two epochs) with their weights and detections.json."""
    from eval.config import DetectorConfig
    from eval.detector import predict_coco, train_detector
    from eval.trainset import export_test, export_train
    from pipeline.data.atomic import write_json
    from pipeline.data.coco_reader import read_coco

    out = tmp_path_factory.mktemp("audit") / "toy-k16-quick"
    cfg = DetectorConfig(epochs=2, imgsz=96, val_imgsz=96, batch=8, workers=0, device="cpu",
                         mosaic=0.0, close_mosaic=0, nbs=8, warmup_epochs=0.0)
    categories = json.loads((toy_dataset / "annotations" / "test.json").read_text())["categories"]
    test = export_test(read_coco(toy_dataset / "annotations" / "test.json"), categories,
                       out / "test")
    write_json(out / "settings.json", {"detector": cfg.model_dump()})
    for seed in (0, 1):
        folder = out / "arms" / "real" / f"seed{seed}"
        data_yaml = export_train([toy_dataset / "annotations" / "train.json"], categories, folder)
        weights = train_detector(data_yaml, folder / "detector", cfg, seed)
        write_json(folder / "detections.json", predict_coco(weights, test, cfg))
    return out, test, cfg


@pytest.mark.slow
def test_audit_table_on_a_trained_detector(evaluation, tmp_path):
    from eval.detector import ultralytics_scores
    from eval.metric_audit import PRIMARY, VARIANTS, run_audit

    out, test, cfg = evaluation
    run_dir = out / "arms" / "real" / "seed0"
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    (audit,), audit_dir = run_audit([run_dir], tmp_path / "audit")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # the run is read only

    assert list(audit.scores) == list(VARIANTS)
    assert all(0.0 <= v <= 1.0 for pair in audit.scores.values() for v in pair)
    detections = json.loads((run_dir / "detections.json").read_text())
    assert detections, "the tiny detector predicts nothing: the audit would compare empty sets"
    coco = coco_evaluate(test.coco_path, detections)
    assert audit.scores[PRIMARY] == pytest.approx((coco.map50, coco.map50_95), abs=1e-12)
    # the validator the audit runs is eval.detector's, and its own matches give its figure
    weights = run_dir / "detector" / "train" / "weights" / "last.pt"
    reported = ultralytics_scores(weights, test, tmp_path / "val", cfg)
    assert audit.scores["ultralytics_val"] == pytest.approx(reported[:2], abs=1e-12)
    validator = audit.facts["validator"]
    assert validator["map50_95_from_its_own_matches"] == pytest.approx(reported[1], abs=1e-12)
    assert validator["multi_label"] and validator["conf"] == cfg.conf
    assert validator["detections"] > 0 and validator["single_label_detections"] > 0
    assert audit.facts["predict"]["max_det"] == validator["max_det"] == 300
    assert audit.facts["ground_truth"]["coco_boxes"] == audit.facts["ground_truth"]["yolo_boxes"]
    table = (audit_dir / "audit.md").read_text()
    assert all(f"| {k} |" in table for k in VARIANTS)


@pytest.mark.slow
def test_cli_compares_two_runs(evaluation, tmp_path, capsys):
    from eval.metric_audit import PRIMARY, VARIANTS, main

    out, _, _ = evaluation
    runs = [str(out / "arms" / "real" / f"seed{s}") for s in (0, 1)]
    assert main([*runs, "--out", str(tmp_path / "ab")]) == 0
    printed = capsys.readouterr().out
    assert "| variant | A mAP50-95 | B mAP50-95 | A-B mAP50-95 |" in printed
    audits = json.loads((tmp_path / "ab" / "audit.json").read_text())
    assert [a["run"] for a in audits] == ["toy-k16-quick/real/seed0", "toy-k16-quick/real/seed1"]
    delta = audits[0]["scores"][PRIMARY][1] - audits[1]["scores"][PRIMARY][1]
    assert f"| {PRIMARY} | " in printed and f"{delta:+.4f}" in printed
    assert all(f"| {k} |" in printed for k in VARIANTS)

    assert main([str(out / "test"), "--out", str(tmp_path / "bad")]) == 2
    assert "not a run dir" in capsys.readouterr().err
