"""Scan speckle at defect edges: the isolated pixels a binarised scan shows around its real defects.

An isolated pixel is one whose four neighbours all have the other colour. DeepPCB's real opens and
mousebites show about six per 1,000 px next to their masks and hardly any elsewhere; the generator
draws its crops smoothly and shows almost none, which a realism classifier picks up (README,
"Realism"). `measure` counts them per class and colour in the region around each real mask of
the training examples (the model card's `edge_speckle`); `add` gives each rendered defect's region
as many, by putting single drawn pixels back to the background (almost every real one is a pixel
the defect left as its clean reference has it).
"""

from __future__ import annotations

import numpy as np

from pipeline.crop_sets import Example
from pipeline.crops import dilate

PER_PX = 1000
"""Rates are isolated pixels per this many pixels of region."""
NEAR_PX = 1
"""The region around a real mask the rates are measured in: the mask grown by this many pixels, as
the renderer grows a spec mask into the region it draws in (RenderConfig.dilate_px's default)."""


def binary(image: np.ndarray) -> np.ndarray:
    """HxW bool: the brighter half of a binarised image (grey level above the middle of its extremes)."""
    grey = image.mean(axis=-1) if image.ndim == 3 else image.astype(float)
    return grey > (float(grey.min()) + float(grey.max())) / 2


def same_neighbours(bright: np.ndarray) -> np.ndarray:
    """HxW int: how many of each pixel's four neighbours share its colour (edges padded by replication)."""
    p = np.pad(bright, 1, mode="edge")
    centre = p[1:-1, 1:-1]
    return sum((side == centre).astype(np.int8) for side in (p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]))


def isolated(bright: np.ndarray) -> np.ndarray:
    """HxW bool: the pixels whose four neighbours all differ from them."""
    return same_neighbours(bright) == 0


def measure(examples: list[Example], classes: list[str]) -> dict[str, list[float]]:
    """Per class, [isolated bright, isolated dark] pixels per PER_PX px of each real mask grown by
    NEAR_PX (binarised images); classes without a real instance get [0, 0]."""
    counts = {name: np.zeros(3) for name in classes}  # bright, dark, area
    for example in examples:
        bright = binary(example.image)
        alone = isolated(bright)
        for class_id, mask in example.instances:
            zone = dilate(mask, NEAR_PX)
            counts[classes[class_id - 1]] += ((alone & bright & zone).sum(), (alone & ~bright & zone).sum(), zone.sum())
    return {name: [round(PER_PX * float(c[0] / c[2]), 3), round(PER_PX * float(c[1] / c[2]), 3)] if c[2] else [0.0, 0.0]
            for name, c in counts.items()}


def add(image: np.ndarray, background: np.ndarray, regions: list[np.ndarray], rates: list[list[float]],
        seed: int) -> None:
    """In place: in each region, isolated bright and dark pixels up to a Poisson draw at its
    [bright, dark] rates (those already there count). Each is a drawn pixel inside a patch of its
    colour put back to the background's other colour: the pixel the drawing left unchanged, as
    almost all of the real ones are (their clean reference has them). Seeded by `seed` and the
    region's index."""
    was_bright = binary(background)
    for index, (region, (bright_rate, dark_rate)) in enumerate(zip(regions, rates, strict=True)):
        rng = np.random.default_rng([seed, index])
        area = int(region.sum())
        for rate, turns_bright in ((bright_rate, True), (dark_rate, False)):
            bright = binary(image)
            same = same_neighbours(bright)
            have = int((region & (same == 0) & (bright == turns_bright)).sum())
            want = int(rng.poisson(rate * area / PER_PX)) - have
            spots = np.flatnonzero(region & (same == 4) & (bright != turns_bright) & (was_bright == turns_bright))
            if want > 0:
                _put_back(image, background, spots, want, rng)


def _put_back(image: np.ndarray, background: np.ndarray, spots: np.ndarray, want: int,
              rng: np.random.Generator) -> None:
    """In place: up to `want` of the flat indices `spots`, in random order and none next to another
    (so each stays isolated), take the background's value."""
    width = image.shape[1]
    taken = np.zeros(image.shape[:2], bool)
    for spot in rng.permutation(spots):
        y, x = divmod(int(spot), width)
        if taken[y, x]:
            continue
        image[y, x] = background[y, x]
        taken[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = True
        want -= 1
        if not want:
            return
