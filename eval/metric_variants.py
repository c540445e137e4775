"""Box mAP under COCOeval's rules and under ultralytics' rules, one rule at a time.

Matching (which detection hits which ground-truth box) and integration (AP from the hits) are
separate steps here, so either can be swapped alone:

- `coco_matching`: pycocotools COCOeval.evaluate (per image and class, the top `max_dets` by
  score, greedy by score, crowd boxes ignored);
- `ultralytics_matching`: ultralytics' `match_predictions` (per image over all classes, in the
  detections' score order, wrong-class IoUs zeroed; crowd boxes count like any YOLO label);
- `coco_ap`: COCOeval.accumulate (101 recall thresholds, the precision envelope read by
  searchsorted; the same arithmetic as eval.bootstrap);
- `ultralytics_ap`: ultralytics' `ap_per_class` (trapezoid over np.interp of the envelope).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from eval.bootstrap import IOU_THRESHOLDS, CategoryMatches, average_precision

COCO_MAX_DETS = 100
"""COCOeval's default (and eval.coco_metrics'): at most 100 detections per image and class."""


@dataclass(frozen=True)
class Matched:
    """Detections of one detector on a test split, matched to its ground truth."""

    image: np.ndarray  # (D,) index into the sorted image ids
    category: np.ndarray  # (D,) index into the sorted category ids
    score: np.ndarray  # (D,)
    hit: np.ndarray  # (D, T) matched a counted ground-truth box at each IoU threshold
    ignored: np.ndarray  # (D, T) matched an ignored (crowd) box: neither hit nor miss
    gt_image: np.ndarray  # (G,) image index of each counted ground-truth box
    gt_category: np.ndarray  # (G,) category index of each counted ground-truth box
    n_images: int


def _stack(rows: list[tuple], gt_image: list[int], gt_category: list[int], n_images: int) -> Matched:
    """`rows`: (image, category, scores (n,), hit (n, T), ignored (n, T)) chunks."""
    t = len(IOU_THRESHOLDS)
    rows = rows or [(0, 0, np.zeros(0), np.zeros((0, t), bool), np.zeros((0, t), bool))]
    return Matched(
        image=np.concatenate([np.full(len(r[2]), r[0]) for r in rows]).astype(np.int64),
        category=np.concatenate([np.full(len(r[2]), r[1]) for r in rows]).astype(np.int64),
        score=np.concatenate([np.asarray(r[2], float) for r in rows]),
        hit=np.concatenate([r[3] for r in rows]).astype(bool),
        ignored=np.concatenate([r[4] for r in rows]).astype(bool),
        gt_image=np.asarray(gt_image, np.int64), gt_category=np.asarray(gt_category, np.int64),
        n_images=n_images,
    )


def coco_matching(gt, detections: list[dict], max_dets: int = COCO_MAX_DETS) -> Matched:
    """COCOeval's matches (all areas, `max_dets` per image and class) of `detections` on `gt`
    (a pycocotools COCO)."""
    from pycocotools.cocoeval import COCOeval

    image_ids, cat_ids = sorted(gt.getImgIds()), sorted(gt.getCatIds())
    if not detections:  # loadRes([]) raises: only the counted ground truth matters
        counted = [(image_ids.index(a["image_id"]), cat_ids.index(a["category_id"]))
                   for a in gt.loadAnns(gt.getAnnIds(imgIds=image_ids, iscrowd=False))]
        return _stack([], [i for i, _ in counted], [k for _, k in counted], len(image_ids))
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(gt, gt.loadRes([dict(d) for d in detections]), "bbox")
        p = evaluator.params
        p.imgIds, p.catIds, p.iouThrs = image_ids, cat_ids, IOU_THRESHOLDS
        p.areaRng, p.areaRngLbl, p.maxDets = [[0, 1e10]], ["all"], [max_dets]
        evaluator.evaluate()
    rows, gt_image, gt_category = [], [], []
    for k in range(len(cat_ids)):
        for i in range(len(image_ids)):
            e = evaluator.evalImgs[k * len(image_ids) + i]
            if e is None:
                continue
            counted = int(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0))
            gt_image += [i] * counted
            gt_category += [k] * counted
            shape = (len(IOU_THRESHOLDS), len(e["dtScores"]))
            rows.append((i, k, e["dtScores"], np.reshape(e["dtMatches"], shape).T > 0,
                         np.reshape(e["dtIgnore"], shape).T.astype(bool)))
    return _stack(rows, gt_image, gt_category, len(image_ids))


def keep_top(detections: list[dict], max_dets: int) -> list[dict]:
    """The `max_dets` best-scored detections of each image and class (COCOeval's cut: a stable
    sort by descending score)."""
    order = sorted(range(len(detections)), key=lambda n: -detections[n]["score"])
    taken: dict[tuple, int] = {}
    keep = []
    for n in order:
        key = (detections[n]["image_id"], detections[n]["category_id"])
        taken[key] = taken.get(key, 0) + 1
        if taken[key] <= max_dets:
            keep.append(n)
    return [detections[n] for n in sorted(keep)]


def ultralytics_matching(gt, detections: list[dict]) -> Matched:
    """ultralytics' `match_predictions` per image (detections in descending score order, as its
    NMS returns them) against every ground-truth box of `gt`, crowd boxes included."""
    import torch
    from ultralytics.engine.validator import BaseValidator
    from ultralytics.utils.metrics import box_iou

    image_ids, cat_ids = sorted(gt.getImgIds()), sorted(gt.getCatIds())
    thresholds = SimpleNamespace(iouv=torch.linspace(0.5, 0.95, 10))  # the validator's own iouv
    by_image: dict[int, list[dict]] = {}
    for d in detections:
        by_image.setdefault(d["image_id"], []).append(d)
    rows, gt_image, gt_category = [], [], []
    for i, image_id in enumerate(image_ids):
        truth = gt.loadAnns(gt.getAnnIds(imgIds=[image_id]))
        true_cls = np.array([cat_ids.index(a["category_id"]) for a in truth], np.int64)
        gt_image += [i] * len(truth)
        gt_category += true_cls.tolist()
        dets = sorted(by_image.get(image_id, []), key=lambda d: -d["score"])
        if not dets:
            continue
        pred_cls = np.array([cat_ids.index(d["category_id"]) for d in dets], np.int64)
        hit = np.zeros((len(dets), len(IOU_THRESHOLDS)), bool)
        if len(truth):
            iou = box_iou(_xyxy([a["bbox"] for a in truth]), _xyxy([d["bbox"] for d in dets]))
            hit = BaseValidator.match_predictions(thresholds, torch.from_numpy(pred_cls),
                                                  torch.from_numpy(true_cls), iou).numpy()
        for k in np.unique(pred_cls):
            sel = pred_cls == k
            rows.append((i, int(k), np.array([d["score"] for d in dets])[sel], hit[sel],
                         np.zeros_like(hit[sel])))
    return _stack(rows, gt_image, gt_category, len(image_ids))


def _xyxy(boxes: list[list[float]]):
    import torch

    b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return torch.cat([b[:, :2], b[:, :2] + b[:, 2:]], dim=1)


def coco_ap(matched: Matched) -> tuple[float, float]:
    """(mAP50, mAP50-95) integrated as COCOeval.accumulate does."""
    per_category = []
    for k in np.unique(np.concatenate([matched.category, matched.gt_category])):
        sel = matched.category == k
        order = np.argsort(-matched.score[sel], kind="mergesort")
        hit, ignored = matched.hit[sel][order], matched.ignored[sel][order]
        per_category.append(CategoryMatches(
            image=matched.image[sel][order], tp=(hit & ~ignored).T, fp=(~hit & ~ignored).T,
            ground_truth=np.bincount(matched.gt_image[matched.gt_category == k],
                                     minlength=matched.n_images)))
    return average_precision(per_category, np.ones(matched.n_images))


def ultralytics_ap(matched: Matched) -> tuple[float, float]:
    """(mAP50, mAP50-95) integrated by ultralytics' `ap_per_class` (classes with ground truth;
    detections on ignored crowd boxes are left out: it has no notion of them)."""
    from ultralytics.utils.metrics import ap_per_class

    keep = ~matched.ignored.any(axis=1)
    ap = ap_per_class(matched.hit[keep], matched.score[keep], matched.category[keep],
                      matched.gt_category)[5]
    return (float(ap[:, 0].mean()), float(ap.mean())) if len(ap) else (0.0, 0.0)
