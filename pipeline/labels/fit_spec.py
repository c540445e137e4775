"""`defectforge spec fit`: a defects.yaml whose numbers come from the real images of a budget.

Starts from the line's spec (or a plain-quantile one, as `data init` writes, when it has none),
then sets from the budget's real labels: each defect's `count` and the per-image limits, the
surfaces (and, for a new spec, the foreground rule), the context around each defect
(`pipeline.labels.fit_context`), how anchors are drawn (`pipeline.labels.fit_pick`) and the shape
params, fitted by simulation
on the budget's clean references (`pipeline.labels.fit_shapes`). Only the numbers change: the
text is edited in place (`conditioning.spec_edit`), so comments and layout survive. Reads the
train split only (the budget's k images); writes atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from conditioning.bundle import foreground_mask
from conditioning.errors import DefectforgeError
from conditioning.masks.learned import LEARNED
from conditioning.masks.real import REAL
from conditioning.spec import DefectLibrary, Range, check_classes
from conditioning.spec_edit import Loc, Value, edit_text
from conditioning.spec_errors import validate_text
from pipeline.data.atomic import write_bytes
from pipeline.data.records import ImageRecord
from pipeline.labels.fit_context import context_changes
from pipeline.labels.fit_counts import (
    RealCounts,
    choose_polarity,
    count_changes,
    planned,
    surface_changes,
)
from pipeline.labels.fit_pick import PickFit, pick_changes
from pipeline.labels.fit_shapes import ROUNDS, DefectFit, fit_shapes
from pipeline.labels.measure import SetStats, measure_set
from pipeline.labels.shape_sim import SAMPLES, Placed
from pipeline.labels.surface import ON_SURFACE
from pipeline.labels.tolerances import TOLERANCES

HEADER = "# Numbers fitted by `defectforge spec fit"
"""Start of the one comment line `spec fit` writes (replaced, not repeated, on a refit)."""


@dataclass
class ClassFit:
    """One class: real medians against the simulated ones before and after the fit."""

    class_name: str
    defect: str
    real_instances: int
    real_area: float
    real_elongation: float
    before: tuple[float | None, float | None]
    after: tuple[float | None, float | None]
    best_round: int
    """The fitting round whose params were kept (0: the starting ones)."""
    surface: tuple[float | None, float | None] = (None, None)
    """Share of mask pixels on the foreground: real, simulated after (None: not measured)."""
    note: str = ""

    @property
    def ok(self) -> bool | None:
        """Within the parity tolerances (area, elongation); None: too few real instances."""
        area, elong = self.after
        if self.real_instances < TOLERANCES.min_instances:
            return None
        if area is None or elong is None:
            return False
        low, high = TOLERANCES.area_ratio
        e_low, e_high = TOLERANCES.elongation_ratio
        real, simulated = self.surface
        surface = real is None or simulated is None or abs(real - simulated) <= TOLERANCES.surface_abs
        return (low <= area / self.real_area <= high and surface
                and e_low <= elong / self.real_elongation <= e_high)


@dataclass
class FitResult:
    """What `fit_spec` wrote and measured."""

    out: Path
    started_from: str
    real_images: int
    classes: list[ClassFit]
    per_image: tuple[float, float, float]
    """Mean instances per defective image: real, planned before, planned after."""
    mix_distance: tuple[float, float]
    """Class-mix TV distance to the real mix: before, after."""
    placed: tuple[int, int] = (0, 0)
    """Images the fitted spec was placed on in the last simulation, and how many failed."""
    changes: dict[Loc, Value] = field(default_factory=dict)
    contexts: dict[str, Value] = field(default_factory=dict)
    """Per defect name, the `placement.context` written."""
    picks: list[PickFit] = field(default_factory=list)
    """Per fitted defect, the surface widths behind its `placement.pick`."""

    @property
    def ok(self) -> bool:
        low, high = TOLERANCES.instances_ratio
        real, _, after = self.per_image
        return (all(c.ok is not False for c in self.classes) and self.mix_distance[1]
                <= TOLERANCES.class_mix_tv and (real == 0 or low <= after / real <= high))


def fit_spec(dataset: str, records: list[ImageRecord], start: Path | None, out: Path, *,
             source: str, samples: int = SAMPLES, rounds: int = ROUNDS, seed: int = 0) -> FitResult:
    """Fit the spec at `start` (None: a new one) to `records` (the budget's real train images)
    and write it to `out`; `source` names the data in the header comment."""
    from pipeline.data.registry import load_dataset_info

    # 1. the real images: labelled ones needed
    if not any(r.instances for r in records):
        raise DefectforgeError(f"dataset {dataset!r}: the chosen {len(records)} train images hold "
                               "no labelled defect; choose a budget with defects")
    classes = load_dataset_info(dataset).class_names
    # 2. the starting text: the spec given, or a plain-quantile one (data init's)
    text, started_from = _starting_text(dataset, classes, records, start)
    where = start or out  # region mask paths resolve against the starting spec's folder
    library = _valid(text, where, classes)
    if shaped := sorted(d.name for d in library.defects if d.kind == REAL):
        raise DefectforgeError(
            f"--spec {start}: defects {shaped} are `kind: real` (shaped like real defects, placed where "
            "the part matches theirs): `spec fit` simulates mask kinds on the clean references and "
            "does not fit specs with them; fit a spec of mask kinds and keep its counts")
    if start is None and (polarity := choose_polarity(records)):
        text = edit_text(text, {("foreground",): polarity})
        library = _valid(text, where, classes)
    # 3. counts, per-image limits, surfaces and contexts from the real labels
    real = RealCounts.of(records, classes)
    contexts = context_changes(library, records)
    changes = {**count_changes(library, real), **surface_changes(library, records), **contexts}
    text = edit_text(text, changes)
    fitted = _valid(text, where, classes)
    # 4. how anchors are drawn, then shapes, by simulation on the clean references
    real_stats = measure_set(records, fitted.foreground)
    grounds = [foreground_mask(_background(r), fitted.foreground) for r in records]
    sides = _sides(real_stats, fitted)
    picks, pick_fits = pick_changes(fitted, real_stats, grounds, samples=samples, seed=seed, sides=sides)
    changes.update(picks)
    text = edit_text(text, picks)
    fitted = _valid(text, where, classes)
    fits, shape_changes, placed = _fit_shapes(fitted, real_stats, grounds, sides, samples, rounds, seed)
    changes.update(shape_changes)
    text = _with_header(edit_text(text, shape_changes), source, len(records))
    final = _valid(text, where, classes)
    # 5. write, and report
    write_bytes(out, text.encode("utf-8"))
    before, after = planned(library, seed), planned(final, seed)
    return FitResult(out, started_from, len(records), fits,
                     (_mean(real.per_image), _mean(before.per_image), _mean(after.per_image)),
                     (_distance(real, before), _distance(real, after)),
                     (placed.images, placed.failures), changes,
                     {library.defects[loc[1]].name: value for loc, value in contexts.items()},
                     pick_fits)


def _starting_text(dataset: str, classes: list[str], records: list[ImageRecord],
                   start: Path | None) -> tuple[str, str]:
    from pipeline.data.spec_fit import ClassStats, fit_spec_text

    if start is not None:
        if not start.is_file():
            raise DefectforgeError(f"--spec {start}: no such file (give a defects.yaml, or "
                                   "leave --spec out to write a new one)")
        return start.read_text(encoding="utf-8"), str(start)
    stats = {name: ClassStats() for name in classes}
    per_image = []
    for record in records:
        if not record.instances:
            continue
        per_image.append(len(record.instances))
        for name in {i.class_name for i in record.instances}:
            stats[name].counts.append(sum(i.class_name == name for i in record.instances))
        for instance in record.instances:
            _, _, w, h = instance.bbox_xywh
            stats[instance.class_name].sizes.append((w, h, float(instance.mask.sum())))
    return fit_spec_text(dataset, classes, stats, per_image), "a new plain-quantile spec"


def _valid(text: str, path: Path, classes: list[str]) -> DefectLibrary:
    library = validate_text(text, path)
    library._base_dir = path.resolve().parent
    check_classes(library, classes)
    return library


def _sides(real: SetStats, library: DefectLibrary) -> dict[str, bool]:
    """The side each class's real labels lie on, where one holds nearly all of them."""
    return {name: s.foreground_share >= ON_SURFACE for name, s in real.classes.items()
            if s.foreground_share is not None and library.foreground != "all"
            and max(s.foreground_share, 1 - s.foreground_share) >= ON_SURFACE}


def _fit_shapes(library: DefectLibrary, real: SetStats, grounds: list[np.ndarray],
                sides: dict[str, bool], samples: int, rounds: int,
                seed: int) -> tuple[list[ClassFit], dict[Loc, Value], Placed]:
    """Per defect with real instances: its fit, and the shape edits of the text."""
    targets = {i: (float(np.median(s.area)), float(np.median(s.elongation)))
               for i, spec in enumerate(library.defects)  # a learned region is no defect shape: not fitted
               if (s := real.classes.get(spec.class_name)) is not None and s.area and spec.kind != LEARNED}
    fits, placed = fit_shapes(library, grounds, targets, samples, rounds, seed, sides)
    rows, changes = [], {}
    for index, fit in fits.items():
        spec, stats = library.defects[index], real.classes[library.defects[index].class_name]
        rows.append(_class_fit(spec.class_name, spec.name, stats.count, targets[index], fit,
                               stats.foreground_share))
        for name, value in fit.params.items():
            changes[("defects", index, "shape", name)] = _range_value(value)
    return rows, changes, placed


def _background(record: ImageRecord) -> np.ndarray:
    clean = record.load_clean()
    return record.load_image() if clean is None else clean


def _class_fit(name: str, defect: str, count: int, target: tuple[float, float],
               fit: DefectFit, surface: float | None) -> ClassFit:
    note = "" if fit.before.area else "never placed: check its placement and count"
    if fit.before.area and not fit.elongation_knob:
        note = f"kind has no elongation param (`{fit.kind}`)"
    return ClassFit(name, defect, count, target[0], target[1],
                    (fit.before.median_area(), fit.before.median_elongation()),
                    (fit.after.median_area(), fit.after.median_elongation()), fit.best_round,
                    (surface, fit.after.foreground_share), note)


def _range_value(value: Range) -> Value:
    """`{min, max}` (and `dist` unless uniform): the editor writes it in the file's form."""
    dist = {} if value.dist == "uniform" else {"dist": value.dist}
    return {"min": value.min, "max": value.max, **dist}


def _with_header(text: str, source: str, images: int) -> str:
    line = f"{HEADER} --dataset {source}` to {images} real train images."
    lines = text.split("\n")
    kept = [x for x in lines if not x.startswith(HEADER)]
    at = 1 if kept and kept[0].startswith("# yaml-language-server") else 0
    return "\n".join([*kept[:at], line, *kept[at:]])


def _mean(values: list[int]) -> float:
    return float(np.mean(values)) if values else 0.0


def _distance(real: RealCounts, spec: RealCounts) -> float:
    a, b = real.mix(), spec.mix()
    return 0.5 * sum(abs(a.get(n, 0.0) - b.get(n, 0.0)) for n in {*a, *b})
