"""`placement.pick` fitted to the real defects of a budget: per defect, the way anchors are drawn
(`pixel`: every allowed pixel alike; `trace`: each by 1 / the width of its surface) whose placed
masks lie on surfaces as wide as the real ones, the parity report's "width of its surface".

On DeepPCB the real opens cut traces 12 px wide (median, k = 50 budget) where copper pixels drawn
alike give 16-18 px and traces drawn by length 14-15 px; on the procedural sample line, whose
opens are drawn on copper pixels alike, the same choice gives the opposite answer (real 10 px,
`trace` 6 px). Each pick is placed on the budget's clean references (`shape_sim.simulate`) with
every fitted defect set to it, and each defect keeps the one nearer its real median (by ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from conditioning.masks.learned import LEARNED
from conditioning.spec import DefectLibrary
from conditioning.spec_edit import Loc, Value
from pipeline.labels.measure import SetStats
from pipeline.labels.shape_sim import SAMPLES, simulate
from pipeline.labels.tolerances import TOLERANCES

PICKS = ("pixel", "trace")


@dataclass
class PickFit:
    """One defect: the real median surface width, the simulated one per pick, the pick kept."""

    defect: str
    real: float
    simulated: dict[str, float | None]
    chosen: str


def pick_changes(library: DefectLibrary, real: SetStats, grounds: list[np.ndarray], *,
                 samples: int = SAMPLES, seed: int = 0,
                 sides: dict[str, bool] | None = None) -> tuple[dict[Loc, Value], list[PickFit]]:
    """`{("defects", i, "placement", "pick"): pick}` for each defect whose nearer pick is not its
    own, and every fitted defect's widths (defects whose class has fewer real widths than the
    parity minimum are left as they are; none for `foreground: all`, which has no surfaces)."""
    if library.foreground == "all":
        return {}, []
    targets = {}
    for index, spec in enumerate(library.defects):
        stats = real.classes.get(spec.class_name)
        if spec.kind != LEARNED and stats and len(stats.surface_width) >= TOLERANCES.min_instances:
            targets[index] = float(np.median(stats.surface_width))
    if not targets:
        return {}, []
    widths = {pick: simulate(_with_pick(library, targets, pick), grounds, samples, seed, sides).defects
              for pick in PICKS}
    changes: dict[Loc, Value] = {}
    fits = []
    for index, target in targets.items():
        best = min(PICKS, key=lambda pick: _miss(widths[pick][index].surface_width, target))
        if best != library.defects[index].placement.pick:
            changes[("defects", index, "placement", "pick")] = best
        medians = {pick: _median(widths[pick][index].surface_width) for pick in PICKS}
        fits.append(PickFit(library.defects[index].name, target, medians, best))
    return changes, fits


def _with_pick(library: DefectLibrary, indices, pick: str) -> DefectLibrary:
    trial = library.model_copy(deep=True)
    for index in indices:
        trial.defects[index].placement.pick = pick
    return trial


def _median(widths: list[float]) -> float | None:
    return float(np.median(widths)) if widths else None


def _miss(widths: list[float], target: float) -> float:
    """How far the simulated median width is from the real one, as |log ratio| (none placed: inf)."""
    median = _median(widths)
    if median is None or target <= 0:
        return math.inf
    return abs(math.log(max(median, 1e-6) / target))
