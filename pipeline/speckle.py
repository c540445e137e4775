"""Scan speckle at defect edges: the isolated pixels and one-pixel tips a binarised scan shows
around its real defects.

An isolated pixel is one whose four neighbours all have the other colour; a tip has exactly one
neighbour of its colour (a one-pixel spike or sliver end). DeepPCB's real opens and mousebites show
about six isolated pixels and 30-46 tips per 1,000 px next to their masks; the generator draws
smooth shapes with few of either, which a realism classifier picks up (README, "Edge speckle").
`measure` counts both, per class and colour, in the region around each real mask of the training
examples (the model card's `edge_speckle`); `add` gives each rendered defect's region as many by
flipping single pixels: back to the background, or to the colour the class draws (almost every
real isolated pixel is one the defect left as its clean reference has it).
"""

from __future__ import annotations

import numpy as np

from pipeline.crop_sets import Example
from pipeline.crops import dilate

PER_PX = 1000
"""Rates are pixels per this many pixels of region."""
KINDS = {"isolated": 0, "tips": 1}
"""The speckle counted, by how many of a pixel's four neighbours share its colour."""
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


def measure(examples: list[Example], classes: list[str]) -> dict[str, dict[str, list[float]]]:
    """Per class and kind (KINDS), [bright, dark] pixels per PER_PX px of each real mask grown by
    NEAR_PX (binarised images); classes without a real instance get zeros."""
    counts = {name: np.zeros((len(KINDS), 2)) for name in classes}
    areas = dict.fromkeys(classes, 0)
    for example in examples:
        bright = binary(example.image)
        same = same_neighbours(bright)
        for class_id, mask in example.instances:
            zone, name = dilate(mask, NEAR_PX), classes[class_id - 1]
            areas[name] += int(zone.sum())
            for row, agreeing in enumerate(KINDS.values()):
                kind = zone & (same == agreeing)
                counts[name][row] += ((kind & bright).sum(), (kind & ~bright).sum())
    return {name: {kind: [round(PER_PX * float(n) / areas[name], 3) if areas[name] else 0.0 for n in row]
                   for kind, row in zip(KINDS, counts[name], strict=True)} for name in classes}


def add(image: np.ndarray, background: np.ndarray, regions: list[np.ndarray],
        rates: list[dict[str, list[float]]], directions: list[int], seed: int) -> None:
    """In place (HxWx3 images): in each region, per kind (tips, then isolated pixels) and colour, as many as a
    Poisson draw at its rates (those already there count). Each is one pixel flipped to that colour
    where it then has the kind's number of agreeing neighbours, and only where the flip puts the
    background's value back or goes the region's direction (+1 brighter, -1 darker, 0 either), so
    a one-way region stays one-way. Seeded by `seed` and the region's index."""
    was_bright = binary(background)
    for index, (region, rate, direction) in enumerate(zip(regions, rates, directions, strict=True)):
        rng = np.random.default_rng([seed, index])
        area = int(region.sum())
        for kind in sorted(rate, key=lambda k: -KINDS[k]):
            for to_bright, per_px in zip((True, False), rate[kind], strict=True):
                bright = binary(image)
                same = same_neighbours(bright)
                have = int((region & (same == KINDS[kind]) & (bright == to_bright)).sum())
                want = int(rng.poisson(per_px * area / PER_PX)) - have
                allowed = (was_bright == to_bright) | (direction in (0, 1 if to_bright else -1))
                # a pixel of the other colour with exactly KINDS[kind] neighbours of this colour
                spots = np.flatnonzero(region & allowed & (bright != to_bright) & (same == 4 - KINDS[kind]))
                if want > 0:
                    _flip(image, spots, want, rng, background, was_bright, to_bright)


def _flip(image: np.ndarray, spots: np.ndarray, want: int, rng: np.random.Generator, background: np.ndarray,
          was_bright: np.ndarray, to_bright: bool) -> None:
    """In place: up to `want` of the flat indices `spots`, in random order and none next to another
    (so each keeps its neighbours), turned to the colour `to_bright`: the background's value where
    that is its colour, else the image's brightest or darkest colour."""
    width = image.shape[1]
    pixels = image.reshape(-1, image.shape[-1])
    grey = pixels.mean(axis=-1)
    colour = pixels[grey.argmax() if to_bright else grey.argmin()].copy()
    taken = np.zeros(image.shape[:2], bool)
    for spot in rng.permutation(spots):
        y, x = divmod(int(spot), width)
        if taken[y, x]:
            continue
        image[y, x] = background[y, x] if was_bright[y, x] == to_bright else colour
        taken[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = True
        want -= 1
        if not want:
            return
