"""The prepared layout under `runs/data/<name>/` and a reader for it.

images/<split>/<stem>.png     clean/<split>/<stem>.png     annotations/<split>.json
manifest.json                 budgets/k<K>-seed<S>.json (from `defectforge data budget`)
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from conditioning.errors import DefectforgeError
from pipeline.data.coco_reader import read_coco
from pipeline.data.records import ImageRecord
from pipeline.data.registry import SPLITS, DatasetInfo, list_datasets, load_dataset_info
from pipeline.paths import runs_root


def prepared_root(name: str) -> Path:
    """`runs_root()/data/<name>`."""
    return runs_root() / "data" / name


class PreparedDataset:
    """A prepared dataset, by name (under runs/data) or by its folder."""

    def __init__(self, name_or_root: str | Path) -> None:
        candidate = Path(name_or_root)
        root = (
            candidate
            if (candidate / "manifest.json").is_file()
            else prepared_root(str(name_or_root))
        )
        if not (root / "manifest.json").is_file():
            raise DefectforgeError(f"{root}: {_not_prepared_hint(str(name_or_root))}")
        self.root = root.resolve()

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """Contents of manifest.json (counts, hashes, stats)."""
        return json.loads((self.root / "manifest.json").read_text())

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @cached_property
    def info(self) -> DatasetInfo:
        """The dataset.yaml it was prepared from."""
        return load_dataset_info(self.name)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(s for s in SPLITS if s in self.manifest["splits"])

    def coco_path(self, split: str) -> Path:
        """`annotations/<split>.json`."""
        if split not in SPLITS:
            raise DefectforgeError(f"unknown split {split!r}; use one of {list(SPLITS)}")
        return self.root / "annotations" / f"{split}.json"

    def records(self, split: str) -> list[ImageRecord]:
        """Every image of a split, sorted by stem, masks decoded on access."""
        return read_coco(self.coco_path(split), root=self.root)


def _not_prepared_hint(name: str) -> str:
    """What to run: `data prepare NAME` only for a dataset that exists, else the known names."""
    import difflib

    known = list_datasets()
    if name in known:
        return f"dataset {name!r} is not prepared; run `defectforge data prepare {name}`"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    guess = f"; did you mean `{close[0]}`?" if close else ""
    return (
        f"no dataset {name!r} (no datasets/{name}/dataset.yaml, no prepared folder); "
        f"known datasets: {', '.join(known) or 'none'}{guess} (`defectforge data list`)"
    )
