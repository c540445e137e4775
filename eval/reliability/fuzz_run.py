"""Fuzz a loader: build hostile files one by one in a scratch folder and probe each."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from eval.reliability.coco_fuzz import mutated_coco, write_base_images
from eval.reliability.fuzz_worker import FuzzWorker
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


@cache
def _bases() -> tuple[str, ...]:
    return tuple(base_specs())


def warm_up() -> None:
    """Import the loaders and read the base specs (once per process, not once per case)."""
    import conditioning.spec  # noqa: F401
    import pipeline.data.coco_check  # noqa: F401

    _bases()


def spec_case(rng: random.Random, case: Path) -> tuple[str, ProbeResult]:
    """Write one hostile spec into `case` and load it under the probe."""
    from conditioning.spec import load_library
    from conditioning.spec_errors import SpecError

    mutation, data = mutated_spec(rng, _bases(), case)
    path = case / "defects.yaml"
    path.write_bytes(data)

    def located(error: Exception) -> list[str] | None:
        return [str(p) for p in error.problems] if isinstance(error, SpecError) else None

    return mutation, probe(lambda p: load_library(p) and None, path, located=located)


def coco_case(rng: random.Random, case: Path) -> tuple[str, ProbeResult]:
    """Write one hostile COCO file into `case` and check it under the probe."""
    from pipeline.data.coco_check import check_coco

    mutation, data = mutated_coco(rng)
    path = case / "annotations.json"
    path.write_bytes(data)
    return mutation, probe(lambda p: check_coco(p).problems, path,
                           located=lambda error: None, where=r": \S")  # fmt: skip


CASES: dict[str, Callable[[random.Random, Path], tuple[str, ProbeResult]]] = {
    "spec": spec_case, "coco": coco_case}  # fmt: skip
"""Every kind of fuzz case, by name: `(rng, case folder) -> (mutation, result)`."""


def fuzz(kind: str, seeds: Iterable[int], root: Path, limit: float = 5.0) -> FuzzTally:
    """One hostile file of `kind` ("spec" or "coco") per seed, each built and loaded in one
    long-lived worker process with `limit` s per case (see `fuzz_worker`)."""
    case, tally = prepare_folder(root), FuzzTally()
    with FuzzWorker(case, limit) as worker:
        for seed in seeds:
            mutation, result = worker.run(kind, seed)
            tally.add(f"{mutation} (seed {seed})", result)
    return tally
