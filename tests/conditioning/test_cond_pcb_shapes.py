"""The PCB kinds' shape params beyond size: capsule pin-holes and copper strokes, slanted, frayed
and specked opens, bowed shorts, tapered spurs, frayed and specked mousebites; each off by default
(the older masks, pixel for pixel)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conditioning.masks import KINDS, Canvas
from conditioning.spec import ShapeParams
from pipeline.labels.measure import elongation


def build(kind: str, fg: np.ndarray, anchor: tuple[int, int], seed: int, **params) -> np.ndarray:
    values = {name: low for name, (low, _) in KINDS[kind].params.items()} | params
    return KINDS[kind].build(Canvas(anchor, fg), values, np.random.default_rng(seed))


def components(mask: np.ndarray) -> int:
    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] - 1


def test_pin_hole_lobes_merge_into_one_longer_hole_of_the_same_area():
    fg = np.ones((96, 96), bool)
    round_ = build("pin_hole", fg, (48, 48), 0, radius=8.0)
    for lobes in (2, 3):
        holes = [build("pin_hole", fg, (48, 48), seed, radius=8.0, lobes=lobes) for seed in range(12)]
        assert all(components(hole) == 1 for hole in holes)
        assert all(0.7 < hole.sum() / round_.sum() < 1.3 for hole in holes)
        assert np.median([elongation(hole) for hole in holes]) > 1.3 > elongation(round_)
    straight = [elongation(build("pin_hole", fg, (48, 48), s, radius=8.0, lobes=3)) for s in range(12)]
    bent = [elongation(build("pin_hole", fg, (48, 48), s, radius=8.0, lobes=3, curvature=1.0))
            for s in range(12)]
    assert np.mean(bent) < np.mean(straight)


def thickness(mask: np.ndarray) -> float:
    """Twice the largest inscribed radius."""
    return 2 * float(cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3).max())


def test_spurious_copper_lobes_draw_one_thinner_stroke_of_about_the_same_area():
    fg = np.zeros((96, 96), bool)
    fg[:, :8] = True
    blobs = [build("spurious_copper", fg, (48, 48), s, radius=8.0) for s in range(12)]
    strokes = [build("spurious_copper", fg, (48, 48), s, radius=8.0, lobes=5, curvature=0.6)
               for s in range(12)]
    assert all(components(stroke) == 1 and not (stroke & fg).any() for stroke in strokes)
    assert 0.7 < np.mean([m.sum() for m in strokes]) / np.mean([m.sum() for m in blobs]) < 1.3
    assert np.median([thickness(m) for m in strokes]) < 0.7 * np.median([thickness(m) for m in blobs])
    assert np.median([elongation(m) for m in strokes]) > np.median([elongation(m) for m in blobs])


def test_open_speckle_leaves_copper_specks_in_the_cut_and_still_breaks_the_trace():
    fg = np.zeros((96, 96), bool)
    fg[:, 40:60] = True  # one trace, 20 px wide
    anchor = (48, 50)
    whole = build("open", fg, anchor, 0, gap=10.0)
    specked = [build("open", fg, anchor, 0, gap=10.0, speckle=0.15) for _ in range(2)]
    assert np.array_equal(specked[0], specked[1])  # the seed decides the specks
    cut = specked[0]
    assert not (cut & ~whole).any()
    assert abs(cut.sum() / whole.sum() - 0.85) < 0.03
    assert components(whole & ~cut) >= 3
    assert components(fg & ~cut) > components(fg)


def test_open_slant_turns_the_cut_and_still_breaks_the_trace(traces):
    fg = traces()
    anchor = (64, 10)  # on the second of the 8 px wide vertical traces
    square = build("open", fg, anchor, 0, gap=3.0)
    rows = np.nonzero(square.any(axis=1))[0]
    assert rows.max() - rows.min() + 1 <= 5  # a square cut spans the gap (and its outline) only
    spans = []
    for seed in range(10):
        cut = build("open", fg, anchor, seed, gap=3.0, slant=1.0, roughness=0.4)
        assert not (cut & ~fg).any()
        assert components(fg & ~cut) > components(fg)
        rows = np.nonzero(cut.any(axis=1))[0]
        spans.append(rows.max() - rows.min() + 1)
    assert max(spans) >= 8  # some cuts run diagonally across the trace


def test_short_curvature_bows_the_bridge_and_it_still_joins_both_sides():
    fg = np.zeros((96, 96), bool)
    fg[:, :20] = fg[:, 70:] = True
    straight = build("short", fg, (48, 45), 0, length=60.0, width=3.0)
    bowed = build("short", fg, (48, 45), 0, length=60.0, width=3.0, curvature=0.5)
    for bridge in (straight, bowed):
        assert components(fg | bridge) == 1
    near_straight = cv2.dilate(straight.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert (bowed & ~near_straight).sum() > 20


def test_spur_taper_narrows_from_base_to_tip_at_about_the_same_area():
    fg = np.zeros((64, 64), bool)
    fg[:, :32] = True  # copper on the left: a spur grows right from the edge at column 32
    anchor = (32, 32)
    bar = build("spur", fg, anchor, 0, length=16.0, width=6.0)
    thorn = build("spur", fg, anchor, 0, length=16.0, width=6.0, taper=0.9)
    assert not (thorn & fg).any()
    heights = thorn.sum(axis=0)[32:48]
    assert heights[:3].mean() > 2 * heights[-4:].mean()
    assert 0.6 < thorn.sum() / bar.sum() < 1.4


def test_mousebite_roughness_frays_the_bites():
    fg = np.zeros((64, 64), bool)
    fg[:, :32] = True
    round_ = build("mousebite", fg, (32, 31), 0, radius=6.0, bites=1)
    frayed = [build("mousebite", fg, (32, 31), s, radius=6.0, bites=1, roughness=0.6) for s in range(6)]
    assert all(not (bite & ~fg).any() and bite.any() for bite in frayed)
    assert all(not np.array_equal(bite, round_) for bite in frayed)


def test_mousebite_speckle_leaves_about_that_share_of_the_bite_as_copper_in_specks():
    fg = np.zeros((64, 64), bool)
    fg[:, :32] = True
    whole = build("mousebite", fg, (32, 31), 0, radius=10.0, bites=1)
    for share in (0.2, 0.4):
        specked = [build("mousebite", fg, (32, 31), s, radius=10.0, bites=1, speckle=share)
                   for s in range(6)]
        assert all(not (bite & ~whole).any() for bite in specked)
        kept = [bite.sum() / whole.sum() for bite in specked]
        assert all(abs(k - (1 - share)) < 0.03 for k in kept)
        holes = [components(whole & ~bite) for bite in specked]
        assert min(holes) >= 3  # specks, not one slice taken off


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("slant", [0, 1.5], "0..1"), ("speckle", [0.2, 1.2], "0..1"), ("taper", [-0.1, 0.5], "0..1"), ("lobes", [1, 99], "at most 64")],
)
def test_shape_params_out_of_range_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        ShapeParams.model_validate({field: value})
