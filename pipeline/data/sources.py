"""Source readers: one module per `format`, each with `list_items` and `load_item`.

`list_items(info, source) -> list[SourceItem]` runs in the main process and validates the
source cheaply (missing files, malformed annotations); `load_item(info, item) -> LoadedItem`
runs in worker processes and returns pixels plus full-size instance masks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pipeline.data.records import InstanceRecord

READERS = {
    "sample": "pipeline.data.source_sample",
    "deeppcb": "pipeline.data.source_deeppcb",
    "coco": "pipeline.data.source_coco",
    "mvtec": "pipeline.data.source_mvtec",
    "folder": "pipeline.data.source_folder",
    "voc": "pipeline.data.source_voc",
    "yolo": "pipeline.data.source_yolo",
}
"""format -> reader module."""


@dataclass(frozen=True)
class SourceItem:
    """One image to convert: its split, output stem, origin (provenance) and reader payload."""

    split: str
    stem: str
    origin: str
    payload: Any = None


@dataclass
class LoadedItem:
    """Pixels (HxW or HxWx3 uint8), clean reference or None, instances, provenance."""

    image: np.ndarray
    clean: np.ndarray | None
    instances: list[InstanceRecord] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)


def reader(fmt: str) -> ModuleType:
    """The reader module of a dataset format."""
    return importlib.import_module(READERS[fmt])


def require_dir(path: Path | None, what: str) -> Path:
    """`path` if it is a folder, else a DefectforgeError naming it."""
    from conditioning.errors import DefectforgeError

    if path is None:
        raise DefectforgeError(f"{what}: no source folder; pass --source PATH")
    if not path.is_dir():
        raise DefectforgeError(f"{path}: {what} source folder not found; pass --source PATH")
    return path
