"""Placement: counts, spacing, and failure messages that name the defect, image and constraint."""

from __future__ import annotations

import numpy as np
import pytest

from conditioning.placement import MAX_TRIES, PlacementError, place_defects, plan_instances
from conditioning.spec import DefectLibrary


def library(**overrides) -> DefectLibrary:
    defect = {"name": "hole", "class": "pin-hole", "kind": "pin_hole", "count": 1}
    defect.update(overrides.pop("defect", {}))
    data = {"product": "pcb", "classes": ["pin-hole"], "defects": [defect]}
    data.update(overrides)
    return DefectLibrary.model_validate(data)


def place(lib: DefectLibrary, fg: np.ndarray, seed: int = 0):
    return place_defects(lib, fg, np.random.default_rng(seed), image_id="board-7.png")


def test_no_foreground_names_surface_and_fix():
    with pytest.raises(PlacementError) as caught:
        place(library(), np.zeros((64, 64), bool))
    text = str(caught.value)
    assert "defect `hole` (kind pin_hole, instance 1 of 1) on image `board-7.png`" in text
    assert "no anchor pixel left after `surface: foreground`" in text
    assert "set `placement.surface: any`" in text


def test_keep_out_covering_the_region(traces):
    regions = {"all": {"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}}
    lib = library(regions=regions, defect={"placement": {"keep_out": ["all"]}})
    with pytest.raises(
        PlacementError,
        match=r"after `regions \(whole image\) minus keep_out \['all'\]`.*shrink `placement.keep_out`",
    ):
        place(lib, traces())


def test_spacing_too_large_for_the_count(traces):
    lib = library(min_distance=200, defect={"count": 3})
    with pytest.raises(PlacementError) as caught:
        place(lib, traces())
    text = str(caught.value)
    assert "instance 2 of 3" in text and "min_distance 200 px" in text
    assert "lower `min_distance`" in text


def test_kind_anchor_rule_names_the_shape_to_raise():
    fg = np.zeros((64, 64), bool)
    fg[:, :20] = True  # one copper region: a short has nothing to bridge
    lib = library(classes=["short"], defect={"name": "bridge", "class": "short", "kind": "short"})
    with pytest.raises(PlacementError) as caught:
        place(lib, fg)
    text = str(caught.value)
    assert (
        "no anchor pixel left after `kind short: substrate midway between two separate copper regions"
        in text
    )
    assert "raise the shape size the rule names" in text


def test_shapes_that_never_fit_stop_after_bounded_tries():
    fg = np.ones((48, 48), bool)
    lib = library(min_distance=4, defect={"kind": "pit", "count": 2, "shape": {"radius": 20}})
    with pytest.raises(
        PlacementError,
        match=f"instance 2 of 2.*tried {MAX_TRIES} anchors.*{MAX_TRIES} came closer than 4 px",
    ):
        place(lib, fg)


def test_edge_band_and_spacing_are_honoured(traces):
    import cv2

    fg = traces()
    lib = library(
        min_distance=5, defect={"kind": "particle", "count": 4, "placement": {"edge_band": 1}}
    )
    placed = place(lib, fg, seed=3)
    assert len(placed) == 4
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            distance = cv2.distanceTransform((~a.mask).astype(np.uint8), cv2.DIST_L2, 3)
            assert distance[b.mask].min() >= 5


def test_plan_tops_up_and_caps():
    lib = library(min_per_image=2, defect={"count": [0, 0]})
    assert plan_instances(lib, np.random.default_rng(0)) == []  # nothing may be drawn
    lib = library(min_per_image=2, max_per_image=3, defect={"count": [0, 9]})
    for seed in range(20):
        assert 2 <= len(plan_instances(lib, np.random.default_rng(seed))) <= 3


def test_occupied_pixels_are_kept_min_distance_away():
    import cv2

    occupied = np.zeros((64, 64), bool)
    occupied[:, 20:44] = True  # a real defect image's own defects cover the middle
    lib = library(min_distance=4, defect={"kind": "pit", "count": 3, "placement": {"surface": "any"}})
    for seed in range(5):
        placed = place_defects(lib, np.ones((64, 64), bool), np.random.default_rng(seed), occupied=occupied)
        distance = cv2.distanceTransform((~occupied).astype(np.uint8), cv2.DIST_L2, 3)
        assert placed and all(distance[p.mask].min() >= 4 for p in placed)


def test_context_keeps_the_foreground_share_around_each_defect_in_range():
    from conditioning.context import context_share

    fg = np.zeros((96, 96), bool)
    fg[:, 16:56] = True  # a copper stripe: holes near its edges see the substrate
    deep = {"kind": "pin_hole", "count": 3, "shape": {"radius": 3},
            "placement": {"context": {"margin": 4, "foreground": [1, 1]}}}
    shares, unconstrained = [], []
    for seed in range(6):
        shares += [context_share(p.mask, fg, 4) for p in place(library(min_distance=2, defect=deep), fg, seed)]
        free = {**deep, "placement": {}}
        unconstrained += [context_share(p.mask, fg, 4) for p in place(library(min_distance=2, defect=free), fg, seed)]
    assert len(shares) == 18 and all(s == 1.0 for s in shares)
    assert min(unconstrained) < 1.0  # without it, some holes sit near the copper's edge


def test_context_quantiles_make_the_placed_shares_follow_them():
    from conditioning.context import context_share

    fg = np.zeros((96, 96), bool)
    fg[:, 16:36] = True  # a 20 px stripe: few 15 px windows lie wholly in it
    context = {"margin": 4, "foreground": [0.5, 1]}
    shares = {}
    for name, extra in (("range", {}), ("quantiles", {"quantiles": [0.5, 0.9, 1, 1, 1]})):
        defect = {"kind": "pin_hole", "count": 2, "shape": {"radius": 3},
                  "placement": {"context": {**context, **extra}}}
        shares[name] = np.array([context_share(p.mask, fg, 4) for seed in range(30)
                                 for p in place(library(min_distance=2, defect=defect), fg, seed)])
    for values in shares.values():
        assert len(values) == 60 and values.min() >= 0.5
    # bands [0.5, 0.9), [0.9, 1), [1, 1], [1, 1]: half the holes wholly in copper, a quarter below 0.9
    whole = (shares["quantiles"] == 1).mean()
    assert 0.35 <= whole <= 0.65 and whole > (shares["range"] == 1).mean() + 0.15
    assert 0.1 <= (shares["quantiles"] <= 0.9).mean() <= 0.4


def test_context_quantiles_out_of_order_or_range_are_refused():
    from pydantic import ValidationError

    for bad in ([0.9, 0.5], [0.2, 0.9], [0.7]):
        with pytest.raises(ValidationError, match="quantiles"):
            library(defect={"placement": {"context": {"foreground": [0.5, 1], "quantiles": bad}}})


def test_context_that_no_anchor_meets_names_the_range_and_fix():
    fg = np.zeros((64, 64), bool)
    fg[:, 20:44] = True  # a 24 px copper stripe: every 30 px window reaches the substrate
    lib = library(defect={"placement": {"context": {"margin": 30, "foreground": [0.95, 1]}}})
    with pytest.raises(PlacementError) as caught:
        place(lib, fg)
    text = str(caught.value)
    assert f"{MAX_TRIES} had a foreground share outside `placement.context` ([0.95, 1] within 30 px)" in text
    assert "`placement.context.foreground`" in text


def _share_on_wide_trace(pick: str) -> float:
    fg = np.zeros((160, 160), bool)
    fg[30:36, 20:140] = True  # a 6 px trace
    fg[100:120, 20:140] = True  # a 20 px trace as long
    defect = {"name": "cut", "class": "open", "kind": "open", "placement": {"pick": pick}}
    lib = library(classes=["open"], defect=defect)
    return float(np.mean([place(lib, fg, seed)[0].mask[100:120].any() for seed in range(200)]))


def test_pick_trace_cuts_a_trace_in_proportion_to_its_length_not_its_area():
    assert 0.35 <= _share_on_wide_trace("trace") <= 0.65


def test_pick_pixel_by_default_cuts_a_trace_in_proportion_to_its_area():
    assert library(classes=["open"], defect={"class": "open", "kind": "open"}).defects[0].placement.pick == "pixel"
    assert 0.68 <= _share_on_wide_trace("pixel") <= 0.86  # 20 / (20 + 6) = 0.77


def test_pick_trace_on_an_image_that_is_all_one_surface_still_places():
    defect = {"count": 1, "placement": {"surface": "any", "pick": "trace"}}
    (one,) = place(library(defect=defect), np.ones((64, 64), bool))
    assert one.mask.any()
