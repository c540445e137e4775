"""Instances per image, class mix and surfaces of a spec, taken from the real images' labels.

Counts: each defect's `count` is the uniform `[low, high]` whose counts per image lie closest to
its class's real instances per defective image (Wasserstein-1 distance); `min_per_image` and
`max_per_image` are the 10 % and 90 % quantiles of instances per defective image. Surfaces: a
defect placed on `foreground`, `background` or `any` goes where at least ON_SURFACE of its
class's real mask pixels lie (`edge` is kept: edge kinds clip themselves to a side).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from conditioning.masks import KINDS
from conditioning.placement import plan_instances
from conditioning.spec import DefectLibrary
from conditioning.spec_edit import Loc, Value
from pipeline.data.records import ImageRecord
from pipeline.labels.surface import ON_SURFACE, POLARITIES, surface_shares

LOW, HIGH = 0.1, 0.9
"""Quantiles of instances per image that bound `min_per_image` and `max_per_image`."""
PLANS = 2000
"""Images planned (counts only, no placement) to measure a spec's instances per image."""


@dataclass
class RealCounts:
    """Instances per defective image: in all, and per class (zeros included)."""

    per_image: list[int]
    per_class: dict[str, list[int]]

    @classmethod
    def of(cls, records: list[ImageRecord], classes: list[str]) -> RealCounts:
        defective = [Counter(i.class_name for i in r.instances) for r in records if r.instances]
        return cls([sum(c.values()) for c in defective],
                   {name: [c.get(name, 0) for c in defective] for name in classes})

    def mix(self) -> dict[str, float]:
        total = sum(self.per_image) or 1
        return {name: sum(counts) / total for name, counts in self.per_class.items()}


def count_changes(library: DefectLibrary, real: RealCounts) -> dict[Loc, Value]:
    """New `count` per defect (where it is its class's only defect and the real images hold
    the class: a class they lack keeps its count) and per-image limits."""
    changes: dict[Loc, Value] = {}
    per_class = Counter(spec.class_name for spec in library.defects)
    for index, spec in enumerate(library.defects):
        counts = real.per_class.get(spec.class_name)
        if per_class[spec.class_name] == 1 and counts and any(counts):
            low, high = count_range(counts)
            if (low, high) != (spec.count.min, spec.count.max):
                changes[("defects", index, "count")] = {"min": low, "max": high}
    if real.per_image:
        low = max(1, int(math.floor(np.quantile(real.per_image, LOW))))
        high = max(low, int(math.ceil(np.quantile(real.per_image, HIGH))))
        if low != library.min_per_image:
            changes[("min_per_image",)] = low
        if high != library.max_per_image:
            changes[("max_per_image",)] = high
    return changes


def count_range(counts: list[int]) -> tuple[int, int]:
    """The uniform `[low, high]` count whose distribution of instances per image is closest to
    the real one (Wasserstein-1: both mean and spread count, in instances; the first range wins
    a tie)."""
    top = int(max(counts))
    pairs = [(low, high) for low in range(top + 1) for high in range(low, top + 1)]

    def distance(pair: tuple[int, int]) -> float:
        values, weights = _uniform_distribution(*pair)
        return wasserstein_distance(counts, values, v_weights=weights)

    return min(pairs, key=distance)


def _uniform_distribution(low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
    """Values and probabilities of `IntRange(low, high).sample` (a rounded uniform draw: the
    two ends half as likely as the values between)."""
    values = np.arange(low, high + 1, dtype=float)
    weights = np.ones(len(values))
    if high > low:
        weights[[0, -1]] = 0.5
    return values, weights / weights.sum()


def planned(library: DefectLibrary, seed: int = 0, images: int = PLANS) -> RealCounts:
    """Instances per image and per class the spec plans over `images` images."""
    rng = np.random.default_rng(seed)
    plans = [Counter(spec.class_name for spec in plan_instances(library, rng))
             for _ in range(images)]
    return RealCounts([sum(p.values()) for p in plans],
                      {name: [p.get(name, 0) for p in plans] for name in library.classes})


def choose_polarity(records: list[ImageRecord]) -> str | None:
    """The first foreground rule (dark, bright, auto) that puts every class's real mask pixels
    at least ON_SURFACE on one side, or None (no rule separates them: keep `all`)."""
    shares = surface_shares(records, POLARITIES)
    for polarity in POLARITIES:
        found = shares[polarity].values()
        if found and all(max(s.foreground, s.background) >= ON_SURFACE for s in found):
            return polarity
    return None


def surface_changes(library: DefectLibrary, records: list[ImageRecord]) -> dict[Loc, Value]:
    """New `placement.surface` of each foreground / background / any defect whose class's real
    pixels lie at least ON_SURFACE on the other side (or mixed, for `any`: left as is)."""
    shares = surface_shares(records, [library.foreground])[library.foreground]
    changes: dict[Loc, Value] = {}
    for index, spec in enumerate(library.defects):
        now = spec.placement.surface or KINDS[spec.kind].surface
        share = shares.get(spec.class_name)
        if now == "edge" or share is None or not share.pixels or library.foreground == "all":
            continue
        wanted = ("foreground" if share.foreground >= ON_SURFACE
                  else "background" if share.background >= ON_SURFACE else now)
        if wanted != now:
            changes[("defects", index, "placement", "surface")] = wanted
    return changes
