"""A tiny prepared dataset built in code: 96 px boards, two classes, exact masks, clean refs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.data.atomic import write_json, write_png
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord, InstanceRecord

CATEGORIES = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}]
SPEC = """\
product: toy
classes: [scratch, pit]
defects:
  - {name: scratch, class: scratch, kind: scratch, count: [0, 1]}
  - {name: pit, class: pit, kind: pit, count: [1, 2]}
"""
SIZE = 96


def board(rng: np.random.Generator) -> np.ndarray:
    """A clean board: noisy grey with a few bright traces."""
    image = rng.normal(90, 6, (SIZE, SIZE)).clip(0, 255)
    for y in rng.choice(np.arange(8, SIZE - 8, 12), 3, replace=False):
        image[y : y + 4, :] = 170
    return np.repeat(image.astype(np.uint8)[..., None], 3, axis=2)


def defects(clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Draw 1-2 dark scratches / pits; returns the image and (class, mask) pairs."""
    image, out = clean.copy(), []
    for _ in range(int(rng.integers(1, 3))):
        mask = np.zeros((SIZE, SIZE), np.uint8)
        x, y = (int(v) for v in rng.integers(12, SIZE - 12, 2))
        if rng.random() < 0.5:
            cv2.line(mask, (x - 10, y - 6), (x + 10, y + 6), 1, 3)
            name = "scratch"
        else:
            cv2.circle(mask, (x, y), int(rng.integers(4, 7)), 1, -1)
            name = "pit"
        image[mask.astype(bool)] = 25
        out.append((name, mask.astype(bool)))
    return image, out


def make_toy_dataset(root: Path, n_train: int = 16, n_test: int = 8, seed: int = 0) -> Path:
    """Write the prepared layout (images/, clean/, annotations/, manifest.json) under `root`."""
    rng = np.random.default_rng(seed)
    ids = {c["name"]: c["id"] for c in CATEGORIES}
    for split, count in (("train", n_train), ("test", n_test)):
        records = []
        for i in range(count):
            clean = board(rng)
            image, masks = defects(clean, rng)
            image_path = root / "images" / split / f"{split}{i:03d}.png"
            clean_path = root / "clean" / split / f"{split}{i:03d}.png"
            write_png(image_path, image)
            write_png(clean_path, clean)
            instances = [InstanceRecord(n, ids[n], mask=m) for n, m in masks]
            records.append(ImageRecord(image_path, clean_path, SIZE, SIZE, instances))
        write_coco(root / "annotations" / f"{split}.json", records, CATEGORIES, root=root)
    write_json(root / "manifest.json",
               {"name": "toy", "splits": {"train": n_train, "test": n_test}})
    (root / "defects.yaml").write_text(SPEC)
    return root


@pytest.fixture(scope="session")
def toy_dataset(tmp_path_factory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "toy")


@pytest.fixture(scope="session")
def larger_toy_dataset(tmp_path_factory) -> Path:
    """120 training and 40 test boards (for checks that need many distinct boards)."""
    return make_toy_dataset(tmp_path_factory.mktemp("toy-larger") / "toy", n_train=120, n_test=40, seed=1)


def _noisy_detections(gt: dict, seed: int) -> list[dict]:
    """Ground-truth boxes jittered, randomly scored, some missed, plus false positives."""
    rng = np.random.default_rng(seed)
    out = []
    for ann in gt["annotations"]:
        if rng.random() < 0.2:
            continue
        x, y, w, h = ann["bbox"]
        jitter = rng.normal(0, 2, 4)
        out.append({"image_id": ann["image_id"], "category_id": ann["category_id"],
                    "bbox": [x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]],
                    "score": float(rng.random())})
    for image in gt["images"]:
        x, y = rng.integers(0, 60, 2)
        out.append({"image_id": image["id"], "category_id": int(rng.integers(1, 3)),
                    "bbox": [float(x), float(y), 12.0, 12.0], "score": float(rng.random())})
    return out


@pytest.fixture
def noisy_detections():
    """Ground-truth boxes of a COCO dict jittered and scored, some missed, plus false positives
    (a function of the dict and a seed)."""
    return _noisy_detections


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """A real MLflow SQLite store in the test's folder, made the tracking URI."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
