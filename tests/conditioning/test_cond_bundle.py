"""The conditioning bundle: instances, class map, edge map, seed and spec hash travel together."""

from __future__ import annotations

import numpy as np

from conditioning.bundle import build_bundle, foreground_mask
from conditioning.spec import DefectLibrary

SPEC = {
    "product": "pcb",
    "classes": ["open", "spur", "copper"],
    "defects": [
        {
            "name": "open",
            "class": "open",
            "kind": "open",
            "count": 1,
            "severity": {"strong": {"contrast": 0.9, "size": 1.2}},
        },
        {"name": "spur", "class": "spur", "kind": "spur", "count": [1, 2]},
        {"name": "copper", "class": "copper", "kind": "spurious_copper", "count": 1},
    ],
}


def test_bundle_is_consistent_and_seeded(traces, board):
    fg = traces(96, 120)
    image = board(fg)
    library = DefectLibrary.model_validate(SPEC)
    bundle = build_bundle(library, image, seed=11)
    assert bundle.seed == 11 and bundle.spec_hash == library.content_hash
    assert bundle.background is image and bundle.edge_map.shape == fg.shape
    assert bundle.class_map.dtype == np.uint8 and bundle.class_map.shape == fg.shape
    names = [i.class_name for i in bundle.instances]
    assert names[0] == "open" and names[-1] == "copper" and 3 <= len(names) <= 4
    for instance in bundle.instances:
        assert instance.mask.shape == fg.shape and instance.mask.any()
        assert (bundle.class_map[instance.mask] == library.class_index(instance.class_name)).all()
        assert 0 <= instance.severity <= 1
    assert bundle.instances[0].severity == 0.9
    assert (bundle.class_map > 0).sum() == sum(int(i.mask.sum()) for i in bundle.instances)
    again = build_bundle(library, image, seed=11, foreground=fg)
    assert all(
        np.array_equal(a.mask, b.mask)
        for a, b in zip(bundle.instances, again.instances, strict=True)
    )
    other = build_bundle(library, image, seed=12)
    assert not np.array_equal(other.class_map, bundle.class_map)


def test_foreground_guess(traces, board):
    fg = traces(64, 64)
    assert np.array_equal(foreground_mask(board(fg)), fg)  # copper is the minority side
    assert np.array_equal(
        foreground_mask(board(~fg)), fg
    )  # the minority side, whichever is brighter
    assert foreground_mask(np.full((8, 8, 3), 90, np.uint8)).all()  # flat: all part
    assert np.array_equal(foreground_mask(board(~fg), "dark"), fg)
    assert np.array_equal(foreground_mask(board(~fg), "bright"), ~fg)
    assert foreground_mask(board(fg), "all").all()


def test_library_foreground_setting_is_used(traces, board):
    fg = traces(64, 64)
    dark_copper = 255 - board(fg)  # copper is now the dark side
    for polarity, copper in (("dark", fg), ("bright", ~fg)):
        library = DefectLibrary.model_validate({**SPEC, "foreground": polarity})
        opens = [
            i.mask for i in build_bundle(library, dark_copper, seed=0).instances if i.kind == "open"
        ]
        assert opens and all(not (mask & ~copper).any() for mask in opens)


def test_a_spec_that_misfits_a_run_of_neighbours_falls_back_to_boards_further_away(traces, board):
    """Neighbouring backgrounds are often one layout; where six in a row cannot take a short
    (one copper region, nothing to bridge), the tries spread over the list and find a board
    with traces four places further on."""
    from conditioning.bundle import bundle_on_backgrounds

    solid = np.zeros((64, 64), bool)
    solid[:, :20] = True
    backgrounds = [board(solid)] * 6 + [board(traces(64, 64))] * 4
    library = DefectLibrary.model_validate({
        "product": "pcb", "classes": ["short"],
        "defects": [{"name": "bridge", "class": "short", "kind": "short", "count": 1}]})
    chosen, _, bundle = bundle_on_backgrounds(library, list(range(10)), 0, 0,
                                              lambda i: backgrounds[i], seed_step=1)
    assert chosen == 6 and len(bundle.instances) == 1
