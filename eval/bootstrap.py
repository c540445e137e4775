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
    map50, map50_95 = average_precisions(matches, np.asarray(weights)[None])[0]
    return float(map50), float(map50_95)


def average_precisions(matches: list[CategoryMatches], draws: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(mAP50, mAP50-95) per row of `draws` (R, I): image weights of R resamples at once,
    `chunk` rows at a time (the detections' cumulative counts take R x 10 x D floats)."""
    draws = np.asarray(draws, np.float64)
    return np.concatenate([_chunk_precisions(matches, draws[i:i + chunk])
                           for i in range(0, len(draws), chunk)]) if len(draws) else np.zeros((0, 2))


def _chunk_precisions(matches: list[CategoryMatches], draws: np.ndarray) -> np.ndarray:
    rows = len(draws)
    sum50, sum50_95, classes = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    for cat in matches:
        positives = draws @ cat.ground_truth  # (R,)
        drawn = positives > 0  # no ground truth drawn: COCOeval leaves the class out (-1)
        precision = _interpolated_precision(cat, draws, positives)  # (R, T, 101)
        sum50 += np.where(drawn, precision[:, 0].mean(axis=1), 0.0)
        sum50_95 += np.where(drawn, precision.mean(axis=(1, 2)), 0.0)
        classes += drawn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(classes[:, None] > 0, np.stack([sum50, sum50_95], 1) / classes[:, None], 0.0)


def _interpolated_precision(cat: CategoryMatches, draws: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """COCOeval.accumulate's precision at the 101 recall points, per draw and IoU threshold: the
    precision envelope at the first detection whose recall reaches each point (0 past the last).

    Only true positives need visiting: recall rises only at them, and a false positive's precision
    is at most that of the detection before it, so the envelope (the best precision at or after a
    detection) at a true positive is the best over the true positives from there on. The weighted
    counts at each true positive (true positives, and detections seen, so far) are the draws'
    image weights times per-image counts (`_counts_up_to`), one matrix product per threshold; the
    values are the same integer sums COCOeval forms, so the result is exact."""
    rows, points = len(draws), len(RECALL_POINTS)
    precision = np.zeros((rows, len(IOU_THRESHOLDS), points))
    images = len(cat.ground_truth)
    for t in range(len(IOU_THRESHOLDS)):
        hits = np.flatnonzero(cat.tp[t])
        if hits.size == 0:
            continue
        counted = cat.tp[t] | cat.fp[t]
        tp = draws @ _counts_up_to(cat.image[hits], np.arange(hits.size), images, hits.size)  # (R, K)
        seen = draws @ _counts_up_to(cat.image[counted], np.searchsorted(hits, np.flatnonzero(counted)),
                                     images, hits.size)
        prec = tp / np.maximum(seen, np.spacing(1))
        envelope = np.maximum.accumulate(prec[:, ::-1], axis=1)[:, ::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = tp / positives[:, None]
        first = _first_reaching(recall)  # (R, 101)
        picked = np.take_along_axis(envelope, np.minimum(first, hits.size - 1), axis=1)
        precision[:, t] = np.where(first < hits.size, picked, 0.0)
    return precision


def _counts_up_to(image: np.ndarray, step: np.ndarray, images: int, steps: int) -> np.ndarray:
    """(images, steps): how many of the detections (test-image index `image`, first counted at
    `step`; steps past the last are dropped) each image has by each step."""
    keep = step < steps
    counts = np.bincount(image[keep] * steps + step[keep], minlength=images * steps)
    return np.cumsum(counts.reshape(images, steps), axis=1).astype(np.float64)


def _first_reaching(recall: np.ndarray) -> np.ndarray:
    """Per row of a non-decreasing `recall` (R, K): the first index reaching each recall point,
    K where none does (np.searchsorted(row, RECALL_POINTS, side="left") for every row at once:
    counting the entries below each point)."""
    rows, depth = recall.shape
    below = np.searchsorted(RECALL_POINTS, recall, side="right")  # points at or under each entry
    bins = len(RECALL_POINTS) + 1
    counts = np.bincount((below + bins * np.arange(rows)[:, None]).ravel(), minlength=bins * rows)
    return np.cumsum(counts.reshape(rows, bins), axis=1)[:, :-1]


def bootstrap(
    runs: dict[str, list[list[CategoryMatches]]],
    references: dict[str, str] | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
    rivals: dict[str, str] | None = None,
) -> dict[str, dict[str, Interval]]:
    """Per arm: COCO mAP50 / mAP50-95 (mean over its seeds) and the delta against its reference
    arm (`references`: arm -> reference; default every arm against `real`), each with a
    percentile interval over `resamples` draws (the same draws for every arm: paired); with
    `rivals` (arm -> another arm), the delta against that one too (`rival_delta_*`)."""
    n_images = len(next(iter(runs.values()))[0][0].ground_truth)
    rng = np.random.default_rng(seed)
    draws = np.stack([np.ones(n_images)] + [
        np.bincount(rng.integers(0, n_images, n_images), minlength=n_images).astype(np.float64)
        for _ in range(resamples)
    ])
    values = {arm: np.mean([average_precisions(m, draws) for m in seeds], axis=0)
              for arm, seeds in runs.items()}  # (draws, 2): mean over seeds
    out = {}
    for arm, v in values.items():
        out[arm] = {"coco_map50": _interval(v[:, 0], confidence),
                    "coco_map50_95": _interval(v[:, 1], confidence)}
        reference = (references or {}).get(arm, "real" if references is None else None)
        for prefix, other in (("delta_", reference), ("rival_delta_", (rivals or {}).get(arm))):
            if other in values and arm != other:
                d = v - values[other]
                out[arm][f"{prefix}coco_map50"] = _interval(d[:, 0], confidence)
                out[arm][f"{prefix}coco_map50_95"] = _interval(d[:, 1], confidence)
    return out


def _interval(values: np.ndarray, confidence: float) -> Interval:
    """The full-sample value (row 0) and the percentile interval of the resamples."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values[1:], [tail, 100 - tail])
    return Interval(mean=float(values[0]), low=float(low), high=float(high), n=len(values) - 1)
