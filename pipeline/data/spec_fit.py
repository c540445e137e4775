"""A starting defects.yaml fitted to a line's real masks or boxes: plain quantiles per class.

Each class gets one defect entry: elongated defects (median long/short side >= ELONGATED) a
`scratch` with the 10-90 % quantiles of their length and width, others a `dent` with those of
their equivalent radius and elongation; `count` spans 0 .. the 90 % quantile of instances per
defective image. Every value carries a comment saying what it means and where it came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from conditioning.spec import SCHEMA_MODELINE

ELONGATED = 3.0
"""Median long side / short side from which a class is drawn as a scratch."""
LOW, HIGH = 0.1, 0.9
"""The quantiles a fitted range spans."""


@dataclass
class ClassStats:
    """Sizes of a class's real instances and how many each defective image holds."""

    sizes: list[tuple[float, float, float]] = field(default_factory=list)  # box w, box h, mask area
    counts: list[int] = field(default_factory=list)  # per image that holds the class


def _q(values: list[float], low: float = LOW, high: float = HIGH, floor: float = 1.0) -> list[float]:
    lo, hi = (max(floor, round(float(np.quantile(values, q)), 1)) for q in (low, high))
    return [lo, max(lo, hi)]


def _entry(name: str, stats: ClassStats, line: str) -> list[str]:
    sizes = np.array(stats.sizes, float)
    long_side, short_side = sizes[:, :2].max(1), np.maximum(sizes[:, :2].min(1), 1.0)
    elongation = long_side / short_side
    count_high = max(1, int(np.ceil(np.quantile(stats.counts, HIGH))))
    n = len(sizes)
    lines = [f"  - name: {name}", f"    class: {name}"]
    if float(np.median(elongation)) >= ELONGATED:
        width = sizes[:, 2] / long_side
        lines += [
            f"    kind: scratch                 # median long/short side {np.median(elongation):.1f} >= {ELONGATED}: a thin line",
            "    shape:",
            f"      length: {_q(list(long_side), floor=2.0)}   # px, 10-90 % of the real boxes' long side ({n} instances)",
            f"      width: {_q(list(width))}    # px, 10-90 % of mask area / long side",
        ]
    else:
        radius = np.sqrt(sizes[:, 2] / math.pi)
        lines += [
            f"    kind: dent                    # median long/short side {np.median(elongation):.1f} < {ELONGATED}: a compact blob",
            "    shape:",
            f"      radius: {_q(list(radius))}   # px, 10-90 % of sqrt(mask area / pi) ({n} instances)",
            f"      aspect: {_q(list(elongation), floor=1.0)}   # long/short side, 10-90 %",
        ]
    lines += [
        "    placement: {surface: any}      # anywhere on the part; add regions / keep_out to restrict",
        f"    count: [0, {count_high}]                  # per image; 90 % of defective images hold <= {count_high}",
        f"    prompt: a {name} defect on a {line} surface   # for text-conditioned backends (sd15)",
        "",
    ]
    return lines


def fit_spec_text(product: str, classes: list[str], stats: dict[str, ClassStats], per_image: list[int]) -> str:
    """The defects.yaml text (validated by the caller) fitted to `stats`; `per_image`: the
    instance count of each defective image measured."""
    images = len(per_image)
    max_total = max(1, int(np.ceil(np.quantile(per_image or [1], HIGH))))
    head = [
        SCHEMA_MODELINE,
        f"# Starting defect library of `{product}`, fitted by `defectforge data init` to the real",
        f"# masks / boxes of {images} images: plain 10-90 % quantiles per class. Edit freely;",
        f"# check with `defectforge spec check datasets/{product}/defects.yaml --dataset {product}`.",
        f"product: {product}",
        f"classes: [{', '.join(classes)}]   # = dataset.yaml class names, same order",
        "foreground: all                  # no part/background split assumed (dark | bright | auto for a part on a backdrop)",
        "min_distance: 4                  # px between any two defects",
        "min_per_image: 1                 # every generated image holds at least one defect",
        f"max_per_image: {max_total}                 # 90 % of defective images hold <= {max_total} defects",
        "",
        "defects:",
    ]
    body = []
    for name in classes:
        if stats.get(name) and stats[name].sizes:
            body += _entry(name, stats[name], product)
        else:
            body += [f"  - name: {name}", f"    class: {name}",
                     "    kind: dent                    # no real instance of this class was found: a guess",
                     "    shape: {radius: [3, 8]}", "    count: [0, 1]", ""]
    return "\n".join(head + body)
