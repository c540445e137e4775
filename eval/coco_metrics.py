"""pycocotools COCOeval on a ground-truth COCO file and a list of detections, quietly."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
from pydantic import BaseModel


class CocoMetrics(BaseModel):
    """Box AP from COCOeval: mAP at IoU 0.5, mAP over 0.5:0.95, and per-class values."""

    map50: float
    map50_95: float
    per_class_ap50: dict[str, float]
    per_class_ap50_95: dict[str, float]


def load_coco(path: Path):
    """`pycocotools.coco.COCO` without its stdout chatter."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(str(path))


def precision_table(gt, detections: list[dict], iou_thrs: list[float] | None = None) -> np.ndarray:
    """COCOeval precision array [T, R, K] (all areas, 100 dets); all -1 when nothing was detected.

    `loadRes([])` raises, so an empty detection list gets 0 precision for classes with ground truth.
    """
    from pycocotools.cocoeval import COCOeval

    thrs = np.array(iou_thrs if iou_thrs is not None else np.linspace(0.5, 0.95, 10))
    cat_ids = sorted(gt.getCatIds())
    if not detections:
        counts = [len(gt.getAnnIds(catIds=[c], iscrowd=False)) for c in cat_ids]
        table = np.full((len(thrs), 101, len(cat_ids)), -1.0)
        table[:, :, [i for i, n in enumerate(counts) if n]] = 0.0
        return table
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(d) for d in detections])  # loadRes edits its input
        evaluator = COCOeval(gt, dt, iouType="bbox")
        evaluator.params.iouThrs = thrs
        evaluator.params.catIds = cat_ids
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.eval["precision"][:, :, :, 0, -1]


def mean_valid(values: np.ndarray) -> float:
    """Mean over entries that are not -1 (COCOeval's 'no ground truth'); 0 when none."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else 0.0


def coco_evaluate(gt_path: Path, detections: list[dict]) -> CocoMetrics:
    """Evaluate COCO-format detections (`image_id`, `category_id`, `bbox` xywh, `score`)."""
    gt = load_coco(gt_path)
    table = precision_table(gt, detections)
    names = {c["id"]: c["name"] for c in gt.loadCats(gt.getCatIds())}
    per50, per = {}, {}
    for k, cat_id in enumerate(sorted(gt.getCatIds())):
        if (table[:, :, k] > -1).any():
            per50[names[cat_id]] = mean_valid(table[0, :, k])
            per[names[cat_id]] = mean_valid(table[:, :, k])
    return CocoMetrics(
        map50=mean_valid(table[0]),
        map50_95=mean_valid(table),
        per_class_ap50=per50,
        per_class_ap50_95=per,
    )
