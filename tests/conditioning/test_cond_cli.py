"""`defectforge spec check | schema | kinds | preview` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from conditioning.preview import sheet_size
from flows.cli import app

runner = CliRunner()
SPEC = """
product: pcb
classes: [open, short]
defects:
  - name: trace-open
    class: open
    kind: open
  - name: bridge
    class: short
    kind: short
    count: [0, 1]
"""


def test_check_exit_codes(write_spec):
    good = write_spec(SPEC)
    result = runner.invoke(app, ["spec", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert f"ok {good}: product `pcb`, 2 defects" in result.output
    bad = write_spec(SPEC.replace("kind: short", "kind: shrot"), name="bad.yaml")
    result = runner.invoke(app, ["spec", "check", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:10:11: defects[1].kind: unknown kind `shrot`" in result.output
    assert "did you mean `short`?" in result.output and "Traceback" not in result.output

    assert "note:" not in result.output


def test_check_notes_a_param_the_other_params_make_inert(write_spec):
    """A pin-hole chain of lobes ignores `aspect`, a single hole ignores `curvature`: the file is
    valid (exit 0) and each such param is noted at its line; one that can act is not."""
    holes = """
product: pcb
classes: [pin-hole]
defects:
  - name: chain
    class: pin-hole
    kind: pin_hole
    shape: {lobes: [2, 3], aspect: [1.5, 2], curvature: [0, 0.5]}
  - name: round
    class: pin-hole
    kind: pin_hole
    shape: {aspect: [1, 2],
            curvature: [0.2, 0.4]}
  - name: either
    class: pin-hole
    kind: pin_hole
    shape: {lobes: [1, 2], aspect: [1, 2], curvature: [0, 0.3]}
"""
    path = write_spec(holes)
    result = runner.invoke(app, ["spec", "check", str(path)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 2, result.output
    assert f"note: {path}:8:36: defects[0].shape.aspect: kind `pin_hole`: `aspect` has no effect" in notes[0]
    assert f"note: {path}:13:24: defects[1].shape.curvature: kind `pin_hole`: `curvature` has no effect" in notes[1]


def test_check_notes_a_copper_strokes_roughness(write_spec):
    """Spurious copper drawn as a chain of lobes ignores `roughness` and `aspect` (noted); as one
    blob it ignores `curvature`."""
    path = write_spec("""
product: pcb
classes: [copper]
defects:
  - name: stroke
    class: copper
    kind: spurious_copper
    shape: {lobes: [3, 5], roughness: [0.1, 0.4], curvature: [0.5, 1]}
  - name: blob
    class: copper
    kind: spurious_copper
    shape: {roughness: [0.1, 0.4], curvature: [0.5, 1]}
""")
    result = runner.invoke(app, ["spec", "check", str(path)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 2, result.output
    assert "defects[0].shape.roughness: kind `spurious_copper`: `roughness` has no effect" in notes[0]
    assert "defects[1].shape.curvature: kind `spurious_copper`: `curvature` has no effect" in notes[1]


def test_schema_prints_the_committed_schema():
    result = runner.invoke(app, ["spec", "schema"])
    assert result.exit_code == 0
    committed = Path(__file__).resolve().parents[2] / "datasets" / "defect-spec.schema.json"
    assert json.loads(result.output) == json.loads(committed.read_text())


def test_kinds_lists_every_kind():
    result = runner.invoke(app, ["spec", "kinds"])
    assert result.exit_code == 0 and "mousebite" in result.output and "gap [2, 6]" in result.output


def test_preview_writes_a_sheet_of_the_expected_size(write_spec, tmp_path, traces, board):
    folder = tmp_path / "clean"
    folder.mkdir()
    for k in range(3):
        image = board(traces(100 + 10 * k, 90))
        cv2.imwrite(str(folder / f"b{k}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "sheet.png"
    args = ["spec", "preview", str(write_spec(SPEC)), "--images", str(folder), "--out", str(out)]
    result = runner.invoke(app, [*args, "--count", "2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out))
    assert sheet.shape[:2] == sheet_size(rows=2, classes=2)
    assert "wrote" in result.output


def test_preview_shows_placement_failures_in_the_sheet(write_spec, tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    cv2.imwrite(str(folder / "flat.png"), np.full((64, 64, 3), 90, np.uint8))  # all foreground
    spec = write_spec(
        SPEC.replace("kind: open", "kind: open\n    placement: {surface: background}")
    )
    out = tmp_path / "sheet.png"
    args = ["spec", "preview", str(spec), "--images", str(folder), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning: cannot place defect `trace-open`" in result.output
    assert "on image `flat.png`" in result.output and "surface: background" in result.output
    assert cv2.imread(str(out)).shape[:2] == sheet_size(rows=1, classes=2)
