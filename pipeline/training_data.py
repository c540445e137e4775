"""The real images a generator may learn from: the budget's images and their clean references."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.crop_sets import Example


@dataclass
class TrainingData:
    """Defect examples, clean images, class names and where they came from (for the model card)."""

    examples: list[Example]
    cleans: list[np.ndarray]
    classes: list[str]
    manifest: dict = field(default_factory=dict)


def load_training_data(dataset: str, budget_path: str | Path | None) -> TrainingData:
    """The train-split images chosen by the budget (all train images without one), with templates."""
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(dataset)
    records = prepared.records("train")
    budget = {"path": None, "k": len(records)}
    if budget_path is not None:
        records, budget = _apply_budget(prepared, records, Path(budget_path))
    classes = prepared.info.class_names
    examples, cleans = [], []
    for record in records:
        clean = record.load_clean()
        if clean is None:
            raise DefectforgeError(
                f"{record.image_path}: no clean reference image; the generator inpaints defects on "
                "clean parts, so every training image needs one (dataset.yaml `clean_reference`)."
            )
        instances = [(classes.index(i.class_name) + 1, i.mask) for i in record.instances]
        examples.append(Example(record.load_image(), clean, instances))
        cleans.append(clean)
    manifest_file = prepared.root / "manifest.json"
    return TrainingData(examples, cleans, classes, {
        "dataset": prepared.name,
        "data_manifest_sha256": hashlib.sha256(manifest_file.read_bytes()).hexdigest()[:16],
        "budget": budget,
        "images": [Path(r.image_path).name for r in records],
        "instances": sum(len(e.instances) for e in examples),
        "palette": palette(examples),
        "class_directions": class_directions(examples, classes),
    })


PALETTE_MAX = 8
"""Images with at most this many distinct colours (binarised scans) count as palettised."""


def palette(examples: list[Example]) -> list[list[int]] | None:
    """The few colours every training image is made of (binarised scans), else None."""
    colours: set[tuple[int, ...]] = set()
    for example in examples:
        for image in (example.image, example.clean):
            colours |= {tuple(int(c) for c in row) for row in np.unique(image.reshape(-1, 3), axis=0)}
            if len(colours) > PALETTE_MAX:
                return None
    return [list(c) for c in sorted(colours)]


DIRECTION_MIN_CHANGE = 0.02
"""An instance goes a way when its mean grey change inside its mask (image - clean, / 255) is at
least this far from zero (about 5 grey levels); closer, it counts as weak."""
DIRECTION_AGREEMENT = 0.8
"""A class has a direction when at least this share of its real instances go that way; else 0
(mixed or weak: the gate checks no direction for it)."""


def class_directions(examples: list[Example], classes: list[str]) -> dict[str, int]:
    """Per class, the way its real defects change the grey level inside their masks: +1 brighter,
    -1 darker, 0 mixed or weak (see DIRECTION_MIN_CHANGE, DIRECTION_AGREEMENT); classes without
    a real instance get 0."""
    from pipeline.gate import signed_change

    ways: dict[int, list[int]] = {}
    for example in examples:
        signed = signed_change(example.image, example.clean)
        for class_id, mask in example.instances:
            mean = float(signed[mask].mean()) if mask.any() else 0.0
            ways.setdefault(class_id, []).append(int(np.sign(mean)) if abs(mean) >= DIRECTION_MIN_CHANGE else 0)
    directions = {}
    for class_id, name in enumerate(classes, start=1):
        found = ways.get(class_id, [])
        share = {way: found.count(way) / len(found) for way in (1, -1)} if found else {}
        directions[name] = next((way for way, s in share.items() if s >= DIRECTION_AGREEMENT), 0)
    return directions


def _apply_budget(prepared, records, path: Path):
    from pipeline.data.budget import load_budget

    budget = load_budget(path)
    train_coco = prepared.coco_path("train").resolve()
    if Path(budget.coco_path).resolve() != train_coco:
        raise DefectforgeError(
            f"{path}: coco_path {budget.coco_path} is not the train split {train_coco}; "
            "choose the budget with `defectforge data budget` on the train split."
        )
    chosen = set(budget.image_ids)
    kept = [r for r in records if r.image_id in chosen]
    if len(kept) != len(chosen):
        raise DefectforgeError(f"{path}: {len(chosen) - len(kept)} image ids not found in {train_coco}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return kept, {"path": str(path), "k": len(kept), "sha256": digest}


def budget_records(prepared, budget_path: str | Path | None) -> list:
    """The train records the budget chose (every train record without a budget)."""
    records = prepared.records("train")
    if budget_path is None:
        return records
    return _apply_budget(prepared, records, Path(budget_path))[0]
