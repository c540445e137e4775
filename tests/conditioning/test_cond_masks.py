"""Every mask kind: non-empty, inside its region, outside keep-out zones, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from conditioning.masks import KINDS, Canvas
from conditioning.masks.real import REAL
from conditioning.placement import place_defects, region_mask
from conditioning.spec import DefectLibrary

REGION = [[0.0, 0.0], [0.75, 0.0], [0.75, 1.0], [0.0, 1.0]]
KEEP_OUT = [[0.0, 0.4], [1.0, 0.4], [1.0, 0.6], [0.0, 0.6]]


def library_for(kind: str) -> DefectLibrary:
    return DefectLibrary.model_validate(
        {
            "product": "test",
            "classes": ["defect"],
            "regions": {"left": {"polygon": REGION}, "band": {"polygon": KEEP_OUT}},
            "defects": [
                {
                    "name": kind,
                    "class": "defect",
                    "kind": kind,
                    "placement": {"regions": ["left"], "keep_out": ["band"]},
                    "count": 3,
                }
            ],
        }
    )


def masks(kind: str, seed: int, fg: np.ndarray) -> list[np.ndarray]:
    placed = place_defects(library_for(kind), fg, np.random.default_rng(seed))
    return [p.mask for p in placed]


DRAWN_KINDS = sorted(set(KINDS) - {REAL})
"""The kinds that draw from params alone (`real` takes real examples: test_cond_real.py)."""


@pytest.mark.parametrize("kind", DRAWN_KINDS)
def test_kind_is_placed_inside_its_region_and_seeded(kind, traces):
    fg = traces()
    library = library_for(kind)
    inside = region_mask(library, "left", (128, 128))
    keep_out = region_mask(library, "band", (128, 128))
    first = masks(kind, 1, fg)
    assert len(first) == 3
    for mask in first:
        assert mask.dtype == bool and mask.shape == (128, 128)
        assert mask.sum() >= 2
        assert not (mask & ~inside).any()
        assert not (mask & keep_out).any()
    assert all(np.array_equal(a, b) for a, b in zip(first, masks(kind, 1, fg), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, masks(kind, 2, fg), strict=True))


@pytest.mark.parametrize("kind", DRAWN_KINDS)
def test_builder_alone_draws_near_its_anchor(kind, traces):
    fg = traces()
    anchors = {"foreground": (60, 10), "background": (60, 17), "edge": (60, 14), "any": (60, 10)}
    anchor = anchors[KINDS[kind].surface]
    params = {name: (lo + hi) / 2 for name, (lo, hi) in KINDS[kind].params.items()}
    mask = KINDS[kind].build(Canvas(anchor, fg), params, np.random.default_rng(0))
    assert mask.any()
    ys, xs = np.nonzero(mask)
    assert np.hypot(ys - anchor[0], xs - anchor[1]).min() <= 3


def test_pcb_kinds_respect_copper(traces):
    fg = traces()
    for kind, on_copper in [
        ("open", True),
        ("mousebite", True),
        ("pin_hole", True),
        ("spur", False),
        ("spurious_copper", False),
    ]:
        for mask in masks(kind, 3, fg):
            assert (mask & fg).any() if on_copper else not (mask & fg).any(), kind
            assert not (mask & ~fg).any() if on_copper else True, kind


def test_open_cuts_the_trace_and_short_joins_two(traces):
    import cv2

    fg = traces()
    for mask in masks("open", 4, fg):
        cut = fg & ~mask
        before = cv2.connectedComponents(fg.astype(np.uint8))[0]
        assert cv2.connectedComponents(cut.astype(np.uint8))[0] > before
    for mask in masks("short", 4, fg):
        joined = fg | mask
        before = cv2.connectedComponents(fg.astype(np.uint8))[0]
        assert cv2.connectedComponents(joined.astype(np.uint8))[0] < before


def test_crack_branches_add_pixels(traces):
    fg = traces()
    canvas = Canvas((64, 64), fg)
    base = {"length": 40, "width": 1, "roughness": 0.3}
    plain = KINDS["crack"].build(canvas, {**base, "branches": 0}, np.random.default_rng(5))
    branched = KINDS["crack"].build(canvas, {**base, "branches": 3}, np.random.default_rng(5))
    assert branched.sum() > plain.sum() and (plain & ~branched).sum() == 0


@pytest.mark.parametrize("kind", ["pin_hole", "spurious_copper"])
def test_aspect_draws_an_oval_of_the_same_area(kind):
    from pipeline.labels.measure import elongation

    on_copper = kind == "pin_hole"
    fg = np.full((96, 96), on_copper)
    canvas = Canvas((48, 48), fg)
    base = {name: low for name, (low, _) in KINDS[kind].params.items()} | {"radius": 8.0,
                                                                          "roughness": 0.0}
    round_ = KINDS[kind].build(canvas, {**base, "aspect": 1.0}, np.random.default_rng(3))
    oval = KINDS[kind].build(canvas, {**base, "aspect": 2.5}, np.random.default_rng(3))
    assert elongation(round_) < 1.2
    assert 2.0 < elongation(oval) < 3.0
    assert 0.8 < oval.sum() / round_.sum() < 1.25
