"""Spec round trips: model -> JSON Schema -> validate; spec -> dump -> load gives the same hash."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from conditioning.spec import IntRange, Range, dump_library, library_json_schema, load_library

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "datasets" / "defect-spec.schema.json"
FULL = """
product: pcb
classes: [open, short, scratch]
regions:
  board: {polygon: [[0.05, 0.05], [0.95, 0.05], [0.95, 0.95], [0.05, 0.95]]}
  fiducial: {polygon: [[0, 0], [20, 0], [20, 20]], units: pixel}
min_distance: 6
max_per_image: 4
defects:
  - name: trace-open
    class: open
    kind: open
    shape: {gap: {min: 2, max: 6, dist: normal}}
    severity:
      light: {weight: 1, size: 0.7, contrast: 0.3}
      strong: {weight: 2, size: 1.3, contrast: 0.9}
    placement: {surface: foreground, regions: [board], keep_out: [fiducial]}
    count: [0, 2]
    prompt: a broken copper trace
  - name: bridge
    class: short
    kind: short
    shape: {length: [4, 20], width: 2}
    placement: {context: {margin: 6, foreground: [0.2, 0.6]}}
  - name: scuff
    class: scratch
    kind: scratch
    shape: {length: [10, 30], curvature: [0, 0.4]}
    placement: {surface: any, edge_band: 3, min_distance: 10}
"""


def test_dump_then_load_keeps_the_hash(write_spec, tmp_path):
    library = load_library(write_spec(FULL))
    again = load_library(write_spec(dump_library(library).split("\n", 1)[1], name="again.yaml"))
    assert again == library
    assert again.content_hash == library.content_hash and len(library.content_hash) == 16
    assert library.defects[0].class_name == "open"


def test_hash_changes_with_content(write_spec):
    one = load_library(write_spec(FULL))
    two = load_library(
        write_spec(FULL.replace("min_distance: 6", "min_distance: 7"), name="b.yaml")
    )
    assert one.content_hash != two.content_hash


def test_schema_validates_specs_and_matches_the_committed_file(write_spec):
    schema = library_json_schema()
    data = yaml.safe_load(FULL)
    jsonschema.validate(data, schema)
    data["defects"][0]["sevrity"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    assert json.loads(SCHEMA_FILE.read_text()) == schema, (
        "run `defectforge spec schema > datasets/defect-spec.schema.json`"
    )


def test_shipped_specs_carry_the_modeline_and_load():
    for path in sorted(SCHEMA_FILE.parent.glob("*/defects*.yaml")):  # the alternative specs too
        assert path.read_text().startswith(
            "# yaml-language-server: $schema=../defect-spec.schema.json"
        )
        load_library(path)


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6))
@example(0.0, -0.0)  # equal bounds with opposite signs of zero: one value, not numpy's "high < low"
def test_range_accepts_ordered_pairs_only(a, b):
    if a <= b:
        value = Range.model_validate([a, b]).sample(np.random.default_rng(0))
        assert a <= value <= b
    else:
        with pytest.raises(ValidationError, match="inconsistent range"):
            Range.model_validate([a, b])


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 2**32 - 1))
def test_int_range_samples_whole_numbers_inside(a, b, seed):
    lo, hi = sorted((a, b))
    for dist in ("uniform", "normal"):
        value = IntRange.model_validate({"min": lo, "max": hi, "dist": dist}).sample(
            np.random.default_rng(seed)
        )
        assert isinstance(value, int) and lo <= value <= hi


def test_context_share_outside_zero_to_one_says_it_is_a_share():
    from conditioning.spec import Context

    assert Context.model_validate({"foreground": [0, 1]}).margin == 10
    with pytest.raises(ValidationError, match=r"`foreground` is a share: give \[min, max\] within 0..1 \(got \[0.5, 2\]\)"):
        Context.model_validate({"margin": 4, "foreground": [0.5, 2]})
