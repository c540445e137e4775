"""The detector's optimizer, initial learning rate, scale augmentation and vertical flips reach
ultralytics (the demo trains with SGD at scale 0.25, one board in four upside down), and early
stopping is off (with save=False an early stop would leave no weights)."""

import json

import pytest
import yaml

from eval.config import DetectorConfig
from eval.detector import train_detector
from eval.trainset import export_train


@pytest.mark.slow
def test_optimizer_lr0_scale_and_flips_are_used(toy_dataset, tmp_path):
    optimizer, lr0, scale, flipud = "SGD", 0.02, 0.25, 0.5
    coco = toy_dataset / "annotations" / "train.json"
    categories = json.loads(coco.read_text())["categories"]
    data_yaml = export_train([coco], categories, tmp_path / "data")
    cfg = DetectorConfig(epochs=1, imgsz=64, batch=8, workers=0, device="cpu", close_mosaic=0,
                         nbs=8, warmup_epochs=0.0, optimizer=optimizer, lr0=lr0, scale=scale,
                         flipud=flipud)
    weights = train_detector(data_yaml, tmp_path / "run", cfg, 0)

    args = yaml.safe_load((weights.parents[1] / "args.yaml").read_text())
    assert (args["optimizer"], args["lr0"], args["scale"], args["flipud"]) == (optimizer, lr0, scale, flipud)
    assert args["patience"] > cfg.epochs


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="optimizer"):
        DetectorConfig(optimizer="Adam")
