"""Classic augmentation (albumentations 2.x) of a labelled image, masks kept with their boxes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from eval.synthetic import MIN_INSTANCE_PIXELS, SyntheticSet, write_synthetic
from pipeline.data.coco_reader import read_coco
from pipeline.data.records import ImageRecord, InstanceRecord


def build_transform(seed: int):
    """Geometric + photometric augmentation; `seed=` on Compose makes the sequence reproducible.
    Borders are reflected (a constant fill would paint fake copper on a PCB scan).

    Boxes are COCO xywh; the instance index rides in `label_fields` so a dropped box drops its
    mask too (albumentations keeps every mask).
    """
    import albumentations as A
    import cv2

    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.Affine(scale=(0.9, 1.1), translate_percent=(-0.1, 0.1), rotate=(-8, 8),
                     border_mode=cv2.BORDER_REFLECT_101, p=0.7),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
            A.GaussNoise(std_range=(0.02, 0.06), p=0.3),
            A.GaussianBlur(blur_limit=(3, 5), p=0.2),
        ],
        bbox_params=A.BboxParams(
            format="coco", label_fields=["instance_ids"], min_visibility=0.3, min_area=4
        ),
        seed=seed,
    )


def augment_record(transform, record: ImageRecord) -> tuple[np.ndarray, list[InstanceRecord]]:
    """One augmented copy: the image and its surviving instances (class, id and extra fields of
    the source label; masks under MIN_INSTANCE_PIXELS dropped). The box is the source box carried
    through the transform, so augmented labels keep the dataset's annotation style."""
    image = record.load_image()
    masks = [inst.mask.astype(np.uint8) for inst in record.instances]
    boxes = [clip_box(inst.bbox_xywh, record.width, record.height) for inst in record.instances]
    out = transform(
        image=image,
        masks=masks or [np.zeros(image.shape[:2], np.uint8)],
        bboxes=boxes,
        instance_ids=list(range(len(boxes))),
    )
    result = []
    for index, box in zip(out["instance_ids"], out["bboxes"], strict=True):
        source = record.instances[int(index)]
        mask = np.asarray(out["masks"][int(index)]) > 0
        mask &= box_region(box, mask.shape)
        if int(mask.sum()) >= MIN_INSTANCE_PIXELS:
            result.append(InstanceRecord(source.class_name, source.category_id,
                                         tuple(float(v) for v in box), mask=mask, extra=source.extra))
    return out["image"], result


def transform_set(synthetic: SyntheticSet, out_dir: Path, categories: list[dict[str, Any]],
                  seed: int) -> SyntheticSet:
    """A drawn set (copypaste, procedural, diffusion) passed image by image through the augment
    arm's transform (`build_transform(seed)`), written as a new COCO set under `out_dir`: the
    same count, the same inputs for the leakage guard, each label's box and mask carried along
    (a real label kept on a drawn image stays marked as kept). A transformed image no longer lines
    up with its clean reference, so none is recorded."""
    transform = build_transform(seed)
    samples = []
    for record in read_coco(synthetic.coco_path):
        image, instances = augment_record(transform, record)
        samples.append((image, instances, {**record.provenance, "transformed": True}))
    transformed = write_synthetic(out_dir, samples, categories, inputs=synthetic.inputs)
    return replace(synthetic, coco_path=transformed.coco_path, count=transformed.count)


def box_region(box, shape: tuple[int, int], margin: int = 2) -> np.ndarray:
    """Pixels of a COCO box (+ margin): drops reflected copies of a mask near the border."""
    x, y, w, h = (float(v) for v in box)
    region = np.zeros(shape, bool)
    region[max(0, int(y) - margin) : int(np.ceil(y + h)) + margin,
           max(0, int(x) - margin) : int(np.ceil(x + w)) + margin] = True
    return region


def clip_box(box: tuple[float, ...], width: int, height: int) -> list[float]:
    """A COCO box clipped to the image (albumentations rejects boxes that leave it)."""
    x, y, w, h = box
    x0, y0 = max(0.0, x), max(0.0, y)
    return [x0, y0, min(float(width), x + w) - x0, min(float(height), y + h) - y0]
