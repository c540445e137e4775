"""Instances per image, class mix and surfaces of a spec, taken from the real images' labels.

Counts: each defect's `count` draws its class's real instances per defective image as often as
the real images hold them (`{min, max, weights}`: the observed range and frequencies, so the
mean, the spread and the instances per image in all follow the real ones); `min_per_image` and
`max_per_image` are the 10 % and 90 % quantiles of instances per defective image. Surfaces: a
defect placed on `foreground`, `background` or `any` goes where at least ON_SURFACE of its
class's real mask pixels lie (`edge` is kept: edge kinds clip themselves to a side).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from conditioning.masks import KINDS
from conditioning.placement import plan_instances
from conditioning.spec import DefectLibrary, IntRange
from conditioning.spec_edit import Loc, Value, number
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
            wanted = observed_count(counts)
            if spec.count.weights is not None and "weights" not in wanted:
                wanted["weights"] = [1]  # the file's weights would not fit one value
            if not _same_count(spec.count, wanted):
                if spec.count.dist != "uniform":  # weights replace it
                    wanted["dist"] = "uniform"
                changes[("defects", index, "count")] = wanted
    if real.per_image:
        low = max(1, int(math.floor(np.quantile(real.per_image, LOW))))
        high = max(low, int(math.ceil(np.quantile(real.per_image, HIGH))))
        if low != library.min_per_image:
            changes[("min_per_image",)] = low
        if high != library.max_per_image:
            changes[("max_per_image",)] = high
    return changes


def observed_count(counts: list[int]) -> dict[str, Value]:
    """A `count` that draws instances per image as often as `counts` holds them: `{min, max}` for
    one value, else `{min, max, weights}` with each value's share (as the spec file writes it)."""
    low, high = int(min(counts)), int(max(counts))
    if low == high:
        return {"min": low, "max": high}
    shares = np.bincount(np.asarray(counts, dtype=int) - low, minlength=high - low + 1) / len(counts)
    return {"min": low, "max": high, "weights": [float(number(s)) for s in shares]}


def _same_count(count: IntRange, wanted: dict[str, Value]) -> bool:
    return (count.min, count.max, count.weights) == (wanted["min"], wanted["max"],
                                                     wanted.get("weights"))


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
