"""Masks a spec places on real clean references, measured as the label parity report measures
labels (pixel area, minAreaRect elongation, share on the foreground, width of the surface next to
it), per defect.

Whole images are placed, with each defect's `count`, `min_per_image`, `max_per_image` and
spacing, as the procedural and diffusion arms place them: crowding shortens what needs room
(a `short` spanning a wide gap). A label is what changed against the clean reference: where a
class's real masks lie on one side (copper added on the substrate, removed from copper), a
placed mask counts only on that side (`sides`), as painting copper over copper changes
nothing. Finer effects of an arm's rendering (paint that misses a thin rim) are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from conditioning.placement import PlacementError, place_defects
from conditioning.spec import DefectLibrary
from pipeline.labels.measure import elongation, surface_width
from pipeline.labels.window import mask_window

SAMPLES = 48
"""Masks wanted per defect (the median of 48 draws moves by a few per cent)."""
MAX_IMAGES = 4
"""Images placed per wanted mask at most (a rare defect gets fewer masks than SAMPLES)."""


@dataclass
class Simulated:
    """One defect's placed masks: area, elongation and surface width of each, and its surface
    pixel counts."""

    area: list[float] = field(default_factory=list)
    elongation: list[float] = field(default_factory=list)
    surface_width: list[float] = field(default_factory=list)
    pixels: int = 0
    foreground: int = 0

    def median_area(self) -> float | None:
        return float(np.median(self.area)) if self.area else None

    def median_elongation(self) -> float | None:
        return float(np.median(self.elongation)) if self.elongation else None

    @property
    def foreground_share(self) -> float | None:
        return self.foreground / self.pixels if self.pixels else None


@dataclass
class Placed:
    """Per defect of a library its simulated masks, and the images that could not be placed."""

    defects: list[Simulated]
    images: int
    failures: int


def simulate(library: DefectLibrary, grounds: list[np.ndarray], samples: int = SAMPLES,
             seed: int = 0, sides: dict[str, bool] | None = None) -> Placed:
    """Place whole images on the `grounds` (bool foregrounds of the real clean references) in
    turn until every defect that can appear has `samples` masks (at most MAX_IMAGES x samples
    images); image i always draws from seed (seed, i), so two calls differ by the spec only.
    `sides`: {class: True (its labels lie on the foreground) or False (background)}."""
    sides = sides or {}
    found = [Simulated() for _ in library.defects]
    index = {id(spec): i for i, spec in enumerate(library.defects)}
    wanted = [i for i, spec in enumerate(library.defects) if spec.count.max > 0]
    failures = images = 0
    while images < MAX_IMAGES * samples and any(len(found[i].area) < samples for i in wanted):
        ground = grounds[images % len(grounds)]
        rng = np.random.default_rng([seed, images])
        images += 1
        try:
            placed = place_defects(library, ground, rng)
        except PlacementError:
            failures += 1
            continue
        for one in placed:
            side = sides.get(one.spec.class_name)
            mask = one.mask if side is None else one.mask & (ground if side else ~ground)
            if mask.any():
                _add(found[index[id(one.spec)]], mask, ground)
    return Placed(found, images, failures)


def _add(result: Simulated, mask: np.ndarray, ground: np.ndarray) -> None:
    crop, window = mask_window(mask)
    pixels = int(np.count_nonzero(crop))
    result.area.append(float(pixels))
    result.elongation.append(elongation(crop))
    on_ground = int(np.count_nonzero(crop & ground[window]))
    result.surface_width.append(surface_width(crop, window, ground, 2 * on_ground >= pixels))
    result.pixels += pixels
    result.foreground += on_ground
