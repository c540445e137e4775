"""Generic COCO source and MVTec-AD-style folders prepared into the internal layout."""

import json

import cv2
import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset

COCO_DATASET = """\
name: own
license: test
format: coco
clean_reference: {clean}
classes:
  - {{id: 1, name: dent}}
  - {{id: 2, name: crack}}
layout:
  train: {{annotations: train.json, images: img, clean: {clean_dir}}}
  test: {{annotations: test.json, images: img, clean: {clean_dir}}}
"""


def _user_coco(root, split, categories):
    """Two 40x50 images: a polygon instance and a box-only instance (ids unlike dataset.yaml)."""
    images, annotations = [], []
    for index in range(2):
        name = f"{split}/part{index}.png"
        for folder in ("img", "clean"):
            (root / folder / split).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / folder / name), np.full((40, 50, 3), 60 * (index + 1), np.uint8))
        images.append({"id": 10 + index, "file_name": name, "width": 50, "height": 40})
        annotations.append(
            {
                "id": 100 + 2 * index,
                "image_id": 10 + index,
                "category_id": 20,
                "iscrowd": 0,
                "bbox": [5, 5, 10, 10],
                "area": 100,
                "segmentation": [[5, 5, 15, 5, 15, 15, 5, 15]],
            }
        )
        annotations.append(
            {
                "id": 101 + 2 * index,
                "image_id": 10 + index,
                "category_id": 30,
                "iscrowd": 0,
                "bbox": [20, 10, 8, 6],
                "area": 48,
            }
        )
    (root / f"{split}.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )


CATEGORIES = [{"id": 20, "name": "dent"}, {"id": 30, "name": "crack"}]


def test_coco_source(tmp_path, runs, write_dataset):
    source = tmp_path / "src"
    for split in ("train", "test"):
        _user_coco(source, split, CATEGORIES)
    write_dataset("own", COCO_DATASET.format(clean="folder", clean_dir="clean"))
    prepare_dataset("own", source, progress=False)
    prepared = PreparedDataset("own")
    records = prepared.records("train")
    assert [r.image_path.name for r in records] == ["train__part0.png", "train__part1.png"]
    dent, crack = records[0].instances
    assert (dent.class_name, dent.category_id, crack.category_id) == ("dent", 1, 2)
    assert 90 <= dent.mask.sum() <= 121
    assert crack.mask.sum() == 48 and crack.extra["mask_source"] == "box"
    assert records[1].load_clean()[0, 0, 0] == 120
    assert records[0].provenance["source"] == "img/train/part0.png"


def test_coco_source_unknown_category(tmp_path, runs, write_dataset):
    source = tmp_path / "src"
    for split in ("train", "test"):
        _user_coco(source, split, [{"id": 20, "name": "dent"}, {"id": 30, "name": "hole"}])
    write_dataset("own", COCO_DATASET.format(clean="none", clean_dir="null"))
    with pytest.raises(DefectforgeError, match=r"train\.json: category 'hole' is not a class"):
        prepare_dataset("own", source, progress=False)


FOLDER_DATASET = """\
name: bottle
license: test
format: mvtec
clean_reference: good_images
classes:
  - {id: 1, name: broken}
  - {id: 2, name: contamination}
layout:
  defects: {broken_large: broken}
"""


def _mvtec(root):
    for folder, count in (
        ("train/good", 3),
        ("test/good", 1),
        ("test/broken_large", 2),
        ("test/contamination", 1),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            cv2.imwrite(str(root / folder / f"{index:03d}.png"), np.full((32, 32, 3), 90, np.uint8))
            defect = folder.split("/")[1]
            if folder.startswith("test/") and defect != "good":
                mask = np.zeros((32, 32), np.uint8)
                mask[2:6, 2:6] = 255
                mask[20:30, 15:18] = 255
                (root / "ground_truth" / defect).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / "ground_truth" / defect / f"{index:03d}_mask.png"), mask)


def test_mvtec_folders(tmp_path, runs, write_dataset):
    source = tmp_path / "bottle"
    _mvtec(source)
    write_dataset("bottle", FOLDER_DATASET)
    prepare_dataset("bottle", source, progress=False)
    prepared = PreparedDataset("bottle")
    train = prepared.records("train")
    assert len(train) == 3 and all(r.clean_path is not None and not r.instances for r in train)
    test = {r.image_path.stem: r for r in prepared.records("test")}
    assert sorted(test) == ["broken_large_000", "broken_large_001", "contamination_000", "good_000"]
    broken = test["broken_large_000"]
    assert broken.clean_path is None
    assert [(i.class_name, int(i.mask.sum())) for i in broken.instances] == [
        ("broken", 16),
        ("broken", 30),
    ]
    assert test["good_000"].instances == []


def test_mvtec_missing_mask_names_the_file(tmp_path, runs, write_dataset):
    source = tmp_path / "bottle"
    _mvtec(source)
    (source / "ground_truth" / "contamination" / "000_mask.png").unlink()
    write_dataset("bottle", FOLDER_DATASET)
    with pytest.raises(DefectforgeError, match="000_mask.png: ground-truth mask of"):
        prepare_dataset("bottle", source, progress=False)
