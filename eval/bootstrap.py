"""Intervals over the test images: a percentile bootstrap of COCO box mAP, paired across arms.

pycocotools' COCOeval matches each detector's detections to the ground truth once. A resample
draws test images with replacement; an image drawn w times counts w times, so AP is recomputed
from the same matches with per-image weights, exactly as COCOeval.accumulate would on the
duplicated images (101 recall points, all areas, 100 detections per image). Every arm and seed
uses the same draws, so the interval of a delta is paired. It covers the choice of test images,
not seed-to-seed training spread (that is the t-interval over seeds).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.coco_metrics import load_coco
from eval.stats import Interval

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = 100
RESAMPLES = 1000


@dataclass(frozen=True)
class CategoryMatches:
    """One category's detections over the test split, sorted by descending score."""

    image: np.ndarray  # (D,) test-image index of each detection
    tp: np.ndarray  # (T, D) matched to a ground truth at each IoU threshold
    fp: np.ndarray  # (T, D) unmatched and not ignored
    ground_truth: np.ndarray  # (I,) non-ignored ground-truth boxes per test image


def coco_matches(gt_path: Path, detections: list[dict]) -> list[CategoryMatches]:
    """Match detections to the ground truth with COCOeval (one entry per category id)."""
    from pycocotools.cocoeval import COCOeval

    gt = load_coco(gt_path)
    image_ids, cat_ids = sorted(gt.getImgIds()), sorted(gt.getCatIds())
    if not detections:  # loadRes([]) raises: only the ground-truth counts matter then
        return [CategoryMatches(np.zeros(0, np.int64), np.zeros((len(IOU_THRESHOLDS), 0), bool),
                                np.zeros((len(IOU_THRESHOLDS), 0), bool),
                                np.array([len(gt.getAnnIds(imgIds=[i], catIds=[c], iscrowd=False))
                                          for i in image_ids]))
                for c in cat_ids]
    with contextlib.redirect_stdout(io.StringIO()):
        results = gt.loadRes([dict(d) for d in detections])  # loadRes edits its input
        evaluator = COCOeval(gt, results, "bbox")
        evaluator.params.imgIds, evaluator.params.catIds = image_ids, cat_ids
        evaluator.params.iouThrs = IOU_THRESHOLDS
        evaluator.params.areaRng, evaluator.params.areaRngLbl = [[0, 1e10]], ["all"]
        evaluator.params.maxDets = [MAX_DETECTIONS]
        evaluator.evaluate()
    out = []
    for k in range(len(cat_ids)):
        scores, images, matched, ignored = [], [], [], []
        gt_count = np.zeros(len(image_ids), np.int64)
        for i in range(len(image_ids)):
            e = evaluator.evalImgs[k * len(image_ids) + i]
            if e is None:
                continue
            gt_count[i] = int(np.count_nonzero(np.asarray(e["gtIgnore"]) == 0))
            n = min(len(e["dtScores"]), MAX_DETECTIONS)
            scores.append(np.asarray(e["dtScores"][:n]))
            images.append(np.full(n, i))
            matched.append(np.asarray(e["dtMatches"])[:, :n] > 0)
            ignored.append(np.asarray(e["dtIgnore"])[:, :n].astype(bool))
        scores.append(np.zeros(0))  # a category nobody detected
        images.append(np.zeros(0, np.int64))
        matched.append(np.zeros((len(IOU_THRESHOLDS), 0), bool))
        ignored.append(np.zeros((len(IOU_THRESHOLDS), 0), bool))
        order = np.argsort(-np.concatenate(scores), kind="mergesort")
        m, ig = np.concatenate(matched, 1)[:, order], np.concatenate(ignored, 1)[:, order]
        image = np.concatenate(images)[order]
        out.append(CategoryMatches(image, m & ~ig, ~m & ~ig, gt_count))
    return out


def average_precision(matches: list[CategoryMatches], weights: np.ndarray) -> tuple[float, float]:
    """(mAP50, mAP50-95) with each test image counted `weights[i]` times."""
    per_class = []
    for cat in matches:
        positives = float(weights @ cat.ground_truth)
        if positives == 0:
            continue  # no ground truth drawn: COCOeval leaves the class out (-1)
        w = weights[cat.image].astype(np.float64)
        precision = np.zeros((len(IOU_THRESHOLDS), len(RECALL_POINTS)))
        if w.size:
            tp, fp = np.cumsum(cat.tp * w, axis=1), np.cumsum(cat.fp * w, axis=1)
            for t in range(len(IOU_THRESHOLDS)):
                recall = tp[t] / positives
                prec = tp[t] / np.maximum(tp[t] + fp[t], np.spacing(1))
                envelope = np.maximum.accumulate(prec[::-1])[::-1]
                found = np.searchsorted(recall, RECALL_POINTS, side="left")
                ok = found < len(recall)
                precision[t, ok] = envelope[found[ok]]
        per_class.append(precision)
    if not per_class:
        return 0.0, 0.0
    table = np.stack(per_class)
    return float(table[:, 0].mean()), float(table.mean())


def bootstrap(
    runs: dict[str, list[list[CategoryMatches]]],
    references: dict[str, str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, Interval]]:
    """Per arm: COCO mAP50 / mAP50-95 (mean over its seeds) and the delta against its reference
    arm (`references`: arm -> reference; default every arm against `real`), each with a
    percentile interval over `resamples` draws (the same draws for every arm: paired)."""
    n_images = len(next(iter(runs.values()))[0][0].ground_truth)
    rng = np.random.default_rng(seed)
    draws = [np.ones(n_images)] + [
        np.bincount(rng.integers(0, n_images, n_images), minlength=n_images).astype(np.float64)
        for _ in range(resamples)
    ]
    values = {arm: np.array([[average_precision(m, w) for m in seeds] for w in draws]).mean(axis=1)
              for arm, seeds in runs.items()}  # (draws, 2): mean over seeds
    out = {}
    for arm, v in values.items():
        out[arm] = {"coco_map50": _interval(v[:, 0], confidence),
                    "coco_map50_95": _interval(v[:, 1], confidence)}
        reference = (references or {}).get(arm, "real" if references is None else None)
        if reference in values and arm != reference:
            d = v - values[reference]
            out[arm]["delta_coco_map50"] = _interval(d[:, 0], confidence)
            out[arm]["delta_coco_map50_95"] = _interval(d[:, 1], confidence)
    return out


def _interval(values: np.ndarray, confidence: float) -> Interval:
    """The full-sample value (row 0) and the percentile interval of the resamples."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values[1:], [tail, 100 - tail])
    return Interval(mean=float(values[0]), low=float(low), high=float(high), n=len(values) - 1)
