"""Bad specs: every problem is reported with its line, column, field path and a fix."""

from __future__ import annotations

import pytest

from conditioning.errors import DefectforgeError
from conditioning.spec import check_classes, load_library
from conditioning.spec_errors import SpecError

GOOD = """
product: pcb
classes: [open, short]
defects:
  - name: trace-open
    class: open
    kind: open
    shape: {gap: [2, 5]}
"""


def problems(path) -> list[tuple[int, str]]:
    with pytest.raises(SpecError) as caught:
        load_library(path)
    return [(p.line, str(p)) for p in caught.value.problems]


def test_unknown_key_suggests_the_closest(write_spec):
    path = write_spec(GOOD + "    sevrity: {light: {size: 0.5}}\n")
    [(line, text)] = problems(path)
    assert line == 9  # the modeline is line 1
    assert "defects[0].sevrity: unknown key `sevrity`" in text
    assert "did you mean `severity`?" in text
    assert text.startswith(f"{path}:9:5:")


def test_wrong_type(write_spec):
    path = write_spec(GOOD + "    count: many\n")
    [(line, text)] = problems(path)
    assert line == 9
    assert (
        "defects[0].count: expected a number, [min, max] or {min, max, dist} (got 'many')" in text
    )


def test_out_of_range_value(write_spec):
    path = write_spec(GOOD + "    severity:\n      light: {contrast: 1.5}\n")
    [(line, text)] = problems(path)
    assert line == 10
    assert (
        "defects[0].severity.light.contrast: Input should be less than or equal to 1 (got 1.5)"
        in text
    )


def test_unknown_class(write_spec):
    path = write_spec(GOOD.replace("class: open", "class: opne"))
    [(line, text)] = problems(path)
    assert line == 6
    assert "unknown class `opne` (expected one of: open, short); did you mean `open`?" in text


def test_inconsistent_range(write_spec):
    path = write_spec(GOOD.replace("gap: [2, 5]", "gap: [5, 2]"))
    [(line, text)] = problems(path)
    assert line == 8
    assert "defects[0].shape.gap: inconsistent range: min 5 > max 2 (write [2, 5])" in text


def test_count_weights_one_per_value(write_spec):
    path = write_spec(GOOD + "    count: {min: 0, max: 2, weights: [0.2, 0.8]}\n")
    [(line, text)] = problems(path)
    assert line == 9
    assert "defects[0].count: expected 3 weights, one for each of 0..2 (got 2)" in text
    path = write_spec(GOOD + "    count: {min: 0, max: 1, weights: [1, 1], dist: normal}\n")
    [(line, text)] = problems(path)
    assert "weights and dist 'normal' both say how values are drawn: drop `dist`" in text


def test_unknown_kind_param_and_region_all_reported_at_once(write_spec):
    text = (
        GOOD + "    placement: {regions: [boad]}\n  - name: b\n    class: short\n    kind: shrt\n"
    )
    path = write_spec(text.replace("gap: [2, 5]", "gap: [2, 5], radius: 3"))
    found = problems(path)
    assert [line for line, _ in found] == [8, 9, 12]
    assert "kind `open` does not read `radius` (it reads: gap, slant, roughness, speckle)" in found[0][1]
    assert "unknown region `boad`: define it under `regions`" in found[1][1]
    assert "unknown kind `shrt`" in found[2][1] and "did you mean `short`?" in found[2][1]


def test_missing_key_and_duplicate(write_spec):
    path = write_spec("product: pcb\nproduct: pcb2\nclasses: [a]\n")
    found = problems(path)
    assert (3, f"{path}:3:1: duplicate key `product`") in found
    assert any(line == 2 and "missing required key `defects`" in text for line, text in found)


def test_yaml_syntax_error_has_line_and_column(write_spec):
    path = write_spec(GOOD + "    prompt: [unclosed\n")
    [(line, text)] = problems(path)
    assert line == 10 and "YAML syntax error: expected ',' or ']'" in text
    assert "while parsing a flow sequence at line 9, column 13" in text


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DefectforgeError, match="spec file not found"):
        load_library(tmp_path / "nope.yaml")


def test_check_classes_names_the_difference(write_spec):
    library = load_library(write_spec(GOOD))
    check_classes(library, ["open", "short"])
    with pytest.raises(
        DefectforgeError,
        match=r"not in the dataset: \['short'\]; missing from the spec: \['spur'\]",
    ):
        check_classes(library, ["open", "spur"])
