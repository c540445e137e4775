"""Label parity between a synthetic set and the real one, on tiny sets built in code: binary
boards (copper dark), holes on copper and blobs on substrate, boxes loose or tight."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.stats import ks_2samp
from typer.testing import CliRunner

from flows.cli import app
from pipeline.data.atomic import write_png
from pipeline.data.coco_reader import read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord, InstanceRecord, mask_bbox
from pipeline.labels.measure import elongation, measure_set
from pipeline.labels.parity import parity_markdown, parity_of_files

CATEGORIES = [{"id": 1, "name": "hole"}, {"id": 2, "name": "blob"}]
SIZE = 64


def labelled_set(folder: Path, seed: int, *, margin: int = 6, classes=("hole", "blob"),
                 hidden: int = 0, images: int = 8, hole_row: int = 18, kept: int = 0,
                 band: tuple[int, int] = (8, 28)) -> Path:
    """COCO set of `images` boards, each with one defect per class in `classes`; boxes reach
    `margin` px past the mask; the first `hidden` images label defects they do not show; holes
    are centred on `hole_row` (the copper band spans the rows `band`, 8-27); each image also keeps
    `kept` copies of its last label as real labels (an image drawn onto a real defect image)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    records = []
    for index in range(images):
        clean = np.full((SIZE, SIZE, 3), 255, np.uint8)
        clean[slice(*band)] = 0  # copper band on top, substrate below
        image = clean.copy()
        instances = []
        for name in classes:
            mask = np.zeros((SIZE, SIZE), np.uint8)
            centre = (int(rng.integers(20, 44)), hole_row if name == "hole" else 46)
            cv2.circle(mask, centre, int(rng.integers(3, 6)), 1, -1)
            mask = mask.astype(bool)
            if index >= hidden:
                image[mask] = 255 if name == "hole" else 0
            x, y, w, h = mask_bbox(mask)
            x0, y0 = max(0, x - margin), max(0, y - margin)
            box = (x0, y0, min(SIZE, x + w + margin) - x0, min(SIZE, y + h + margin) - y0)
            category = 1 if name == "hole" else 2
            instances.append(InstanceRecord(name, category, box, mask))
        instances += [instances[-1].kept_on_drawn_image() for _ in range(kept)]
        image_path, clean_path = folder / f"{index}.png", folder / f"{index}-clean.png"
        write_png(image_path, image)
        write_png(clean_path, clean)
        records.append(ImageRecord(image_path, clean_path, SIZE, SIZE, instances))
    return write_coco(folder / "set.json", records, CATEGORIES)


@pytest.fixture
def real(tmp_path: Path) -> Path:
    return labelled_set(tmp_path / "real", seed=0)


def _failed(result) -> set[tuple[str, str]]:
    return {(row.statistic, row.class_name) for row in result.rows if row.ok is False}


def test_a_set_like_the_real_one_passes(real, tmp_path):
    assert parity_of_files(real, real).ok
    result = parity_of_files(real, labelled_set(tmp_path / "same", seed=1))
    assert result.ok, result.problems
    hole = {row.statistic: row for row in result.rows if row.class_name == "hole"}
    assert hole["margin left (px)"].real == 6 and hole["visible change"].real == 1
    assert hole["surface (foreground: auto)"].real == 1  # the copper band is the smaller side


def test_tight_boxes_against_loose_ones_are_flagged(real, tmp_path):
    result = parity_of_files(real, labelled_set(tmp_path / "tight", seed=1, margin=0))
    assert not result.ok
    for name in ("hole", "blob"):
        for side in ("left", "top", "right", "bottom"):
            assert (f"margin {side} (px)", name) in _failed(result)
        assert ("box width (px)", name) in _failed(result)
    assert ("mask area (px²)", "hole") not in _failed(result)
    assert any("hole: margin left (px) synthetic 0 against real 6" in p and "annotation style" in p
               for p in result.problems)


def test_class_mix_and_invisible_defects_are_flagged(real, tmp_path):
    result = parity_of_files(real, labelled_set(tmp_path / "holes", seed=1, classes=("hole",)))
    assert _failed(result) == {("class mix (TV distance)", "(all)")}
    assert any("(all): the class mix is " in p and "(TV distance) from the real one" in p
               for p in result.problems)
    blob = [row for row in result.rows if row.class_name == "blob" and row.ok is None]
    assert blob[0].tolerance.startswith("n/a: 8 real, 0 synthetic instances")
    result = parity_of_files(real, labelled_set(tmp_path / "faint", seed=1, hidden=8))
    assert _failed(result) == {(s, c) for c in ("hole", "blob")
                               for s in ("visible change", "invisible labels (< 50% changed)")}
    result = parity_of_files(real, labelled_set(tmp_path / "some", seed=1, hidden=1))
    assert _failed(result) == {("invisible labels (< 50% changed)", c) for c in ("hole", "blob")}
    assert "check the spec's polarity" in result.problems[0]


def test_holes_nearer_the_copper_edge_are_flagged_by_their_context(real, tmp_path):
    # still wholly on copper (same surface, area, margins), but their boxes reach the substrate
    edge = parity_of_files(real, labelled_set(tmp_path / "edge", seed=1, hole_row=22,
                                              images=16))
    assert _failed(edge) == {("context (foreground share in the box)", "hole")}
    row = next(r for r in edge.rows if r.statistic.startswith("context") and r.class_name == "hole")
    assert row.synthetic < row.real and "KS distance" in row.tolerance
    assert "narrow it towards the real median" in edge.problems[0]
    # a set drawn like the real one: 8 holes each, distance above 0.3 by chance, not a problem
    like = labelled_set(tmp_path / "like", seed=1)
    shares = [measure_set(read_coco(path)).classes["hole"].context for path in (real, like)]
    assert ks_2samp(*shares).statistic > 0.3
    assert parity_of_files(real, like).ok


def test_holes_in_a_narrower_trace_are_flagged_by_its_width(real, tmp_path):
    # the same holes (area, surface, margins) in a 12 px copper band instead of a 20 px one
    narrow = parity_of_files(real, labelled_set(tmp_path / "narrow", seed=1, band=(12, 24)))
    assert ("width of its surface (px)", "hole") in _failed(narrow)
    assert ("width of its surface (px)", "blob") not in _failed(narrow)  # substrate: as wide
    row = next(r for r in narrow.rows if r.statistic.startswith("width") and r.class_name == "hole")
    assert row.real == pytest.approx(20, abs=1) and row.synthetic == pytest.approx(12, abs=1)
    assert any("wider or narrower traces" in p for p in narrow.problems)


def test_kept_real_labels_leave_the_class_mix_alone(real, tmp_path):
    result = parity_of_files(real, labelled_set(tmp_path / "onto", seed=1, kept=3))
    shares = [row.synthetic for row in result.rows if row.statistic == "class share"]
    assert shares == [0.5, 0.5]
    assert _failed(result) == {("instances / image (mean)", "(all)")}  # 5 in each image, not 2


def test_markdown_table(real, tmp_path):
    text = parity_markdown(parity_of_files(real, labelled_set(tmp_path / "t", seed=1, margin=0)))
    assert "| statistic | class | real | synthetic | tolerance | ok |" in text
    assert "| margin left (px) | hole | 6 [6, 6] | 0 [0, 0] | ± max(3 px, 30%) | **NO** |" in text
    assert "- hole: margin left (px) synthetic 0 against real 6" in text


def test_elongation_of_lines_and_squares():
    line = np.zeros((20, 20), bool)
    line[5, 2:11] = True
    square = np.zeros((20, 20), bool)
    square[4:10, 4:10] = True
    assert elongation(line) == pytest.approx(9) and elongation(square) == pytest.approx(1)


def test_parity_cli(real, tmp_path):
    runner = CliRunner()
    tight = labelled_set(tmp_path / "tight", seed=1, margin=0)
    result = runner.invoke(app, ["data", "parity", str(real), str(real), "--strict"])
    assert result.exit_code == 0, result.output
    assert "labels within tolerance" in result.output
    result = runner.invoke(app, ["data", "parity", str(real), str(tight)])
    assert result.exit_code == 0 and "out of tolerance: hole: margin left" in result.output
    result = runner.invoke(app, ["data", "parity", str(real), str(tight), "--strict"])
    assert result.exit_code == 2 and "figure(s) out of tolerance" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{\"images\": []}")
    result = runner.invoke(app, ["data", "parity", str(real), str(broken), "--strict"])
    assert result.exit_code == 2 and f"{broken}: not a COCO file" in result.output
