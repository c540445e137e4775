"""`conditioning.spec_edit.edit_text`: numbers change in place, everything else stays."""

from __future__ import annotations

import pytest

from conditioning.spec_edit import edit_text, number
from conditioning.spec_errors import validate_text

SPEC = """\
# yaml-language-server: $schema=../defect-spec.schema.json
# A hand-written comment that must survive.
product: pcb
classes: [open, pin-hole]
max_per_image: 4   # at most four

defects:
  - name: cut
    class: open
    kind: open
    shape:
      gap: {min: 2, max: 9, dist: normal}   # px along the trace
    placement: {surface: foreground}
    count: [0, 2]

  - name: hole
    class: pin-hole
    kind: pin_hole
    shape:
      radius: [1.5, 3]
    count: 1
    prompt: a round hole
"""


def test_values_change_in_place_and_comments_survive(tmp_path):
    text = edit_text(SPEC, {
        ("max_per_image",): 7,
        ("defects", 0, "shape", "gap"): {"min": 3.25, "max": 12},
        ("defects", 0, "count"): [1, 3],
        ("defects", 1, "shape", "radius"): [4.5, 9],
        ("defects", 1, "count"): [0, 2],
    })
    library = validate_text(text, tmp_path / "defects.yaml")
    assert library.max_per_image == 7
    gap = library.defects[0].shape.gap
    assert (gap.min, gap.max, gap.dist) == (3.2, 12, "normal")  # rounded as written; dist kept
    assert (library.defects[0].count.min, library.defects[0].count.max) == (1, 3)
    assert (library.defects[1].shape.radius.min, library.defects[1].shape.radius.max) == (4.5, 9)
    assert "max_per_image: 7   # at most four" in text
    assert "gap: {min: 3.2, max: 12, dist: normal}   # px along the trace" in text
    assert "count: [0, 2]\n    prompt: a round hole" in text  # scalar replaced by a flow list
    for line in SPEC.splitlines():
        if line.lstrip().startswith("#") or "prompt" in line or "name:" in line:
            assert line in text.splitlines()


def test_missing_keys_are_added_in_the_mapping_style(tmp_path):
    text = edit_text(SPEC, {
        ("defects", 1, "shape", "aspect"): [1.2, 2.4],           # block mapping: a new line
        ("defects", 0, "placement", "border"): 8,                 # flow mapping: inside braces
        ("defects", 1, "placement", "surface"): "foreground",     # missing parent: created
        ("min_per_image",): 2,                                    # top level
    })
    library = validate_text(text, tmp_path / "defects.yaml")
    hole = library.defects[1]
    assert (hole.shape.aspect.min, hole.shape.aspect.max) == (1.2, 2.4)
    assert hole.placement.surface == "foreground" and library.min_per_image == 2
    assert library.defects[0].placement.border == 8
    assert "      radius: [1.5, 3]\n      aspect: [1.2, 2.4]\n" in text
    assert "placement: {surface: foreground, border: 8}" in text


def test_a_block_replaced_by_another_type_is_refused():
    with pytest.raises(ValueError, match="cannot replace the block"):
        edit_text(SPEC, {("defects", 0, "shape"): 3})


def test_numbers_read_like_hand_written_ones():
    assert [number(v) for v in (3.0, 12.345, 6.06, 0.3456, 2.96)] == ["3", "12.3", "6.1", "0.35", "3"]
