"""The evaluation's inputs: the prepared dataset, the k-image real budget, the real test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conditioning.errors import DefectforgeError
from eval.config import EvalConfig
from pipeline.data.coco_reader import load_coco_json, read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import ImageRecord


@dataclass
class EvalData:
    """The prepared dataset as the protocol uses it (categories in YOLO index order)."""

    name: str
    root: Path
    categories: list[dict[str, Any]]
    train_coco: Path
    test_coco: Path
    spec_path: Path | None
    source_format: str | None = None

    @property
    def class_names(self) -> list[str]:
        return [c["name"] for c in self.categories]

    @property
    def is_deeppcb(self) -> bool:
        """DeepPCB data (its own IoU > 0.33 metric is reported too)."""
        return self.source_format == "deeppcb" or self.name == "deeppcb"


def load_data(config: EvalConfig) -> EvalData:
    """1. Find the prepared dataset (by name under runs/data, or a folder) and its spec."""
    prepared = PreparedDataset(config.dataset)
    name = str(prepared.manifest.get("name", prepared.root.name))
    train, test = prepared.coco_path("train"), prepared.coco_path("test")
    for path in (train, test):
        if not path.is_file():
            raise DefectforgeError(f"{path}: missing; rerun `defectforge data prepare {name}`")
    spec = config.spec_path or _default_spec(prepared.root, name)
    return EvalData(name, prepared.root, load_coco_json(train)["categories"], train, test, spec,
                    prepared.manifest.get("format"))


def _default_spec(root: Path, name: str) -> Path | None:
    from pipeline.data.registry import spec_path

    for candidate in (root / "defects.yaml", spec_path(name)):
        if candidate.is_file():
            return candidate
    return None


def budget_records(data: EvalData, config: EvalConfig, out_dir: Path) -> tuple[list[ImageRecord], Path]:
    """2. The k real training images (same for every arm and seed) and their budget file."""
    from pipeline.data.atomic import sha256_file
    from pipeline.data.budget import choose_real_budget, load_budget, save_budget

    if config.budget_path is not None:
        path = Path(config.budget_path)
        budget = load_budget(path)
        if budget.coco_sha256 != sha256_file(data.train_coco):
            raise DefectforgeError(
                f"{path}: budget was drawn from {budget.coco_path}, not from {data.train_coco} "
                "(different content); draw it again with `defectforge data budget`"
            )
    else:
        budget = choose_real_budget(data.train_coco, config.real_budget, config.budget_seed)
        path = save_budget(budget, out_dir / f"budget-k{budget.k}-seed{budget.seed}.json")
    if budget.k != config.real_budget:
        raise DefectforgeError(
            f"{path}: budget has k={budget.k} but --real-budget is {config.real_budget}"
        )
    chosen = set(budget.image_ids)
    records = [r for r in read_coco(data.train_coco, root=data.root) if r.image_id in chosen]
    return records, Path(path)


def write_subset(records: list[ImageRecord], categories: list[dict[str, Any]], path: Path) -> Path:
    """A COCO file of `records` (reused when present: its inputs are content-addressed by name)."""
    if path.is_file():
        return path
    return write_coco(path, records, categories)


def test_records(data: EvalData, config: EvalConfig,
                 budget: list[ImageRecord] | None = None) -> list[ImageRecord]:
    """3. What the detectors are scored on: the real test split, or with `score_on: val` the
    training split's images outside the k-image `budget` and not near-duplicates of its images or
    clean references (for choosing settings: the test split stays unseen). With `test_limit`: the test split's first images by file name, or that many
    validation images evenly spaced by file name."""
    if config.score_on == "val":
        from eval.leakage import near_duplicates

        budget = budget or []
        taken = {r.image_path for r in budget}
        records = [r for r in read_coco(data.train_coco, root=data.root)
                   if r.image_path not in taken]
        close = near_duplicates([r.image_path for r in records],
                                [p for r in budget for p in (r.image_path, r.clean_path) if p])
        records = [r for r in records if r.image_path not in close]
    else:
        records = read_coco(data.test_coco, root=data.root)
    records = sorted(records, key=lambda r: r.image_path.name)
    if config.test_limit and config.score_on == "val":  # spread over the split's groups
        records = records[:: max(1, len(records) // config.test_limit)]
    return records[: config.test_limit] if config.test_limit else records
