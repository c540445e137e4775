"""Run ultralytics' own validator and keep what it scored: its detections, the ground truth it
read from the YOLO labels (both in original image pixels), its matches and its settings.

The validator is ultralytics' `DetectionValidator` with the same arguments as
`eval.detector.ultralytics_scores`. Its stock postprocess runs NMS with `multi_label=True`
(`model.predict` uses False); each batch's raw output also goes through single-label NMS, so
both detection sets come from one forward pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from eval.coco_metrics import load_coco
from eval.config import DetectorConfig
from eval.detector import TestSet, load_yolo
from eval.metric_variants import IOU_THRESHOLDS, Matched

YOLO_PREFIX = re.compile(r"^s\d+_")
"""pipeline.data.yolo_export names a file `s<source>_<stem>`; the stem is the COCO image's."""


@dataclass(frozen=True)
class ValidatorRun:
    """What ultralytics' validator scored on the test split, mapped to the COCO image ids."""

    map50: float  # as the validator reported it
    map50_95: float
    detections: list[dict]  # COCO detections (xywh, original pixels), multi-label NMS
    single_label: list[dict]  # the same forward pass through single-label NMS
    ground_truth: dict  # COCO dataset of the boxes it read from the YOLO labels
    matched: Matched  # its own matches (the `tp` arrays it feeds to ap_per_class)
    settings: dict  # conf, iou, max_det, multi_label, rect, input shape actually used


def run_validator(weights: Path, test: TestSet, cfg: DetectorConfig, out_dir: Path) -> ValidatorRun:
    """`model.val` on `test` (output under `out_dir`), recording every image it scores."""
    gt = load_coco(test.coco_path)
    image_index = _image_index(gt, test.coco_path)
    records: list[dict] = []
    settings: dict = {}
    model = load_yolo(weights)
    box = model.val(
        validator=_recording_validator(records, settings),
        data=str(test.data_yaml), split="val", imgsz=cfg.val_imgsz, batch=cfg.batch,
        workers=cfg.workers, device=cfg.device or None, conf=cfg.conf, plots=False,
        save_json=False, project=str(out_dir.resolve()),
        name="val", exist_ok=True, verbose=False,
    ).box
    cats = gt.loadCats(sorted(gt.getCatIds()))
    cat_index = {c["name"]: k for k, c in enumerate(cats)}
    class_to_cat = {int(c): cat_index[name] for c, name in model.names.items()}
    for r in records:
        stem = YOLO_PREFIX.sub("", Path(r["file"]).stem)
        if stem not in image_index:
            raise DefectforgeError(f"{r['file']}: no image with stem {stem!r} in {test.coco_path}")
        r["image"] = image_index[stem]
    return ValidatorRun(
        map50=float(box.map50), map50_95=float(box.map),
        detections=_detections(records, gt, cats, class_to_cat),
        single_label=_detections(records, gt, cats, class_to_cat, "single"),
        ground_truth=_ground_truth(records, gt, cats, class_to_cat),
        matched=_matched(records, class_to_cat, len(image_index)), settings=settings,
    )


def _image_index(gt, coco_path: Path) -> dict[str, int]:
    """COCO image file stem -> index in the sorted image ids (stems must be unique)."""
    images = gt.loadImgs(sorted(gt.getImgIds()))
    index = {Path(image["file_name"]).stem: i for i, image in enumerate(images)}
    if len(index) != len(images):
        raise DefectforgeError(f"{coco_path}: image file stems repeat; the YOLO export cannot be "
                               "mapped back to COCO image ids")
    return index


def _recording_validator(records: list[dict], settings: dict):
    """A DetectionValidator subclass that appends each scored image to `records`."""
    from ultralytics.models.yolo.detect import DetectionValidator
    from ultralytics.utils import nms, ops

    class RecordingValidator(DetectionValidator):
        def postprocess(self, preds):
            stock = nms.non_max_suppression
            nms.non_max_suppression = lambda *a, **k: stock(*a, **{**k, "multi_label": False})
            try:
                self.single_label = super().postprocess(preds)
            finally:
                nms.non_max_suppression = stock
            return super().postprocess(preds)

        def update_metrics(self, preds, batch):
            settings.setdefault("input_shape", list(batch["img"].shape[2:]))
            settings.update(conf=self.args.conf, iou=self.args.iou, max_det=self.args.max_det,
                            multi_label=True, rect=bool(self.dataloader.dataset.rect))
            for si, pred in enumerate(preds):
                pbatch = self._prepare_batch(si, batch)
                truth = pbatch["bboxes"]
                if len(pbatch["cls"]):
                    truth = ops.scale_boxes(pbatch["imgsz"], truth.clone(), pbatch["ori_shape"],
                                            ratio_pad=pbatch["ratio_pad"])
                records.append({
                    "file": pbatch["im_file"],
                    "gt_boxes": truth.cpu().numpy().reshape(-1, 4),
                    "gt_cls": pbatch["cls"].cpu().numpy().astype(int).reshape(-1),
                    "boxes": self.scale_preds(pred, pbatch)["bboxes"].cpu().numpy().reshape(-1, 4),
                    "conf": pred["conf"].cpu().numpy(),
                    "cls": pred["cls"].cpu().numpy().astype(int),
                    "tp": self._process_batch(pred, pbatch)["tp"],
                    **_single(self.scale_preds(self.single_label[si], pbatch)),
                })
            super().update_metrics(preds, batch)

    return RecordingValidator


def _single(pred) -> dict:
    return {"single_boxes": pred["bboxes"].cpu().numpy().reshape(-1, 4),
            "single_conf": pred["conf"].cpu().numpy(),
            "single_cls": pred["cls"].cpu().numpy().astype(int)}


def _xywh(box: np.ndarray) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]


def _detections(records, gt, cats, class_to_cat, nms: str = "") -> list[dict]:
    """`nms`: "" for the multi-label detections the validator scores, "single" for the others."""
    image_ids = sorted(gt.getImgIds())
    key = f"{nms}_" if nms else ""
    return [{"image_id": image_ids[r["image"]], "category_id": cats[class_to_cat[int(c)]]["id"],
             "bbox": _xywh(b), "score": float(s)}
            for r in records
            for b, s, c in zip(r[f"{key}boxes"], r[f"{key}conf"], r[f"{key}cls"], strict=True)]


def _ground_truth(records, gt, cats, class_to_cat) -> dict:
    image_ids = sorted(gt.getImgIds())
    annotations = []
    for r in records:
        for b, c in zip(r["gt_boxes"], r["gt_cls"], strict=True):
            x, y, w, h = _xywh(b)
            annotations.append({"id": len(annotations) + 1, "image_id": image_ids[r["image"]],
                                "category_id": cats[class_to_cat[int(c)]]["id"],
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0})
    images = [{k: v for k, v in image.items() if k in ("id", "file_name", "width", "height")}
              for image in gt.loadImgs(image_ids)]
    return {"images": images, "annotations": annotations, "categories": cats}


def _matched(records, class_to_cat, n_images: int) -> Matched:
    """The validator's rows in its own order and dtypes (ap_per_class sorts them; ties too)."""
    if not records:
        return Matched(*(np.zeros(0, np.int64),) * 3, *(np.zeros((0, len(IOU_THRESHOLDS)), bool),) * 2,
                       np.zeros(0, np.int64), np.zeros(0, np.int64), n_images)
    hit = np.concatenate([r["tp"] for r in records]).astype(bool)
    return Matched(
        image=np.concatenate([np.full(len(r["conf"]), r["image"]) for r in records]),
        category=np.array([class_to_cat[int(c)] for r in records for c in r["cls"]], np.int64),
        score=np.concatenate([r["conf"] for r in records]),
        hit=hit,
        ignored=np.zeros_like(hit),
        gt_image=np.array([r["image"] for r in records for _ in r["gt_cls"]], np.int64),
        gt_category=np.array([class_to_cat[int(c)] for r in records for c in r["gt_cls"]], np.int64),
        n_images=n_images,
    )
