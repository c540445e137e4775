"""`defectforge data prepare`: convert a source into the prepared layout, atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.atomic import fresh_temp_dir, sha256_file, swap_dir, write_json, write_png
from pipeline.data.clean_reference import derive_clean, stored_pixels
from pipeline.data.coco_writer import write_coco
from pipeline.data.prepared import prepared_root
from pipeline.data.records import ImageRecord
from pipeline.data.registry import SPLITS, DatasetInfo, info_hash, load_dataset_info
from pipeline.data.sources import SourceItem, reader

LAYOUT_VERSION = 1
"""Bump when the prepared layout or a reader's output changes."""
POOL_MIN_ITEMS = 64
"""Fewer items than this are converted in-process (a pool costs more than it saves)."""


def prepare_dataset(
    name: str,
    source: str | Path | None = None,
    *,
    force: bool = False,
    workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Prepare dataset `name` under `runs/data/<name>`; returns that folder.

    Idempotent: an up-to-date prepared folder is kept as is; `force` rebuilds it.
    """
    info = load_dataset_info(name)
    source_dir = info.source_path(source)
    root = prepared_root(name)
    if (root / "manifest.json").is_file() and not force:
        _check_fresh(root, name, source_dir)
        return root
    items = _list_items(info, source_dir)
    clean_model = _clean_model(info)
    tmp = fresh_temp_dir(root)
    try:
        converted = _convert_all(info, items, tmp, 1 if clean_model else workers, progress)
        _write_outputs(info, source_dir, converted, tmp, clean_model)
        swap_dir(tmp, root, overwrite=True)  # runs/data/<name> is defectforge's own folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _list_items(info: DatasetInfo, source_dir: Path | None) -> list[SourceItem]:
    """1. The reader lists (and cheaply validates) the source."""
    items = reader(info.format).list_items(info, source_dir)
    keys = [(i.split, i.stem) for i in items]
    dup = [k for k, n in Counter(keys).items() if n > 1]
    if dup:
        raise DefectforgeError(
            f"{source_dir}: two source images map to {dup[0][0]}/{dup[0][1]}.png"
        )
    return sorted(items, key=lambda i: (i.split, i.stem))


def _clean_model(info: DatasetInfo) -> dict | None:
    """2. `clean_reference: model`: the trained model that fills the defects (path, revision), or
    a located error saying how to train it; None for every other clean reference."""
    if info.clean_reference != "model":
        return None
    from pipeline.clean_fill import require_clean_model

    return require_clean_model(info)


def _convert_all(info, items, tmp, workers, progress) -> list[tuple[SourceItem, ImageRecord, bool]]:
    """3. Load, convert and write every image (in a process pool when worth it; in-process when a
    model fills the clean references, as it runs its own threads)."""
    workers = workers or min(os.cpu_count() or 1, 8)
    jobs = [(info, item, tmp) for item in items]
    with _progress(progress, f"prepare {info.name}", len(jobs)) as advance:
        if workers > 1 and len(jobs) >= POOL_MIN_ITEMS:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = []
                for result in pool.map(_convert_one, jobs, chunksize=4):
                    results.append(result)
                    advance()
        else:
            results = []
            for job in jobs:
                results.append(_convert_one(job))
                advance()
    return [(item, record, grey) for item, (record, grey) in zip(items, results, strict=True)]


def _convert_one(job: tuple[DatasetInfo, SourceItem, Path]) -> tuple[ImageRecord, bool]:
    """Worker: load one item, derive its clean reference if needed, write its PNGs (one channel
    for grey pixels), return its record (masks as RLE) and whether it is greyscale."""
    info, item, tmp = job
    loaded = reader(info.format).load_item(info, item)
    height, width = loaded.image.shape[:2]
    image = stored_pixels(loaded.image)
    image_path = tmp / "images" / item.split / f"{item.stem}.png"
    write_png(image_path, image)
    clean = loaded.clean if loaded.clean is not None else \
        derive_clean(info, loaded.image, loaded.instances, f"{item.split}/{item.stem}")
    clean_path, clean_grey = None, True
    if clean is not None:
        if clean.shape[:2] != (height, width):
            raise DefectforgeError(
                f"{item.origin}: clean reference is {clean.shape[:2]}, image {(height, width)}"
            )
        clean = stored_pixels(clean)
        clean_grey = clean.ndim == 2
        clean_path = tmp / "clean" / item.split / f"{item.stem}.png"
        write_png(clean_path, clean)
    for instance in loaded.instances:
        instance.compact()
    provenance = {"source": item.origin, **loaded.provenance}
    record = ImageRecord(image_path, clean_path, width, height, loaded.instances, provenance)
    return record, image.ndim == 2 and clean_grey


def _write_outputs(info, source_dir, converted, tmp: Path, clean_model: dict | None) -> None:
    """4. One COCO file per split, then the manifest (greyscale: every image has one channel;
    `clean_model`: the model that filled the clean references)."""
    greyscale = all(grey for _, _, grey in converted)
    converted = [(item, record) for item, record, _ in converted]
    splits: dict[str, Any] = {}
    for split in SPLITS:
        records = [record for item, record in converted if item.split == split]
        coco = write_coco(
            tmp / "annotations" / f"{split}.json",
            records,
            info.coco_categories(),
            info={"dataset": info.name, "split": split, "layout_version": LAYOUT_VERSION},
            root=tmp,
        )
        splits[split] = _split_summary(info, records, coco, tmp)
    write_json(
        tmp / "manifest.json",
        {
            "name": info.name,
            "format": info.format,
            "layout_version": LAYOUT_VERSION,
            "dataset_yaml_sha256": info_hash(info.name),
            "source": None if source_dir is None else str(source_dir),
            "classes": info.coco_categories(),
            "greyscale": greyscale,
            "clean_reference": info.clean_reference,
            "clean_model": clean_model,
            "splits": splits,
        },
    )


def _split_summary(info: DatasetInfo, records: list[ImageRecord], coco: Path, tmp: Path) -> dict:
    instances = [i for r in records for i in r.instances]
    files = hashlib.sha256()
    for record in records:
        for path in (record.image_path, record.clean_path):
            if path is not None:
                files.update(f"{path.relative_to(tmp).as_posix()} {sha256_file(path)}\n".encode())
    fills = [i.area() / max(i.bbox_xywh[2] * i.bbox_xywh[3], 1.0) for i in instances]
    return {
        "images": len(records),
        "defect_free_images": sum(1 for r in records if not r.instances),
        "instances": len(instances),
        "instances_per_class": {
            n: sum(i.class_name == n for i in instances) for n in info.class_names
        },
        "mask_source": dict(
            sorted(Counter(str(i.extra.get("mask_source", "given")) for i in instances).items())
        ),
        "mask_fill_of_box_median": round(float(np.median(fills)), 4) if fills else None,
        "annotations_sha256": sha256_file(coco),
        "files_sha256": files.hexdigest(),
    }


def _check_fresh(root: Path, name: str, source_dir: Path | None) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    stale = []
    if manifest.get("layout_version") != LAYOUT_VERSION:
        stale.append("the prepared layout version changed")
    if manifest.get("dataset_yaml_sha256") != info_hash(name):
        stale.append(f"datasets/{name}/dataset.yaml changed")
    if manifest.get("source") != (None if source_dir is None else str(source_dir)):
        stale.append(f"it was prepared from {manifest.get('source')}, not {source_dir}")
    stale += _clean_model_changed(manifest.get("clean_model"))
    if stale:
        raise DefectforgeError(
            f"{root}: already prepared but out of date ({'; '.join(stale)}); rerun with --force"
        )


def _clean_model_changed(used: dict | None) -> list[str]:
    """Why the clean references are stale when the model that filled them changed since."""
    if not used:
        return []
    from pipeline.models import model_revision

    path = Path(used["path"])
    if not path.is_dir():
        return [f"its clean-reference model {path} is gone"]
    if model_revision(path) != used["revision"]:
        return [f"its clean-reference model {path} was retrained"]
    return []


@contextmanager
def _progress(enabled: bool, label: str, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar (or nothing): `with _progress(...) as advance: advance()`."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
