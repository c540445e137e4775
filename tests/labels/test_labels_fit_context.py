"""`placement.context` fitted on a planted line: boards whose holes sit deep in copper and whose
blobs sit on the substrate next to a trace, drawn in code with known margins and shares."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from conditioning.context import context_share
from conditioning.spec import DefectLibrary
from conditioning.spec_edit import edit_text
from pipeline.data.records import ImageRecord, InstanceRecord
from pipeline.labels.fit_context import context_changes

SPEC = """\
product: planted
classes: [pin-hole, copper]
foreground: dark
defects:
  - name: hole
    class: pin-hole
    kind: pin_hole
    placement: {surface: foreground}
  - name: blob
    class: copper
    kind: spurious_copper
    placement: {surface: background}
  - name: drawn-blob
    class: copper
    kind: learned
    placement: {surface: background}
"""


def _board(tmp_path: Path, index: int, rng) -> ImageRecord:
    """A 96 px board: copper (dark) left of x = 48; a hole 6 px across deep in the copper, its box
    4 px past the mask; a blob 6 px across whose 4 px window reaches `reach` px into the copper."""
    clean = np.full((96, 96), 255, np.uint8)
    clean[:, :48] = 0
    path = tmp_path / f"clean-{index}.png"
    cv2.imwrite(str(path), clean)
    hole = np.zeros((96, 96), bool)
    y = int(rng.integers(10, 80))
    hole[y : y + 6, 20:26] = True
    blob = np.zeros((96, 96), bool)
    reach = index % 5  # 0..4 px of the 14 px window on copper: shares 0 .. 4/14
    blob[y : y + 6, 48 + 4 - reach : 48 + 10 - reach] = True
    instances = [InstanceRecord("pin-hole", 1, (16, y - 4, 14, 14), hole),
                 InstanceRecord("copper", 2, (48 - reach, y - 4, 14, 14), blob)]
    return ImageRecord(path, path, 96, 96, instances)


def test_context_fit_reproduces_the_planted_margins_and_shares(tmp_path):
    rng = np.random.default_rng(0)
    records = [_board(tmp_path, i, rng) for i in range(20)]
    library = DefectLibrary.model_validate(yaml.safe_load(SPEC))
    changes = context_changes(library, records)
    hole, blob = changes[("defects", 0, "placement", "context")], changes[("defects", 1, "placement", "context")]
    assert hole == {"margin": 4.0, "foreground": [1.0, 1.0], "quantiles": [1.0] * 9}
    shares = [reach / 14 for reach in range(5)] * 4
    assert blob["margin"] == 4.0
    assert blob["foreground"] == [np.floor(np.quantile(shares, 0.1) * 100) / 100,
                                  np.ceil(np.quantile(shares, 0.9) * 100) / 100]
    assert 0 <= blob["foreground"][0] < blob["foreground"][1] <= 0.3
    # the deciles: 0, 1/14, ..., 4/14 a fifth each
    deciles = np.quantile(shares, np.arange(1, 10) / 10)
    assert np.allclose(blob["quantiles"], deciles, atol=0.006)
    assert blob["quantiles"] == sorted(blob["quantiles"]) and len(set(blob["quantiles"])) >= 4
    # a learned region is already box-sized: its window is the region itself
    assert changes[("defects", 2, "placement", "context")] == {"margin": 0.0, **{k: blob[k] for k in ("foreground", "quantiles")}}
    # the edit lands in the spec's flow mappings and validates
    fitted = edit_text(SPEC, changes)
    assert ("placement: {surface: foreground, context: {margin: 4, foreground: [1, 1], "
            "quantiles: [1, 1, 1, 1, 1, 1, 1, 1, 1]}}") in fitted
    copper = cv2.imread(str(records[3].clean_path), cv2.IMREAD_GRAYSCALE) < 128
    assert context_share(records[3].instances[1].mask, copper, 4) == 3 / 14


def test_no_context_without_a_part_split(tmp_path):
    rng = np.random.default_rng(0)
    records = [_board(tmp_path, i, rng) for i in range(5)]
    library = DefectLibrary.model_validate(yaml.safe_load(SPEC.replace("foreground: dark", "foreground: all")))
    assert context_changes(library, records) == {}

