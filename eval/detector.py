"""Train a YOLO detector from its .yaml (no download) and score it on the real test split.

Two independent scores: ultralytics' own validator (mAP50, mAP50-95, per-class AP) and
pycocotools COCOeval on the test COCO file from the detector's predictions (plus DeepPCB's
IoU > 0.33 metric when asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from conditioning.errors import DefectforgeError
from eval.coco_metrics import CocoMetrics, coco_evaluate, load_coco
from eval.config import DetectorConfig
from eval.deeppcb_metric import DeepPCBMetrics, deeppcb_metrics
from eval.epoch_log import EpochRecorder
from pipeline.offline import configure_offline_environment

PREDICT_CHUNK = 16
"""Test images per predict call (a list call keeps all results in memory)."""


@dataclass(frozen=True)
class TestSet:
    """The real test split as the detector sees it: a YOLO data.yaml and the COCO ground truth."""

    data_yaml: Path
    coco_path: Path
    images_root: Path


class DetectorMetrics(BaseModel):
    """Scores of one trained detector on the real test split."""

    map50: float
    map50_95: float
    per_class_ap50: dict[str, float]
    per_class_ap50_95: dict[str, float]
    coco: CocoMetrics
    deeppcb: DeepPCBMetrics | None = None


def load_yolo(model: str | Path):
    """Import ultralytics offline-safe (its MLflow callback off) and build or load a model.

    `.pt` checkpoints are always unpickled with `weights_only=True` against ultralytics' allow-list
    of model classes (its `ULTRALYTICS_SAFE_LOAD` mode, forced on here even if ultralytics was
    imported before the flag was set): a pickle that would run code is refused, never executed."""
    configure_offline_environment()
    import ultralytics.nn.tasks as tasks
    from ultralytics import YOLO, settings

    settings.update({"mlflow": False})
    tasks.SAFE_LOAD = True
    if str(model).endswith(".pt"):
        check_detector_weights(Path(model))
    return YOLO(str(model))


def check_detector_weights(path: Path) -> None:
    """DefectforgeError unless `path` is a `.pt` that unpickles with `weights_only=True`."""
    configure_offline_environment()
    import ultralytics.nn.tasks as tasks

    if not path.is_file():
        raise DefectforgeError(f"{path}: detector weights not found (give a .pt file or a .yaml)")
    try:
        tasks.torch_safe_load(str(path), safe_only=True)
    except TypeError as error:  # ultralytics' "not loadable" / "types outside the format"
        raise DefectforgeError(
            f"{path}: refused to load these detector weights: only plain ultralytics checkpoints "
            f"are unpickled, this file is not one ({str(error).splitlines()[0]})"
        ) from None


def train_detector(data_yaml: Path, run_dir: Path, cfg: DetectorConfig, seed: int,
                   recorder: EpochRecorder | None = None) -> Path:
    """Train with `val=False`, from scratch (a `.yaml` model) or from the weights of a `.pt` one
    (fine-tuning); returns the final weights (`last.pt`). `recorder`
    writes the per-epoch curves and progress (eval.epoch_log).

    `save=False`: weights are written once, after the last epoch (saving every epoch cost 0.4 s
    of a 1.1 s epoch on 20 images at 128 px on a 2-core CPU).
    """
    model = load_yolo(cfg.model)
    if recorder is not None:
        recorder.attach(model)
    model.train(
        data=str(data_yaml),
        epochs=cfg.epochs,
        imgsz=cfg.imgsz,
        batch=cfg.batch,
        workers=cfg.workers,
        device=cfg.device or None,
        seed=seed,
        deterministic=True,
        pretrained=str(cfg.model).endswith(".pt"),
        amp=False,
        val=False,
        plots=False,
        save=False,
        mosaic=cfg.mosaic,
        close_mosaic=min(cfg.close_mosaic, cfg.epochs),
        scale=cfg.scale,
        flipud=cfg.flipud,
        nbs=cfg.nbs,
        warmup_epochs=cfg.warmup_epochs,
        patience=cfg.epochs + 1,  # no early stop: with save=False it would leave no weights
        optimizer=cfg.optimizer,
        lr0=cfg.lr0,
        project=str(run_dir.resolve()),
        name="train",
        exist_ok=True,
        verbose=False,
    )
    return run_dir.resolve() / "train" / "weights" / "last.pt"


def ultralytics_scores(weights: Path, test: TestSet, run_dir: Path, cfg: DetectorConfig):
    """ultralytics' validator on the test split: (map50, map50_95, per-class ap50, ap50_95)."""
    model = load_yolo(weights)
    box = model.val(
        data=str(test.data_yaml),
        split="val",
        imgsz=cfg.val_imgsz,
        batch=cfg.batch,
        workers=cfg.workers,
        device=cfg.device or None,
        conf=cfg.conf,
        plots=False,
        save_json=False,
        project=str(run_dir.resolve()),
        name="val",
        exist_ok=True,
        verbose=False,
    ).box
    names = model.names
    per50 = {names[int(c)]: float(ap[0]) for c, ap in zip(box.ap_class_index, box.all_ap, strict=True)}
    per = {names[int(c)]: float(ap.mean()) for c, ap in zip(box.ap_class_index, box.all_ap, strict=True)}
    return float(box.map50), float(box.map), per50, per


def predict_coco(weights: Path, test: TestSet, cfg: DetectorConfig) -> list[dict]:
    """Detector predictions on every test image as COCO detections (category ids by name)."""
    model = load_yolo(weights)
    gt = load_coco(test.coco_path)
    cat_by_name = {c["name"]: c["id"] for c in gt.loadCats(gt.getCatIds())}
    images = gt.loadImgs(sorted(gt.getImgIds()))
    detections = []
    for start in range(0, len(images), PREDICT_CHUNK):
        chunk = images[start : start + PREDICT_CHUNK]
        results = model.predict(
            [str(test.images_root / image["file_name"]) for image in chunk],
            imgsz=cfg.val_imgsz,
            conf=cfg.conf,
            device=cfg.device or None,
            max_det=300,
            verbose=False,
        )
        for image, result in zip(chunk, results, strict=True):
            boxes = result.boxes
            for (x1, y1, x2, y2), score, cls in zip(
                boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist(), strict=True
            ):
                detections.append(
                    {
                        "image_id": image["id"],
                        "category_id": cat_by_name[model.names[int(cls)]],
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": float(score),
                    }
                )
    return detections


def evaluate_detector(
    weights: Path, test: TestSet, run_dir: Path, cfg: DetectorConfig, *, deeppcb: bool = False
) -> tuple[DetectorMetrics, list[dict]]:
    """Both scores (and DeepPCB's when `deeppcb`) for one trained detector, and its COCO
    detections on the test split."""
    map50, map50_95, per50, per = ultralytics_scores(weights, test, run_dir, cfg)
    detections = predict_coco(weights, test, cfg)
    return DetectorMetrics(
        map50=map50,
        map50_95=map50_95,
        per_class_ap50=per50,
        per_class_ap50_95=per,
        coco=coco_evaluate(test.coco_path, detections),
        deeppcb=deeppcb_metrics(test.coco_path, detections, cfg.deeppcb_conf) if deeppcb else None,
    ), detections
