"""Shape params fitted to the real masks by simulation: place the spec's defects on the real
images' clean references (`pipeline.labels.shape_sim`), measure them as the parity report does,
and rescale each defect's params toward its class's real medians; repeat.

A param does not map 1:1 onto the measured area (shapes are clipped to the part's foreground,
an `open` spans the trace it cuts, a `short` the gap it bridges), so each round multiplies the
pixel params (length, width, radius, gap) by sqrt(real / simulated median area) — exact where
area grows with the square of the params, a geometric approach where it grows linearly — and
the kind's elongation knob by real / simulated median elongation: the number of `lobes` of a
chained pin-hole or copper stroke, else `aspect`, else the number of `bites`, else length up and width down by its
square root at the same area. Every round places with the same seed (common random numbers), so
rounds differ by the params only; a step that overshoots (line widths and disc radii are whole
pixels) halves the next one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from conditioning.masks import KINDS, MaskKind
from conditioning.spec import MAX_PX, SIZE_PARAMS, DefectLibrary, DefectSpec, IntRange, Range
from conditioning.spec_edit import number
from pipeline.labels.shape_sim import SAMPLES, Placed, Simulated, simulate

ROUNDS = 5
"""Most rescaling rounds; fitting stops earlier once every fitted defect is CLOSE."""
CLOSE = 0.1
"""A defect is fitted when its simulated median area and elongation are within +-10 % of real."""
COUNTS = {"bites": 1, "lobes": 2}
"""Whole-number elongation knobs and the least each is rescaled to."""


@dataclass
class DefectFit:
    """One defect's fit: the params changed, its masks before and after, its best round."""

    params: dict[str, Range]
    before: Simulated
    after: Simulated
    best_round: int
    kind: str
    elongation_knob: str | None


@dataclass
class _Track:
    """The rescaling state of one defect across rounds."""

    target: tuple[float, float]
    miss: float
    best_round: int = 0
    steps: tuple[float, float] = (1.0, 1.0)
    last: tuple[float, float] = (0.0, 0.0)


def fit_shapes(library: DefectLibrary, grounds: list[np.ndarray],
               targets: dict[int, tuple[float, float]], samples: int = SAMPLES,
               rounds: int = ROUNDS, seed: int = 0,
               sides: dict[str, bool] | None = None) -> tuple[dict[int, DefectFit], Placed]:
    """Rescale each defect in `targets` ({index: real (median area, median elongation)}) for at
    most `rounds` rounds; every defect keeps the params of its round closest to its target. The
    fitted library is placed once more for the reported `after` masks (returned too).
    `sides`: the side each class's labels lie on (`shape_sim.simulate`)."""
    before = simulate(library, grounds, samples, seed, sides).defects
    tracks = {i: _Track(t, _miss(library, i, before[i], t)) for i, t in targets.items()}
    trial, simulated = library, before
    best = {i: library.defects[i] for i in targets}
    for round_ in range(1, rounds + 1):
        active = [i for i, t in tracks.items()
                  if t.miss > math.log1p(CLOSE) and simulated[i].area]
        if not active:
            break
        for i in active:
            trial = with_shape(trial, i, _step(trial.defects[i], simulated[i], tracks[i]))
        simulated = simulate(trial, grounds, samples, seed, sides).defects
        for i in active:
            miss = _miss(trial, i, simulated[i], tracks[i].target)
            if miss < tracks[i].miss:
                tracks[i].miss, tracks[i].best_round, best[i] = miss, round_, trial.defects[i]
    fitted = library.model_copy(update={"defects": [best.get(i, spec) for i, spec in
                                                    enumerate(library.defects)]})
    after = simulate(fitted, grounds, samples, seed, sides)
    return {i: DefectFit(_changed(library, fitted, i), before[i], after.defects[i],
                         tracks[i].best_round, library.defects[i].kind,
                         elongation_knob(library.defects[i]))
            for i in targets}, after


def _step(spec: DefectSpec, simulated: Simulated, track: _Track) -> dict[str, Range]:
    """The next params of one defect: log ratios to its target, halved after an overshoot."""
    logs = (math.log(track.target[0] / simulated.median_area()),
            math.log(track.target[1] / simulated.median_elongation()))
    track.steps = tuple(s * (0.5 if g * p < 0 else 1.0)
                        for s, g, p in zip(track.steps, logs, track.last, strict=True))
    track.last = logs
    knob = elongation_knob(spec)
    return rescale(spec, math.exp(track.steps[0] * logs[0]),
                   math.exp(track.steps[1] * logs[1]) if knob else None)


def _miss(library: DefectLibrary, index: int, simulated: Simulated,
          target: tuple[float, float]) -> float:
    """Largest |log(simulated / real)| of the median area and (where a knob exists) elongation."""
    if not simulated.area:
        return math.inf
    misses = [abs(math.log(simulated.median_area() / target[0]))]
    if elongation_knob(library.defects[index]):
        misses.append(abs(math.log(simulated.median_elongation() / target[1])))
    return max(misses)


def _changed(original: DefectLibrary, fitted: DefectLibrary, index: int) -> dict[str, Range]:
    """The params that differ, as written (an unset one only where it leaves the kind's default)."""
    spec, new = original.defects[index], fitted.defects[index].shape
    kind = KINDS[spec.kind]
    return {name: getattr(new, name) for name in kind.params
            if getattr(new, name) is not None and getattr(new, name) != current(spec, kind, name)}


def rescale(spec: DefectSpec, area_ratio: float, elongation_ratio: float | None) -> dict[str, Range]:
    """New ranges of the params `spec`'s kind reads that move its area by `area_ratio` and its
    elongation by `elongation_ratio` (None: leave the elongation), rounded as written."""
    kind = KINDS[spec.kind]
    size = math.sqrt(area_ratio)
    factors = {name: size for name in kind.params if name in SIZE_PARAMS}
    knob = elongation_knob(spec)
    if elongation_ratio is not None and knob == "aspect":
        factors["aspect"] = elongation_ratio
    elif elongation_ratio is not None and knob in COUNTS:
        factors[knob] = elongation_ratio
    elif elongation_ratio is not None and knob == "length/width":
        factors["length"] = factors["length"] * math.sqrt(elongation_ratio)
        factors["width"] = factors["width"] / math.sqrt(elongation_ratio)
    return {name: _scaled(current(spec, kind, name), name, factor)
            for name, factor in factors.items() if factor != 1.0}


def elongation_knob(spec: DefectSpec) -> str | None:
    """The param(s) that elongate this defect's masks: `aspect`, `bites`, `lobes` (a pin-hole
    or spurious copper drawn as a chain of at least 2 lobes, which `aspect` does not shape), `length/width` or None."""
    kind = KINDS[spec.kind]
    if "lobes" in kind.params and current(spec, kind, "lobes").min >= 2:
        return "lobes"
    if "aspect" in kind.params:
        return "aspect"
    if "bites" in kind.params:
        return "bites"
    if {"length", "width"} <= set(kind.params):
        return "length/width"
    return None


def current(spec: DefectSpec, kind: MaskKind, name: str) -> Range:
    """The spec's range of a param, or the kind's default."""
    given = getattr(spec.shape, name)
    if given is not None:
        return given
    low, high = kind.params[name]
    return (IntRange if name in COUNTS else Range)(min=low, max=high)


def _scaled(value: Range, name: str, factor: float) -> Range:
    if name in COUNTS:  # a chain of lobes stays a chain (at least 2)
        low = max(COUNTS[name], round(value.min * factor))
        return IntRange(min=low, max=max(low, min(64, round(value.max * factor))), dist=value.dist)
    floor, ceiling = (1.0, 100.0) if name == "aspect" else (0.5, float(MAX_PX))
    low, high = (min(ceiling, max(floor, float(number(v * factor)))) for v in (value.min, value.max))
    return Range(min=low, max=max(low, high), dist=value.dist)


def with_shape(library: DefectLibrary, index: int, params: dict[str, Range]) -> DefectLibrary:
    """The library with defect `index`'s shape params replaced."""
    spec = library.defects[index]
    shape = spec.shape.model_copy(update=params)
    defects = list(library.defects)
    defects[index] = spec.model_copy(update={"shape": shape})
    return library.model_copy(update={"defects": defects})
