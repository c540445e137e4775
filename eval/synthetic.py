"""What a synthetic arm returns, and how its images are written as a COCO set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.atomic import write_png
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord, InstanceRecord
from pipeline.labels.style import AnnotationStyle

ANNOTATIONS = "annotations.json"
MIN_INSTANCE_PIXELS = 4
"""Instances with fewer mask pixels (after a crop or transform) are dropped."""


@dataclass
class SyntheticSet:
    """A synthetic COCO set made by one arm for one seed, and what it read to make it."""

    coco_path: Path
    count: int
    inputs: list[Path] = field(default_factory=list)
    gate_pass_rate: float | None = None
    generator_revision: str | None = None
    spec_hash: str | None = None
    """Hash of the defect spec the set was drawn from (arms that read a spec), else None."""


def instances_from_masks(
    masks: list[tuple[str, np.ndarray]], categories: list[dict[str, Any]],
    style: AnnotationStyle, rng: np.random.Generator, foreground: np.ndarray | None = None,
) -> list[InstanceRecord]:
    """InstanceRecords of (class name, bool mask) pairs, boxed in the dataset's annotation style
    (`AnnotationStyle.box_for`, leaning by `foreground`: the part in the image drawn on); tiny
    masks are dropped."""
    ids = {c["name"]: int(c["id"]) for c in categories}
    return [
        InstanceRecord(name, ids[name], style.box_for(name, mask, rng, foreground), mask=mask)
        for name, mask in masks
        if int(mask.sum()) >= MIN_INSTANCE_PIXELS
    ]


def write_synthetic(
    out_dir: Path,
    samples: list[tuple[np.ndarray, list[InstanceRecord], dict[str, Any]]],
    categories: list[dict[str, Any]],
    *,
    inputs: list[Path],
    clean_paths: list[Path | None] | None = None,
) -> SyntheticSet:
    """Write (image, instances, provenance) samples as PNGs + COCO under `out_dir`."""
    records = []
    for index, (image, instances, provenance) in enumerate(samples):
        path = out_dir / "images" / f"{index:06d}.png"
        write_png(path, image)
        records.append(
            ImageRecord(
                image_path=path,
                clean_path=clean_paths[index] if clean_paths else None,
                width=image.shape[1],
                height=image.shape[0],
                instances=instances,
                provenance=provenance,
            )
        )
    coco = write_coco(out_dir / ANNOTATIONS, records, categories)
    return SyntheticSet(coco_path=coco, count=len(records), inputs=sorted(set(inputs)))


def synthetic_count(ratio: float, real_count: int) -> int:
    """How many synthetic images an arm makes: ratio x real images, at least one."""
    return max(1, round(ratio * real_count))


def save_set(synthetic: SyntheticSet, path: Path) -> Path:
    """Record a finished synthetic set (written last: its presence means the set is complete)."""
    from pipeline.data.atomic import write_json

    data = {**synthetic.__dict__, "coco_path": str(synthetic.coco_path),
            "inputs": [str(p) for p in synthetic.inputs]}
    return write_json(path, data)


def load_set(path: Path) -> SyntheticSet | None:
    """A finished synthetic set recorded by `save_set`, or None."""
    import json

    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return SyntheticSet(**{**data, "coco_path": Path(data["coco_path"]),
                           "inputs": [Path(p) for p in data["inputs"]]})
