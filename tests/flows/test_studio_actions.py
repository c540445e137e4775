"""The spec studio's actions without a browser: the same located messages as `spec check`, a
preview sheet, a save that refuses invalid text and keeps comments, no generator explained."""

import shutil

import pytest

from conditioning.errors import DefectforgeError
from conditioning.spec import load_library
from conditioning.spec_errors import SpecError
from flows import studio_actions as actions
from pipeline.data.atomic import write_png
from pipeline.data.sample_board import make_board, render
from pipeline.paths import PROJECT_ROOT


@pytest.fixture
def line(tmp_path, monkeypatch):
    datasets, runs = tmp_path / "datasets", tmp_path / "runs"
    (datasets / "sample").mkdir(parents=True)
    for name in ("dataset.yaml", "defects.yaml"):
        shutil.copy(PROJECT_ROOT / "datasets" / "sample" / name, datasets / "sample" / name)
    for i in range(2):
        write_png(runs / "data" / "sample" / "clean" / "train" / f"b{i}.png",
                  render(make_board(i, 128)))
    monkeypatch.setenv("DEFECTFORGE_DATASETS", str(datasets))
    monkeypatch.setenv("DEFECTFORGE_RUNS", str(runs))
    return actions.open_line("sample")


def test_studio_checks_like_spec_check(line):
    text = line.spec_path.read_text().replace("    kind: open\n", "    knd: open\n", 1)
    library, problems = actions.check_text(line, text)
    broken = line.spec_path.with_name("broken.yaml")
    broken.write_text(text)
    with pytest.raises(SpecError) as error:
        load_library(broken)
    expected = [str(p).replace(str(broken), str(line.spec_path)) for p in error.value.problems]
    assert library is None and problems == expected
    assert any("did you mean `kind`?" in p for p in problems)
    wrong_classes = line.spec_path.read_text().replace("[open, short,", "[short, open,", 1)
    assert "must equal the dataset's class names" in actions.check_text(line, wrong_classes)[1][0]


def test_studio_preview_save_and_missing_generator(line):
    text = line.spec_path.read_text()
    library, problems = actions.check_text(line, text)
    assert problems == []
    sheet, notes = actions.preview(line, library, seed=1, count=2)
    assert sheet.ndim == 3 and sheet.shape[0] > 2 * 128
    before = line.spec_path.read_bytes()
    with pytest.raises(DefectforgeError, match="not saved"):
        actions.save(line, text.replace("max_per_image: 8", "max_per_imag: 8"))
    assert line.spec_path.read_bytes() == before
    edited = text.replace("max_per_image: 8", "max_per_image: 7  # fewer")
    assert actions.save(line, edited.rstrip("\n")).startswith("saved ")
    assert line.spec_path.read_text() == edited  # as edited, comments kept, final newline
    assert actions.trained_generator(line) is None
    with pytest.raises(DefectforgeError, match="defectforge train --dataset sample"):
        actions.generate(line, seed=0)
