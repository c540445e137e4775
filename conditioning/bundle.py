"""The conditioning bundle of one sample: background, placed defect masks, control images."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from conditioning.edges import edge_map
from conditioning.masks.real import RealExample
from conditioning.placement import PlacementError, place_defects
from conditioning.spec import DefectLibrary

FLAT_CONTRAST = 20.0
"""Below this grey-level gap between Otsu's two classes an image counts as all foreground."""


@dataclass
class DefectInstance:
    """One defect to draw: class, mask kind, bool HxW mask, severity 0 (faint/small) .. 1 (strong)."""

    class_name: str
    kind: str
    mask: np.ndarray
    severity: float


@dataclass
class ConditioningBundle:
    """Everything a generator needs for one sample; regenerable from (spec_hash, background, seed)."""

    background: np.ndarray
    instances: list[DefectInstance]
    edge_map: np.ndarray
    class_map: np.ndarray
    seed: int
    spec_hash: str


def build_bundle(
    library: DefectLibrary,
    background: np.ndarray,
    seed: int,
    *,
    foreground: np.ndarray | None = None,
    image_id: str = "image",
    edge_detector: str = "canny",
    edge_weights: str | Path | None = None,
    occupied: np.ndarray | None = None,
    real_sizes: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    real_examples: Mapping[str, Sequence[RealExample]] | None = None,
) -> ConditioningBundle:
    """Place the library's defects on `background` (HxWx3 uint8 RGB) under `seed`, away from
    the `occupied` pixels (a real image's own defects) when given; `real_sizes` (per class, its
    real defects' (w, h) boxes) size `learned` regions the spec does not size; `real_examples`
    (per class, its real defects' shapes) shape `real` defects.

    Raises PlacementError when the spec cannot be satisfied on this image."""
    # 1. the part's foreground (given, or guessed by Otsu)
    if foreground is None:
        fg = foreground_mask(background, library.foreground)
    else:
        fg = foreground.astype(bool)
    if fg.shape != background.shape[:2]:
        raise ValueError(f"foreground {fg.shape} does not match background {background.shape[:2]}")
    # 2. counts, anchors, shapes: one Generator, so the seed fixes everything
    placed = place_defects(library, fg, np.random.default_rng(seed), image_id=image_id, occupied=occupied,
                           real_sizes=real_sizes, real_examples=real_examples)
    instances = [DefectInstance(p.spec.class_name, p.spec.kind, p.mask, p.severity) for p in placed]
    # 3. control images
    return ConditioningBundle(
        background=background,
        instances=instances,
        edge_map=edge_map(background, edge_detector, weights_dir=edge_weights),
        class_map=class_map(library, instances, background.shape[:2]),
        seed=seed,
        spec_hash=library.content_hash,
    )


Background = TypeVar("Background")

PLACEMENT_TRIES = 5
"""Backgrounds tried in turn when the spec cannot be placed on one (PlacementError)."""


def bundle_on_backgrounds(
    library: DefectLibrary,
    backgrounds: Sequence[Background],
    start: int,
    seed: int,
    load: Callable[[Background], np.ndarray],
    *,
    seed_step: int = 0,
    image_id: str = "image",
    occupied: Callable[[Background], np.ndarray | None] | None = None,
    real_sizes: Mapping[str, Sequence[tuple[float, float]]] | None = None,  # as in build_bundle
    real_examples: Mapping[str, Sequence[RealExample]] | None = None,  # as in build_bundle
) -> tuple[Background, np.ndarray, ConditioningBundle]:
    """(background, its image, bundle) on backgrounds[start]; where the spec cannot be placed
    there (a short needs two copper regions close enough, say), on others spread over the list
    (a stride of len / PLACEMENT_TRIES: neighbours are often boards of one layout that fail
    alike), with seed + attempt * seed_step. `occupied(background)`: pixels new defects keep
    away from (its own defects). Raises the last PlacementError when none of PLACEMENT_TRIES
    backgrounds fits."""
    stride = max(1, len(backgrounds) // PLACEMENT_TRIES)
    for attempt in range(PLACEMENT_TRIES):
        background = backgrounds[(start + attempt * stride) % len(backgrounds)]
        image = load(background)
        try:
            taken = occupied(background) if occupied is not None else None
            bundle = build_bundle(library, image, seed + attempt * seed_step, image_id=image_id, occupied=taken,
                                  real_sizes=real_sizes, real_examples=real_examples)
        except PlacementError as error:
            last = error
            continue
        return background, image, bundle
    raise last


def class_map(
    library: DefectLibrary, instances: list[DefectInstance], shape: tuple[int, int]
) -> np.ndarray:
    """HxW uint8: 0 = no defect, i + 1 = library.classes[i] (later instances paint over earlier)."""
    out = np.zeros(shape, np.uint8)
    for instance in instances:
        out[instance.mask] = library.class_index(instance.class_name)
    return out


def foreground_mask(image: np.ndarray, polarity: str = "auto") -> np.ndarray:
    """Guess the part's foreground (bool HxW) from an Otsu threshold on grey: `dark` or `bright`
    takes that side, `auto` the smaller side (copper on a PCB, a part on its backdrop), `all`
    the whole image; an image without contrast is all foreground."""
    grey = (
        image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    )
    everything = np.ones(grey.shape, bool)
    _, binary = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = binary.astype(bool)
    if polarity == "all" or bright.all() or not bright.any():
        return everything
    if grey[bright].mean() - grey[~bright].mean() < FLAT_CONTRAST:
        return everything
    if polarity == "auto":
        return bright if bright.mean() <= 0.5 else ~bright
    return bright if polarity == "bright" else ~bright
