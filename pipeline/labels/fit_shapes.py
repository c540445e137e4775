"""Shape params fitted to the real masks by simulation: place each defect alone, many times, on
the real images' clean references, measure its masks as the parity report does (pixel area,
minAreaRect elongation), and rescale its params toward the real class medians; repeat.

A param does not map 1:1 onto the measured area (shapes are clipped to the part's foreground,
an `open` spans the trace it cuts, a `short` the gap it bridges), so each round multiplies the
pixel params (length, width, radius, gap) by sqrt(real / simulated median area) — exact where
area grows with the square of the params, a geometric approach where it grows linearly — and
the kind's elongation knob by real / simulated median elongation: `aspect`, else the number of
`bites`, else length up and width down by its square root at the same area. Every round places
with the same seed (common random numbers), so rounds differ by the params only; a step that
overshoots (line widths and disc radii are whole pixels) halves the next one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from conditioning.masks import KINDS, MaskKind
from conditioning.placement import PlacementError, place_defects
from conditioning.spec import MAX_PX, SIZE_PARAMS, DefectLibrary, DefectSpec, IntRange, Range
from conditioning.spec_edit import number
from pipeline.labels.measure import elongation
from pipeline.labels.window import mask_window

SAMPLES = 48
"""Masks placed per defect per round (the medians of 48 draws move by a few per cent)."""
ROUNDS = 5
"""Most rescaling rounds; fitting stops earlier once every class is CLOSE."""
CLOSE = 0.1
"""A class is fitted when its simulated median area and elongation are within +-10 % of real."""
TRIES = 3
"""Placements tried per wanted mask before a defect counts as not placeable."""


@dataclass
class Simulated:
    """One defect's placed masks: area and elongation of each, and its surface pixel counts."""

    area: list[float] = field(default_factory=list)
    elongation: list[float] = field(default_factory=list)
    pixels: int = 0
    foreground: int = 0
    failures: int = 0

    def median_area(self) -> float | None:
        return float(np.median(self.area)) if self.area else None

    def median_elongation(self) -> float | None:
        return float(np.median(self.elongation)) if self.elongation else None

    @property
    def foreground_share(self) -> float | None:
        return self.foreground / self.pixels if self.pixels else None


def simulate(library: DefectLibrary, index: int, grounds: list[np.ndarray],
             samples: int = SAMPLES, seed: int = 0) -> Simulated:
    """`samples` masks of defect `index` placed alone on the `grounds` (bool foregrounds of the
    real clean references) in turn; the same seed draws the same anchors and values."""
    alone = _alone(library, library.defects[index])
    rng = np.random.default_rng([seed, index])
    result = Simulated()
    for attempt in range(samples * TRIES):
        if len(result.area) >= samples:
            break
        ground = grounds[attempt % len(grounds)]
        try:
            placed = place_defects(alone, ground, rng)
        except PlacementError:
            result.failures += 1
            continue
        for one in placed:
            crop, window = mask_window(one.mask)
            result.area.append(float(np.count_nonzero(crop)))
            result.elongation.append(elongation(crop))
            result.pixels += int(np.count_nonzero(crop))
            result.foreground += int(np.count_nonzero(crop & ground[window]))
    return result


@dataclass
class DefectFit:
    """One defect's fit: the params changed, its masks before and after, the rounds run."""

    params: dict[str, Range]
    before: Simulated
    after: Simulated
    rounds: int
    kind: str
    elongation_knob: str | None


def fit_defect(library: DefectLibrary, index: int, grounds: list[np.ndarray],
               target: tuple[float, float], samples: int = SAMPLES, rounds: int = ROUNDS,
               seed: int = 0) -> DefectFit:
    """Rescale defect `index`'s params toward the real (median area, median elongation) for at
    most `rounds` rounds; keeps the round closest to the target."""
    before = simulate(library, index, grounds, samples, seed)
    kind = library.defects[index].kind
    best = DefectFit({}, before, before, 0, kind, elongation_knob(KINDS[kind]))
    best_miss, trial, simulated = _miss(library, index, before, target), library, before
    steps, last = [1.0, 1.0], [0.0, 0.0]
    for number_ in range(1, rounds + 1):
        if best_miss <= math.log1p(CLOSE) or not simulated.area:
            break
        spec = trial.defects[index]
        logs = [math.log(target[0] / simulated.median_area()),
                math.log(target[1] / simulated.median_elongation())]
        for k in (0, 1):  # overshot (the sign flipped): halve the step, as params are discrete
            steps[k] *= 0.5 if logs[k] * last[k] < 0 else 1.0
        last = logs
        knob = elongation_knob(KINDS[spec.kind])
        ratios = (math.exp(steps[0] * logs[0]), math.exp(steps[1] * logs[1]) if knob else None)
        trial = with_shape(trial, index, rescale(spec, *ratios))
        simulated = simulate(trial, index, grounds, samples, seed)
        miss = _miss(trial, index, simulated, target)
        if miss < best_miss:
            best_miss = miss
            best = DefectFit(_changed(library, trial, index), before, simulated, number_, kind,
                             best.elongation_knob)
    return best


def _miss(library: DefectLibrary, index: int, simulated: Simulated,
          target: tuple[float, float]) -> float:
    """Largest |log(simulated / real)| of the median area and (where a knob exists) elongation."""
    if not simulated.area:
        return math.inf
    misses = [abs(math.log(simulated.median_area() / target[0]))]
    if elongation_knob(KINDS[library.defects[index].kind]):
        misses.append(abs(math.log(simulated.median_elongation() / target[1])))
    return max(misses)


def _changed(original: DefectLibrary, fitted: DefectLibrary, index: int) -> dict[str, Range]:
    """The params that differ, as written (an unset one only where it leaves the kind's default)."""
    spec, new = original.defects[index], fitted.defects[index].shape
    kind = KINDS[spec.kind]
    return {name: getattr(new, name) for name in kind.params
            if getattr(new, name) is not None and getattr(new, name) != current(spec, kind, name)}


def _alone(library: DefectLibrary, spec: DefectSpec) -> DefectLibrary:
    """The library with only `spec`, one instance an image."""
    single = spec.model_copy(update={"count": IntRange(min=1, max=1)})
    return library.model_copy(update={"defects": [single], "min_per_image": 1,
                                      "max_per_image": None})


def rescale(spec: DefectSpec, area_ratio: float, elongation_ratio: float | None) -> dict[str, Range]:
    """New ranges of the params `spec`'s kind reads that move its area by `area_ratio` and its
    elongation by `elongation_ratio` (None: leave the elongation), rounded as written."""
    kind = KINDS[spec.kind]
    size = math.sqrt(area_ratio)
    factors = {name: size for name in kind.params if name in SIZE_PARAMS}
    knob = elongation_knob(kind)
    if elongation_ratio is not None and knob == "aspect":
        factors["aspect"] = elongation_ratio
    elif elongation_ratio is not None and knob == "bites":
        factors["bites"] = elongation_ratio
    elif elongation_ratio is not None and knob == "length/width":
        factors["length"] = factors["length"] * math.sqrt(elongation_ratio)
        factors["width"] = factors["width"] / math.sqrt(elongation_ratio)
    return {name: _scaled(current(spec, kind, name), name, factor)
            for name, factor in factors.items() if factor != 1.0}


def elongation_knob(kind: MaskKind) -> str | None:
    """The param(s) that elongate this kind's masks: `aspect`, `bites`, `length/width` or None."""
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
    return (IntRange if name == "bites" else Range)(min=low, max=high)


def _scaled(value: Range, name: str, factor: float) -> Range:
    if name == "bites":
        low = max(1, round(value.min * factor))
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
