"""Fixtures of the data tests: a tiny prepared sample line and raw sources in every layout
(the private runs/ and datasets/ folders are tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SAMPLE = """
name: {name}
license: test
format: sample
clean_reference: rendered
classes:
  - {{id: 1, name: open}}
  - {{id: 2, name: short}}
  - {{id: 3, name: copper}}
  - {{id: 4, name: pin-hole}}
  - {{id: 5, name: scratch}}
layout:
  image_size: 128
  seed: 3
  train: {{boards: 14, defect_free: 2}}
  test: {{boards: 6, defect_free: 1}}
"""




@pytest.fixture
def tiny_sample(runs: Path, write_dataset):
    """A prepared 20-board sample line at 128x128 (name `tiny`)."""
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    write_dataset("tiny", TINY_SAMPLE.format(name="tiny"))
    prepare_dataset("tiny", progress=False, workers=1)
    return PreparedDataset("tiny")


def _texture(rng, shape):
    """A grey, busy surface (no clean part/background split)."""
    import numpy as np

    return rng.integers(70, 130, shape, dtype=np.uint8)


def _defect(image, rng, kind: int):
    """Draw a bright scratch (kind 0) or a dark spot (kind 1); returns its bool mask."""
    import cv2
    import numpy as np

    mask = np.zeros(image.shape[:2], np.uint8)
    y, x = int(rng.integers(12, image.shape[0] - 12)), int(rng.integers(12, image.shape[1] - 24))
    if kind == 0:
        cv2.line(mask, (x, y), (x + int(rng.integers(12, 20)), y + int(rng.integers(-3, 4))), 1, 2)
    else:
        cv2.circle(mask, (x, y), int(rng.integers(3, 6)), 1, -1)
    image[mask > 0] = 220 if kind == 0 else 20
    return mask > 0


CLASSES = ("scratch", "spot")
SHAPE = (48, 72)
"""Non-square on purpose (preview boxes, crops)."""


def folder_beside(root: Path, seed: int = 0) -> Path:
    """<class>/<stem>.jpg with <stem>.png masks beside them, plus good/ defect-free images."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for index in range(16):
        kind = index % 2
        image = _texture(rng, SHAPE)
        mask = _defect(image, rng, kind)
        (root / CLASSES[kind]).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / CLASSES[kind] / f"{index:03d}.jpg"), image)
        cv2.imwrite(str(root / CLASSES[kind] / f"{index:03d}.png"), mask.astype(np.uint8) * 255)
    (root / "good").mkdir()
    for index in range(4):
        cv2.imwrite(str(root / "good" / f"{index:03d}.jpg"), _texture(rng, SHAPE))
    return root


def folder_parallel(root: Path, seed: int = 1) -> Path:
    """images/<class>/<stem>.jpg with masks/<class>/<stem>.png; no defect-free image."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for index in range(16):
        kind = index % 2
        image = _texture(rng, SHAPE)
        mask = _defect(image, rng, kind)
        for top, pixels, suffix in (("images", image, ".jpg"), ("masks", mask.astype(np.uint8) * 255, ".png")):
            (root / top / CLASSES[kind]).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / top / CLASSES[kind] / f"{index:03d}{suffix}"), pixels)
    return root


def voc_boxes(root: Path, seed: int = 2) -> Path:
    """Annotations/*.xml (Pascal VOC boxes) + JPEGImages/*.jpg; every image has a defect."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for index in range(16):
        image = _texture(rng, SHAPE)
        objects = []
        for kind in (index % 2, int(rng.integers(2))):
            ys, xs = np.nonzero(_defect(image, rng, kind))
            objects.append(
                f"<object><name>{CLASSES[kind]}</name><bndbox><xmin>{xs.min() - 1}</xmin>"
                f"<ymin>{ys.min() - 1}</ymin><xmax>{xs.max() + 2}</xmax><ymax>{ys.max() + 2}</ymax>"
                "</bndbox></object>"
            )
        cv2.imwrite(str(root / "JPEGImages" / f"s{index:03d}.jpg"), image)
        (root / "Annotations" / f"s{index:03d}.xml").write_text(
            f"<annotation><filename>s{index:03d}.jpg</filename>{''.join(objects)}</annotation>"
        )
    return root


def yolo_labels(root: Path, seed: int = 3) -> Path:
    """images/{train,val}/*.png + labels/{train,val}/*.txt (boxes) + data.yaml names; colour."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    (root / "data.yaml").write_text("names: [scratch, spot]\n")
    for index in range(16):
        split = "val" if index % 4 == 3 else "train"
        image = np.stack([_texture(rng, SHAPE)] * 3, axis=-1)
        image[..., 2] = np.clip(image[..., 2].astype(int) + 40, 0, 255)  # a coloured line
        rows = []
        for kind in (index % 2,):
            ys, xs = np.nonzero(_defect(image, rng, kind))
            cx, cy = (xs.min() + xs.max() + 1) / 2 / SHAPE[1], (ys.min() + ys.max() + 1) / 2 / SHAPE[0]
            w, h = (xs.max() - xs.min() + 1) / SHAPE[1], (ys.max() - ys.min() + 1) / SHAPE[0]
            rows.append(f"{kind} {cx:.5f} {cy:.5f} {w:.5f} {h:.5f}")
        for top in ("images", "labels"):
            (root / top / split).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / "images" / split / f"{index:03d}.png"), image)
        (root / "labels" / split / f"{index:03d}.txt").write_text("\n".join(rows) + "\n")
    return root


def mvtec_folders(root: Path, seed: int = 4) -> Path:
    """train/good, test/{good,scratch,spot}, ground_truth/<defect>/<stem>_mask.png."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    for folder, count in (("train/good", 6), ("test/good", 2), ("test/scratch", 7), ("test/spot", 7)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        defect = folder.split("/")[1]
        for index in range(count):
            image = _texture(rng, SHAPE)
            if defect != "good":
                mask = _defect(image, rng, CLASSES.index(defect))
                (root / "ground_truth" / defect).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / "ground_truth" / defect / f"{index:03d}_mask.png"), mask.astype(np.uint8) * 255)
            cv2.imwrite(str(root / folder / f"{index:03d}.png"), image)
    return root


@pytest.fixture
def raw_sources():
    """Builders of tiny raw folders in the layouts people have (each `build(root) -> root`)."""
    from types import SimpleNamespace

    return SimpleNamespace(folder_beside=folder_beside, folder_parallel=folder_parallel,
                           voc=voc_boxes, yolo=yolo_labels, mvtec=mvtec_folders, shape=SHAPE)
