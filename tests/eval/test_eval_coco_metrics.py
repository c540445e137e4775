"""COCOeval wrapper and DeepPCB metric on known predictions."""

import json

import pytest

from eval.coco_metrics import coco_evaluate
from eval.deeppcb_metric import deeppcb_metrics


def perfect(gt_path):
    doc = json.loads(gt_path.read_text())
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
             "score": 1.0} for a in doc["annotations"]]


def test_perfect_prediction_scores_one(toy_dataset):
    gt = toy_dataset / "annotations" / "test.json"
    metrics = coco_evaluate(gt, perfect(gt))
    assert metrics.map50 == pytest.approx(1.0)
    assert metrics.map50_95 == pytest.approx(1.0)
    assert set(metrics.per_class_ap50) == {"scratch", "pit"}
    assert all(v == pytest.approx(1.0) for v in metrics.per_class_ap50_95.values())


def test_empty_predictions_score_zero(toy_dataset):
    metrics = coco_evaluate(toy_dataset / "annotations" / "test.json", [])
    assert metrics.map50 == 0.0 and metrics.map50_95 == 0.0
    assert metrics.per_class_ap50 == {"scratch": 0.0, "pit": 0.0}


def test_deeppcb_metric_counts_iou_above_033(toy_dataset):
    gt = toy_dataset / "annotations" / "test.json"
    dets = perfect(gt)
    assert deeppcb_metrics(gt, dets).fscore == pytest.approx(1.0)
    # widen every box so IoU = 0.25 (< 0.33): nothing counts
    wide = [{**d, "bbox": [d["bbox"][0], d["bbox"][1], d["bbox"][2] * 4, d["bbox"][3]]} for d in dets]
    scores = deeppcb_metrics(gt, wide)
    assert scores.precision == 0.0 and scores.recall == 0.0 and scores.fscore == 0.0
    # wrong class never counts
    swapped = [{**d, "category_id": 3 - d["category_id"]} for d in dets]
    assert deeppcb_metrics(gt, swapped).recall == 0.0
    # low scores are ignored for P/R/F but still ranked for mAP@0.33
    low = [{**d, "score": 0.1} for d in dets]
    result = deeppcb_metrics(gt, low, conf=0.25)
    assert result.recall == 0.0 and result.map33 == pytest.approx(1.0)
