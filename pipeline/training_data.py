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
    avoid: list[np.ndarray | None] = field(default_factory=list)
    """Per clean image, the pixels stage 1 should not learn from (inpainted defects, by OpenCV or a
    model), or None."""


def load_training_data(dataset: str, budget_path: str | Path | None) -> TrainingData:
    """The train-split images chosen by the budget (all train images without one), with templates."""
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(dataset)
    records = prepared.records("train")
    budget = {"path": None, "k": len(records)}
    if budget_path is not None:
        records, budget = _apply_budget(prepared, records, Path(budget_path))
    classes = prepared.info.class_names
    inpainted = prepared.manifest.get("clean_reference") in ("inpaint", "model")
    examples, cleans, avoid = [], [], []
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
        avoid.append(_inpainted(prepared, record) if inpainted and record.instances else None)
    _require_defects(prepared, examples, budget)
    manifest_file = prepared.root / "manifest.json"
    return TrainingData(examples, cleans, classes, {
        "dataset": prepared.name,
        "data_manifest_sha256": hashlib.sha256(manifest_file.read_bytes()).hexdigest()[:16],
        "budget": budget,
        "images": [Path(r.image_path).name for r in records],
        "instances": sum(len(e.instances) for e in examples),
        "palette": palette(examples),
        "class_directions": class_directions(examples, classes),
    }, avoid)


def _inpainted(prepared, record) -> np.ndarray:
    """The region `clean_reference: inpaint | model` filled in (the masks or boxes, dilated)."""
    from pipeline.data.clean_reference import defect_region

    return defect_region((record.height, record.width), record.instances, prepared.info.inpaint.dilate_px)


def _require_defects(prepared, examples: list[Example], budget: dict) -> None:
    """A located error when the images the generator learns from hold no defect."""
    if any(mask.any() for example in examples for _, mask in example.instances):
        return
    chosen = f"the budget {budget['path']}" if budget.get("path") else "the train split"
    hint = (
        "MVTec keeps every defect image in test: set `layout.train_share: 0.3` (say) to move a "
        "seeded share of each defect folder into train, then `defectforge data prepare --force`"
        if prepared.info.format == "mvtec"
        else "give the train split defect images (for folder / voc / yolo lines lower "
        "`layout.test_share`), then `defectforge data prepare --force`"
    )
    raise DefectforgeError(
        f"{prepared.coco_path('train')}: {chosen} ({len(examples)} images) holds no defect "
        f"instance with a non-empty mask, so the generator has no defect to learn from; {hint} "
        f"(datasets/{prepared.name}/dataset.yaml)."
    )


def background_pool(prepared, budget_path: str | Path | None, *, neighbours: int = 0, seed: int = 0) -> list[Path]:
    """Backgrounds to draw defects on: the budget's clean references, then, for a budget drawn
    among defect images only (`data budget --defects-only`), the defect-free train images it did
    not take (their own pool: they do not use up k): each budget image's `neighbours` most alike
    (`pipeline.background_match`; 0: all of them). A default budget keeps generation on its k
    images, as the evaluation's leakage guard requires of every arm."""
    from pipeline.background_match import similar_backgrounds
    from pipeline.data.budget import load_budget
    from pipeline.data.records import load_rgb

    chosen = budget_records(prepared, budget_path)
    pool = [r.clean_path for r in chosen if r.clean_path is not None]
    if budget_path is None or not load_budget(budget_path).defects_only:
        return pool
    taken = {r.image_id for r in chosen}
    free = [r.clean_path or r.image_path for r in prepared.records("train")
            if not r.instances and r.image_id not in taken]
    return pool + similar_backgrounds(pool, free, neighbours, seed, load_rgb)


def defective_backgrounds(prepared, budget_path: str | Path | None) -> tuple[list[Path], dict[str, list]]:
    """The budget's real defect images as backgrounds, and each one's own instances (kept as labels,
    kept clear of new defects): generation on lines with no clean image at all."""
    chosen = [r for r in budget_records(prepared, budget_path) if r.instances]
    return [r.image_path for r in chosen], {str(r.image_path): r.instances for r in chosen}


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
