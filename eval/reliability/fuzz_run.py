"""Fuzz a loader: build hostile files one by one in a scratch folder and probe each."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.reliability.coco_fuzz import mutated_coco, write_base_images
from eval.reliability.probe import ProbeResult, probe
from eval.reliability.spec_fuzz import base_specs, mutated_spec


@dataclass
class FuzzTally:
    """Outcomes of a fuzz run, and the first few cases of each bad outcome."""

    outcomes: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, mutation: str, result: ProbeResult) -> None:
        self.outcomes[result.outcome] += 1
        if result.outcome != "located":
            self.examples.setdefault(result.outcome, [])
            if len(self.examples[result.outcome]) < 5:
                self.examples[result.outcome].append(f"{mutation}: {result.detail}")

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def prepare_folder(root: Path) -> Path:
    """`root/case/` for the files under test, `root/outside.png`: an image a spec must not read."""
    import numpy as np

    from pipeline.data.atomic import write_png

    case = root / "case"
    case.mkdir(parents=True, exist_ok=True)
    write_png(root / "outside.png", np.full((8, 8), 255, np.uint8))
    write_base_images(case)
    return case


def spec_case(rng: random.Random, bases: list[str], case: Path, limit: float) -> tuple[str, ProbeResult]:
    """Write one hostile spec into `case` and load it under the probe."""
    from conditioning.spec import load_library
    from conditioning.spec_errors import SpecError

    mutation, data = mutated_spec(rng, bases, case)
    path = case / "defects.yaml"
    path.write_bytes(data)

    def located(error: Exception) -> list[str] | None:
        return [str(p) for p in error.problems] if isinstance(error, SpecError) else None

    return mutation, probe(lambda p: load_library(p) and None, path, limit=limit, located=located)


def coco_case(rng: random.Random, case: Path, limit: float) -> tuple[str, ProbeResult]:
    """Write one hostile COCO file into `case` and check it under the probe."""
    from pipeline.data.coco_check import check_coco

    mutation, data = mutated_coco(rng)
    path = case / "annotations.json"
    path.write_bytes(data)
    return mutation, probe(lambda p: check_coco(p).problems, path, limit=limit,
                           located=lambda error: None, where=r": \S")  # fmt: skip


def fuzz(kind: str, count: int, seed: int, root: Path, limit: float = 5.0) -> FuzzTally:
    """`count` hostile files of `kind` ("spec" or "coco"), seeds seed..seed+count-1."""
    case, tally = prepare_folder(root), FuzzTally()
    bases = base_specs()
    for index in range(count):
        rng = random.Random(seed + index)
        if kind == "spec":
            tally.add(*spec_case(rng, bases, case, limit))
        else:
            tally.add(*coco_case(rng, case, limit))
    return tally
