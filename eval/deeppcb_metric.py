"""DeepPCB's own metric: a detection counts when IoU > 0.33 with a same-class box."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from eval.coco_metrics import load_coco, mean_valid, precision_table

IOU_THRESHOLD = 0.33


class DeepPCBMetrics(BaseModel):
    """Precision / recall / F-score at a score threshold, and mAP at IoU 0.33."""

    precision: float
    recall: float
    fscore: float
    map33: float


def box_iou(a: list[float], b: list[float]) -> float:
    """IoU of two COCO xywh boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def deeppcb_metrics(gt_path: Path, detections: list[dict], conf: float = 0.25) -> DeepPCBMetrics:
    """Greedy matching by score per image and class (each ground-truth box matched once)."""
    gt = load_coco(gt_path)
    truths: dict[tuple, list[list[float]]] = defaultdict(list)
    for ann in gt.dataset["annotations"]:
        truths[(ann["image_id"], ann["category_id"])].append(ann["bbox"])
    kept = sorted((d for d in detections if d["score"] >= conf), key=lambda d: -d["score"])
    used: dict[tuple, set[int]] = defaultdict(set)
    true_pos = 0
    for det in kept:
        key = (det["image_id"], det["category_id"])
        ious = [box_iou(det["bbox"], box) for box in truths.get(key, [])]
        free = [(iou, i) for i, iou in enumerate(ious) if i not in used[key] and iou > IOU_THRESHOLD]
        if free:
            used[key].add(max(free)[1])
            true_pos += 1
    n_truth = len(gt.dataset["annotations"])
    precision = true_pos / len(kept) if kept else 0.0
    recall = true_pos / n_truth if n_truth else 0.0
    fscore = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    table = precision_table(gt, detections, [float(np.nextafter(IOU_THRESHOLD, 1.0))])
    return DeepPCBMetrics(precision=precision, recall=recall, fscore=fscore, map33=mean_valid(table))
