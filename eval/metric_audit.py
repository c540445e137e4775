"""Why ultralytics' mAP50-95 and COCOeval disagree on one detector, one factor at a time.

    python -m eval.metric_audit RUN_DIR_A [RUN_DIR_B] [--out DIR]

A run dir is one evaluation's `arms/<arm>/seed<s>` folder (its detector/train/weights/last.pt and
detections.json; the test split is the evaluation's test/ folder). The primary figure is COCOeval
on the real test COCO file with the detections the protocol scored (`eval.coco_metrics`); each
other row switches one factor to ultralytics' behaviour. With two run dirs the table also shows
the delta A - B under every variant: whether the factors can flip its sign.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel

from conditioning.errors import DefectforgeError
from eval.coco_metrics import load_coco
from eval.config import DetectorConfig
from eval.detector import TestSet, load_yolo, predict_coco
from eval.metric_variants import (
    COCO_MAX_DETS,
    coco_ap,
    coco_matching,
    keep_top,
    ultralytics_ap,
    ultralytics_matching,
)
from eval.val_capture import ValidatorRun, run_validator
from pipeline.data.atomic import write_bytes, write_json
from pipeline.paths import runs_root

PRIMARY = "cocoeval"
VARIANTS: dict[str, str] = {
    PRIMARY: "PRIMARY: COCOeval, predict detections (single-label NMS), test COCO file, "
             "<=100 per image and class, greedy by score, 101-point step interpolation",
    "max_dets_300": "COCOeval keeps <=300 detections per image and class",
    "val_input": "detections from ultralytics' validator, single-label NMS (its letterbox)",
    "val_multi_label": "detections from ultralytics' validator as it scores them (multi-label NMS)",
    "yolo_gt": "ground truth as the validator reads the YOLO txt labels",
    "ul_matching": "ultralytics' match_predictions instead of COCOeval's matching",
    "ul_interpolation": "ultralytics' ap_per_class on COCOeval's matches",
    "all_ultralytics": "all of the above at once (validator detections and labels, its "
                       "matching and interpolation, no per-class cap)",
    "ultralytics_val": "ultralytics model.val as reported (eval.detector.ultralytics_scores)",
}
"""Every row of the table: the variant and what it changes against the primary figure."""
PREDICT_MAX_DET = 300
"""eval.detector.predict_coco's max_det."""


@dataclass(frozen=True)
class RunFolder:
    """One (arm, seed) of an evaluation, located from its run dir."""

    name: str
    weights: Path
    detections: Path
    result: Path
    test: TestSet
    detector: DetectorConfig


class RunAudit(BaseModel):
    """mAP50 and mAP50-95 of one detector under every variant, and the facts checked."""

    run: str
    scores: dict[str, tuple[float, float]]
    facts: dict[str, Any]


def locate_run(run_dir: Path) -> RunFolder:
    """The weights, detections, test split and detector settings of `<evaluation>/arms/<arm>/seed<s>`."""
    run_dir = Path(run_dir).resolve()
    evaluation = run_dir.parents[2] if len(run_dir.parents) > 2 else run_dir
    if run_dir.parent.parent.name != "arms" or not run_dir.name.startswith("seed"):
        raise DefectforgeError(f"{run_dir}: not a run dir; pass an evaluation's "
                               "arms/<arm>/seed<s> folder")
    weights = run_dir / "detector" / "train" / "weights" / "last.pt"
    settings = evaluation / "settings.json"
    test = evaluation / "test"
    for path, what in ((weights, "trained weights"), (settings, "the evaluation's settings"),
                       (test / "annotations.json", "the test COCO file"),
                       (test / "yolo" / "data.yaml", "the test YOLO export")):
        if not path.is_file():
            raise DefectforgeError(f"{path}: missing ({what}); is the run finished?")
    return RunFolder(
        name=f"{evaluation.name}/{run_dir.parent.name}/{run_dir.name}", weights=weights,
        detections=run_dir / "detections.json", result=run_dir / "result.json",
        test=TestSet(test / "yolo" / "data.yaml", test / "annotations.json", test),
        detector=DetectorConfig(**json.loads(settings.read_text())["detector"]),
    )


def private_test(test: TestSet, out_dir: Path) -> TestSet:
    """The test split with its YOLO export copied under `out_dir` (ultralytics writes a label
    cache beside the labels; the evaluation folder stays untouched)."""
    copy = out_dir / "test-yolo"
    shutil.copytree(test.data_yaml.parent, copy, symlinks=True, dirs_exist_ok=True)
    data = yaml.safe_load(test.data_yaml.read_text())
    write_bytes(copy / "data.yaml", yaml.safe_dump({**data, "path": str(copy.resolve())},
                                                   sort_keys=False).encode())
    return TestSet(copy / "data.yaml", test.coco_path, test.images_root)


def audit_run(run: RunFolder, out_dir: Path) -> RunAudit:
    """Score one detector under every variant (one validator pass, COCOeval for the rest)."""
    # 1. the detections the protocol scored (predicted again if they were not saved)
    detections = (json.loads(run.detections.read_text()) if run.detections.is_file()
                  else predict_coco(run.weights, run.test, run.detector))
    # 2. ultralytics' validator: its stock multi-label NMS and single-label NMS, one forward pass
    val = run_validator(run.weights, private_test(run.test, out_dir), run.detector, out_dir)
    # 3. the two ground truths
    gt = load_coco(run.test.coco_path)
    write_json(out_dir / "validator_gt.json", val.ground_truth)
    yolo_gt = load_coco(out_dir / "validator_gt.json")
    # 4. every variant
    scores = {
        PRIMARY: coco_ap(coco_matching(gt, detections)),
        "max_dets_300": coco_ap(coco_matching(gt, detections, 300)),
        "val_input": coco_ap(coco_matching(gt, val.single_label)),
        "val_multi_label": coco_ap(coco_matching(gt, val.detections)),
        "yolo_gt": coco_ap(coco_matching(yolo_gt, detections)),
        "ul_matching": coco_ap(ultralytics_matching(gt, keep_top(detections, COCO_MAX_DETS))),
        "ul_interpolation": ultralytics_ap(coco_matching(gt, detections)),
        "all_ultralytics": ultralytics_ap(ultralytics_matching(yolo_gt, val.detections)),
        "ultralytics_val": (val.map50, val.map50_95),
    }
    return RunAudit(run=run.name, scores=scores, facts=facts(run, detections, val, gt, yolo_gt))


def facts(run: RunFolder, detections: list[dict], val: ValidatorRun, gt, yolo_gt) -> dict[str, Any]:
    """Settings and counts each variant depends on, measured rather than assumed."""
    anns = gt.loadAnns(gt.getAnnIds())
    saved = json.loads(run.result.read_text())["metrics"] if run.result.is_file() else None
    return {
        "predict": {**predict_settings(run), "detections": len(detections),
                    "cut_by_100_per_class": len(detections) - len(keep_top(detections, 100))},
        "validator": {**val.settings, "detections": len(val.detections),
                      "single_label_detections": len(val.single_label),
                      "map50_95_from_its_own_matches": ultralytics_ap(val.matched)[1],
                      "cut_by_100_per_class": len(val.detections)
                      - len(keep_top(val.detections, 100))},
        "ground_truth": {"coco_boxes": len(anns),
                         "coco_crowd": sum(bool(a.get("iscrowd")) for a in anns),
                         "yolo_boxes": len(yolo_gt.getAnnIds()),
                         "largest_box_shift_px": largest_shift(gt, yolo_gt)},
        "protocol_result": None if saved is None else {
            "map50_95": saved["map50_95"], "coco_map50_95": saved["coco"]["map50_95"]},
    }


def predict_settings(run: RunFolder) -> dict[str, Any]:
    """What `model.predict` in eval.detector.predict_coco runs with, read off its predictor."""
    import cv2

    gt = load_coco(run.test.coco_path)
    image = run.test.images_root / gt.loadImgs(sorted(gt.getImgIds())[:1])[0]["file_name"]
    model = load_yolo(run.weights)
    cfg = run.detector
    model.predict(str(image), imgsz=cfg.val_imgsz, conf=cfg.conf, device=cfg.device or None,
                  max_det=PREDICT_MAX_DET, verbose=False)
    args = model.predictor.args
    shape = model.predictor.preprocess([cv2.imread(str(image))]).shape[2:]
    return {"conf": args.conf, "iou": args.iou, "max_det": args.max_det, "multi_label": False,
            "input_shape": list(shape)}


def largest_shift(gt, other) -> float:
    """Largest distance (px, any side) from a COCO box to the nearest same-class box of `other`."""
    worst = 0.0
    for image_id in gt.getImgIds():
        theirs = other.loadAnns(other.getAnnIds(imgIds=[image_id]))
        for a in gt.loadAnns(gt.getAnnIds(imgIds=[image_id])):
            same = [b["bbox"] for b in theirs if b["category_id"] == a["category_id"]]
            shift = (np.abs(np.array(same) - np.array(a["bbox"])).max(axis=1).min()
                     if same else float("inf"))
            worst = max(worst, float(shift))
    return round(worst, 4)


def table(audits: list[RunAudit]) -> str:
    """Markdown: mAP50 / mAP50-95 per variant (and A - B with its sign against the primary's)."""
    if len(audits) == 1:
        (a,) = audits
        base = a.scores[PRIMARY][1]
        lines = ["| variant | mAP50 | mAP50-95 | vs primary | changes |", "|---|---|---|---|---|"]
        lines += [f"| {k} | {a.scores[k][0]:.4f} | {a.scores[k][1]:.4f} | "
                  f"{a.scores[k][1] - base:+.4f} | {what} |" for k, what in VARIANTS.items()]
        return "\n".join(lines)
    a, b = audits
    primary = a.scores[PRIMARY][1] - b.scores[PRIMARY][1]
    lines = ["| variant | A mAP50-95 | B mAP50-95 | A-B mAP50-95 | A-B mAP50 | sign as primary |",
             "|---|---|---|---|---|---|"]
    for k in VARIANTS:
        delta = a.scores[k][1] - b.scores[k][1]
        same = "yes" if np.sign(round(delta, 6)) == np.sign(round(primary, 6)) else "NO"
        lines.append(f"| {k} | {a.scores[k][1]:.4f} | {b.scores[k][1]:.4f} | {delta:+.4f} | "
                     f"{a.scores[k][0] - b.scores[k][0]:+.4f} | {same} |")
    return "\n".join(lines)


def run_audit(run_dirs: list[Path], out_dir: Path | None = None) -> tuple[list[RunAudit], Path]:
    """Audit one or two run dirs; writes audit.json and audit.md under `out_dir`."""
    runs = [locate_run(d) for d in run_dirs]
    if len(runs) == 2 and runs[0].test.coco_path.read_bytes() != runs[1].test.coco_path.read_bytes():
        raise DefectforgeError(f"{runs[1].test.coco_path}: not the test split of "
                               f"{runs[0].name}; a delta needs the same test images")
    label = "-vs-".join(r.name.replace("/", "-") for r in runs)
    out_dir = Path(out_dir or runs_root() / "metric-audit" / label).resolve()
    audits = [audit_run(r, out_dir / f"run{n}") for n, r in enumerate(runs)]
    write_json(out_dir / "audit.json", [a.model_dump() for a in audits])
    header = "\n".join(f"- {'AB'[n]}: {a.run}" for n, a in enumerate(audits))
    each = "".join(f"\n\n{a.run}:\n\n{table([a])}" for a in audits) if len(audits) == 2 else ""
    write_bytes(out_dir / "audit.md", f"{header}\n\n{table(audits)}{each}\n".encode())
    return audits, out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.metric_audit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="an evaluation's arms/<arm>/seed<s> folder (one or two)")
    parser.add_argument("--out", type=Path, help="output folder (default runs/metric-audit/...)")
    args = parser.parse_args(argv)
    if len(args.run_dirs) > 2:
        parser.error("give one or two run dirs")
    try:
        audits, out_dir = run_audit(args.run_dirs, args.out)
    except DefectforgeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print((out_dir / "audit.md").read_text())
    for audit in audits:
        print(f"facts {audit.run}:\n{json.dumps(audit.facts, indent=1)}")
    print(f"written: {out_dir / 'audit.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
