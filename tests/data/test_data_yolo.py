"""YOLO export: labels read back equal the COCO boxes; several train sources; absolute data.yaml."""

import numpy as np
import yaml

from pipeline.data.budget import choose_real_budget, save_budget
from pipeline.data.yolo_export import export_yolo


def _read_labels(path):
    return [list(map(float, line.split())) for line in path.read_text().splitlines()]


def test_export_and_read_back(tiny_sample, tmp_path):
    train, test = tiny_sample.coco_path("train"), tiny_sample.coco_path("test")
    names = tiny_sample.info.class_names
    data_yaml = export_yolo(
        [(train, None), (test, tiny_sample.root)], tmp_path / "yolo", names, val=(test, None)
    )
    data = yaml.safe_load(data_yaml.read_text())
    assert data["path"] == str((tmp_path / "yolo").resolve())
    assert data["names"] == dict(enumerate(names)) and data["nc"] == len(names)
    images = sorted((tmp_path / "yolo" / "images" / "train").iterdir())
    assert len(images) == 14 + 6  # both train sources
    assert len(list((tmp_path / "yolo" / "images" / "val").iterdir())) == 6
    for record in tiny_sample.records("train"):
        labels = _read_labels(
            tmp_path / "yolo" / "labels" / "train" / f"s0_{record.image_path.stem}.txt"
        )
        assert len(labels) == len(record.instances)
        for label, instance in zip(labels, record.instances, strict=True):
            assert names[int(label[0])] == instance.class_name
            x, y, w, h = instance.bbox_xywh
            expected = [
                (x + w / 2) / record.width,
                (y + h / 2) / record.height,
                w / record.width,
                h / record.height,
            ]
            assert np.allclose(label[1:], expected, atol=1e-5)
    assert (tmp_path / "yolo" / "images" / "train" / images[0].name).resolve().is_file()


def test_segments_and_budget_filter(tiny_sample, tmp_path):
    train, test = tiny_sample.coco_path("train"), tiny_sample.coco_path("test")
    budget = save_budget(choose_real_budget(train, 5, seed=1), tmp_path / "budget.json")
    export_yolo(
        [(train, None)],
        tmp_path / "seg",
        tiny_sample.info.class_names,
        val=(test, None),
        segments=True,
        budget_path=budget,
    )
    labels = sorted((tmp_path / "seg" / "labels" / "train").iterdir())
    assert len(labels) == 5
    for path in labels:
        for label in _read_labels(path):
            assert len(label) >= 7 and len(label) % 2 == 1
            assert all(0 <= v <= 1 for v in label[1:])


def test_ultralytics_reads_the_labels(tiny_sample, tmp_path):
    from ultralytics.data.utils import check_det_dataset

    data_yaml = export_yolo(
        [(tiny_sample.coco_path("train"), None)],
        tmp_path / "y",
        tiny_sample.info.class_names,
        val=(tiny_sample.coco_path("test"), None),
    )
    data = check_det_dataset(str(data_yaml), autodownload=False)
    assert data["nc"] == len(tiny_sample.info.class_names)
    assert str(data["train"]).startswith(str((tmp_path / "y").resolve()))
