"""Which surface each class's real defects lie on, and `spec check --dataset` reporting a spec
that places a class (or its whole polarity) on the wrong side."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conditioning.spec import load_library
from flows.cli import app
from pipeline.labels.surface import check_surfaces, real_records, surface_shares

PCB_SPEC = """\
product: pcb
classes: [open, short, mousebite, spur, copper, pin-hole]
foreground: {foreground}
defects:
  - name: open
    class: open
    kind: open
    placement: {{surface: foreground}}
  - name: short
    class: short
    kind: short
    placement: {{surface: background}}
  - name: blob
    class: copper
    kind: spurious_copper
  - name: hole
    class: pin-hole
    kind: pin_hole
    placement: {{surface: {hole_surface}}}
"""


def _spec(folder: Path, foreground: str, hole_surface: str = "foreground") -> Path:
    path = folder / f"{foreground}-{hole_surface}" / "defects.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(PCB_SPEC.format(foreground=foreground, hole_surface=hole_surface))
    return path


def test_copper_defects_lie_on_the_dark_side(pcb_line):
    shares = surface_shares(pcb_line.records("train"), ["dark", "bright", "auto"])
    for name in ("open", "pin-hole"):
        assert shares["dark"][name].foreground > 0.9
        assert shares["bright"][name].foreground < 0.1
        assert 0.3 < shares["auto"][name].foreground < 0.7  # wide boards: auto takes substrate
    for name in ("short", "copper"):
        assert shares["dark"][name].foreground < 0.1
    assert shares["dark"]["open"].instances == 4


def test_right_polarity_passes_flipped_and_auto_are_reported(pcb_line, tmp_path):
    records = pcb_line.records("train")
    right = _spec(tmp_path, "dark")
    assert check_surfaces(load_library(right), right, records).problems == []
    found = {}
    for foreground in ("bright", "auto"):
        path = _spec(tmp_path, foreground)
        found[foreground] = check_surfaces(load_library(path), path, records).problems
        text = "\n".join(map(str, found[foreground]))
        assert f"{path}:8:" in text and "defects[0].placement.surface" in text, text
        assert "set `foreground: dark`" in text
    assert len(found["bright"]) == 4  # `blob` too: its surface is its kind's default


def test_one_class_on_the_wrong_surface_names_its_line(pcb_line, tmp_path):
    path = _spec(tmp_path, "dark", hole_surface="background")
    (problem,) = check_surfaces(load_library(path), path, pcb_line.records("train")).problems
    assert (problem.line, problem.path) == (19, "defects[3].placement.surface")
    assert "`hole` places class `pin-hole` on the background, but only" in problem.message
    assert "set `placement.surface: foreground`" in problem.message


def test_spec_check_dataset_cli(pcb_line, tmp_path):
    runner = CliRunner()
    right, flipped = _spec(tmp_path, "dark"), _spec(tmp_path, "bright")
    result = runner.invoke(app, ["spec", "check", str(right), "--dataset", "pcbline"])
    assert result.exit_code == 0, result.output
    assert "on 4 real train images" in result.output and f"ok {right}" in result.output
    result = runner.invoke(app, ["spec", "check", str(flipped), "--dataset", "pcbline"])
    assert result.exit_code == 2 and f"ok {flipped}" not in result.output
    assert "set `foreground: dark`" in result.output


def test_budget_of_another_file_is_refused(pcb_line, tmp_path):
    from conditioning.errors import DefectforgeError
    from pipeline.data.budget import choose_real_budget, save_budget

    budget = save_budget(choose_real_budget(pcb_line.coco_path("test"), 1, 0), tmp_path / "b.json")
    with pytest.raises(DefectforgeError, match="budget of .*test.json"):
        real_records("pcbline", budget)
    budget = save_budget(choose_real_budget(pcb_line.coco_path("train"), 2, 0), tmp_path / "c.json")
    assert len(real_records("pcbline", budget)) == 2
    assert len(real_records("pcbline", limit=3)) == 3


# 60 boards: on the line, the share of open pixels on the copper side ranges 0.44-0.69 over
# windows of 24 boards; fewer boards would test the sampling, not the spec
SAMPLE = """\
name: minisample
license: test
format: sample
clean_reference: rendered
classes:
{classes}
layout:
  image_size: 128
  seed: 0
  train: {{boards: 60, defect_free: 2}}
  test: {{boards: 2, defect_free: 0}}
"""


def test_shipped_sample_spec_passes_on_the_sample_line(runs, write_dataset):
    from pipeline.data.prepare import prepare_dataset

    spec = Path(__file__).resolve().parents[2] / "datasets" / "sample" / "defects.yaml"
    library = load_library(spec)
    classes = "\n".join(f"  - {{id: {i}, name: {c}}}" for i, c in enumerate(library.classes, 1))
    write_dataset("minisample", SAMPLE.format(classes=textwrap.indent(classes, "")))
    prepare_dataset("minisample", progress=False, workers=1)
    result = check_surfaces(library, spec, real_records("minisample"))
    assert result.problems == [] and result.shares["short"].foreground < 0.3
    result = CliRunner().invoke(app, ["spec", "check", str(spec), "--dataset", "minisample"])
    assert result.exit_code == 0, result.output
