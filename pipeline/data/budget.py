"""Real-data budgets: k training images chosen reproducibly, stratified by class, saved as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.data.atomic import sha256_file, write_json
from pipeline.data.coco_reader import load_coco_json
from pipeline.paths import runs_root

NO_DEFECT = "(defect-free)"
"""Stratum of images without instances."""


@dataclass
class BudgetManifest:
    """The chosen images of one COCO file (ids and file names) and what they contain."""

    coco_path: str
    coco_sha256: str
    k: int
    seed: int
    image_ids: list[int]
    file_names: list[str]
    images_per_class: dict[str, int]
    instances_per_class: dict[str, int]
    defects_only: bool = False
    """Chosen among images with defects: the defect-free train images form a background pool
    of their own, outside k (generation may draw on them; an evaluation's arms may not)."""


def budget_path(name: str, k: int, seed: int, *, defects_only: bool = False) -> Path:
    """`runs/budgets/<name>/k<K>-seed<S>[-defects].json`."""
    return runs_root() / "budgets" / name / f"k{k}-seed{seed}{'-defects' if defects_only else ''}.json"


def choose_real_budget(coco_path: str | Path, k: int, seed: int, *, defects_only: bool = False) -> BudgetManifest:
    """Pick k images: each step serves the class furthest below its share, taking the next
    image of a seeded shuffle that contains it. Same file, k and seed -> same choice.
    `defects_only`: choose among images with defects (defect-free ones stay a background pool
    of their own, outside k)."""
    coco_path = Path(coco_path).resolve()
    document = load_coco_json(coco_path)
    images = sorted(document["images"], key=lambda i: i["id"])
    if defects_only:
        labelled = {a["image_id"] for a in document["annotations"]}
        images = [i for i in images if i["id"] in labelled]
    if not 1 <= k <= len(images):
        raise DefectforgeError(
            f"{coco_path}: --k {k} must be between 1 and the {len(images)} images"
        )
    names = {c["id"]: c["name"] for c in document["categories"]}
    classes_of = {i["id"]: set() for i in images}
    for annotation in document["annotations"]:
        classes_of[annotation["image_id"]].add(names[annotation["category_id"]])
    strata = {i: (c or {NO_DEFECT}) for i, c in classes_of.items()}
    order = [images[j]["id"] for j in np.random.default_rng(seed).permutation(len(images))]
    labels = sorted({s for group in strata.values() for s in group})
    share = {s: sum(s in g for g in strata.values()) / len(images) for s in labels}
    have = dict.fromkeys(labels, 0)
    chosen: list[int] = []
    remaining = list(order)
    while len(chosen) < k:
        want = max(labels, key=lambda s: (share[s] * (len(chosen) + 1) - have[s], -labels.index(s)))
        pick = next((i for i in remaining if want in strata[i]), remaining[0])
        remaining.remove(pick)
        chosen.append(pick)
        for s in strata[pick]:
            have[s] += 1
    manifest = _manifest(coco_path, document, chosen, names, k, seed)
    manifest.defects_only = defects_only
    return manifest


def _manifest(
    coco_path: Path, document: dict, chosen: list[int], names: dict, k: int, seed: int
) -> BudgetManifest:
    chosen = sorted(chosen)
    files = {i["id"]: i["file_name"] for i in document["images"]}
    selected = set(chosen)
    instances = dict.fromkeys(names.values(), 0)
    images = {n: set() for n in names.values()}
    for annotation in document["annotations"]:
        if annotation["image_id"] in selected:
            name = names[annotation["category_id"]]
            instances[name] += 1
            images[name].add(annotation["image_id"])
    return BudgetManifest(
        coco_path=str(coco_path),
        coco_sha256=sha256_file(coco_path),
        k=k,
        seed=seed,
        image_ids=chosen,
        file_names=[files[i] for i in chosen],
        images_per_class={n: len(v) for n, v in images.items()},
        instances_per_class=instances,
    )


def save_budget(budget: BudgetManifest, path: str | Path) -> Path:
    """Write the manifest atomically as JSON."""
    return write_json(path, asdict(budget))


def load_budget(path: str | Path) -> BudgetManifest:
    """Read a manifest; DefectforgeError naming the file if it is not one."""
    try:
        return BudgetManifest(**json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise DefectforgeError(
            f"{path}: not a budget manifest ({error}); create one with "
            "`defectforge data budget NAME --k K --seed S`"
        ) from error
