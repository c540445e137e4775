"""Read a generated COCO set (from `generate_set`) for the diffusion arm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from conditioning.errors import DefectforgeError
from eval.console import warn
from eval.synthetic import ANNOTATIONS, SyntheticSet
from pipeline.data.coco_reader import read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord

FAILED = {"fail", "failed", "reject", "rejected"}
"""Gate verdicts that drop an image (its label would be wrong)."""
PASS_RATE_KEYS = ("image_pass_rate", "pass_rate", "instance_pass_rate")
"""summary.json keys read as the QA gate's pass rate, first found wins."""


SEED_FIELD = "{seed}"
"""In a --generated path, replaced by the training seed: one generated set per seed."""


def set_for_seed(path: Path, seed: int) -> Path:
    """The generated set a training seed reads: `path` with {seed} replaced by the seed."""
    return Path(str(path).replace(SEED_FIELD, str(seed)))


def load_generated(
    folder: Path, out_dir: Path, count: int, categories: list[dict[str, Any]], seed: int,
    *, shared: bool = True,
) -> SyntheticSet:
    """`count` gate-passing images of `folder` drawn with `seed` (each training seed samples its
    own subset of the generated set), re-written as this arm's COCO set.

    A `shared` set (one for every seed) with no more passing images than `count` gives every seed
    the same images, so the seed interval leaves out the draw of the set: that is warned about.
    """
    coco = folder / ANNOTATIONS if folder.is_dir() else folder
    if not coco.is_file():
        raise DefectforgeError(f"{coco}: generated set has no {ANNOTATIONS}; run generation first")
    records = read_coco(coco)
    ids = {c["name"]: int(c["id"]) for c in categories}
    for record in records:
        for inst in record.instances:
            if ids.get(inst.class_name) is None:
                raise DefectforgeError(
                    f"{coco}: class {inst.class_name!r} is not a class of this dataset {list(ids)}"
                )
            inst.category_id = ids[inst.class_name]
    passed = [r for r in records if not _failed(r.provenance)
              and not any(_failed(i.extra) for i in r.instances)]
    if not passed:
        raise DefectforgeError(f"{coco}: no generated image passed the QA gate")
    if shared and len(passed) <= count:
        warn(f"{coco}: {len(passed)} passing images for {count} per seed, so every training "
             "seed trains on the same generated images (the copypaste and procedural arms draw "
             f"new ones per seed); generate one set per seed and pass --generated "
             f"'DIR-{SEED_FIELD}', or generate more images")
    chosen = np.random.default_rng(seed).permutation(len(passed))[:count]
    kept = [passed[i] for i in sorted(chosen)]
    out = write_coco(out_dir / ANNOTATIONS, kept, categories, root=coco.parent)
    summary = _summary(coco.parent)
    return SyntheticSet(
        coco_path=out,
        count=len(kept),
        inputs=sorted({r.clean_path for r in kept if r.clean_path is not None}),
        gate_pass_rate=next((summary[k] for k in PASS_RATE_KEYS if k in summary), None),
        generator_revision=next((r.provenance.get("revision") for r in kept), None),
    )


def _failed(keys: dict[str, Any]) -> bool:
    """A gate verdict that says no: `gate_passed: false`, `gate: {passed: false}` or a verdict."""
    gate = keys.get("gate")
    if keys.get("gate_passed") is False or (isinstance(gate, dict) and gate.get("passed") is False):
        return True
    verdict = keys.get("gate_verdict", keys.get("verdict"))
    return isinstance(verdict, str) and verdict.lower() in FAILED


def _summary(folder: Path) -> dict[str, Any]:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def generator_training_images(model_dir: Path, train: list[ImageRecord]) -> list[Path]:
    """The k-budget images a generator was trained on (from its model_card.json).

    Fails when the card is missing or names an image outside the k training images.
    """
    card = Path(model_dir) / "model_card.json"
    if not card.is_file():
        raise DefectforgeError(
            f"{card}: missing, so the generator's training images cannot be checked for leakage; "
            "train it with `defectforge train` (which writes the card)"
        )
    names = json.loads(card.read_text()).get("images") or []
    by_name = {r.image_path.name: r.image_path for r in train}
    outside = [n for n in names if n not in by_name]
    if outside or not names:
        raise DefectforgeError(
            f"{card}: leakage: the generator was trained on {len(outside) or 'unlisted'} images "
            f"outside the k-image budget (e.g. {outside[:1]}); train it on the same budget "
            "(`defectforge train --budget PATH`) and pass that budget to evaluate (--budget)"
        )
    return [by_name[n] for n in names]
