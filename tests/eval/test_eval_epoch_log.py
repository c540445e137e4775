"""Per-epoch curves: a point every epoch, validations every val_period epochs, and the extra
validations leave the trained weights exactly as they are without them."""

import json

import pytest
import torch

from eval.config import DetectorConfig
from eval.detector import train_detector
from eval.epoch_log import CURVES, PROGRESS, EpochRecorder, read_progress
from eval.trainset import export_train


@pytest.mark.slow
def test_epoch_curves_recorded_without_changing_training(toy_dataset, tmp_path):
    coco = toy_dataset / "annotations" / "train.json"
    categories = json.loads(coco.read_text())["categories"]
    data_yaml = export_train([coco], categories, tmp_path / "data")
    cfg = DetectorConfig(epochs=3, imgsz=64, batch=8, workers=0, device="cpu", close_mosaic=1,
                         nbs=8, warmup_epochs=1.0)
    recorded = train_detector(data_yaml, tmp_path / "with", cfg, 0,
                              EpochRecorder(tmp_path / "with", "real seed 0"))
    plain = train_detector(data_yaml, tmp_path / "without", cfg, 0)

    curves = json.loads((tmp_path / "with" / CURVES).read_text())
    assert [step for step, _ in curves["train/box_loss"]] == [1, 2, 3]
    assert [step for step, _ in curves["val/mAP50-95"]] == [1, 2, 3]  # every epoch at 3 epochs
    assert {"train/cls_loss", "train/dfl_loss", "train/lr/pg0", "val/box_loss"} <= set(curves)
    progress = read_progress(tmp_path / "with")
    assert (progress["label"], progress["epoch"], progress["epochs"]) == ("real seed 0", 3, 3)
    assert not (tmp_path / "without" / PROGRESS).exists()
    weights = [torch.load(p, weights_only=False)["model"].state_dict() for p in (recorded, plain)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
