"""Writers never delete what they did not write: export-yolo --out, names that become folders."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from flows.cli import app
from pipeline.data.yolo_export import export_yolo
from pipeline.paths import check_name


def _export(tiny_sample, out, **kwargs):
    test = tiny_sample.coco_path("test")
    names = tiny_sample.info.class_names
    return export_yolo([], out, names, val=(test, tiny_sample.root), **kwargs)


def test_export_refuses_a_foreign_folder_replaces_its_own_and_overwrites_on_request(tiny_sample, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(DefectforgeError, match="not written by defectforge.*--overwrite"):
        _export(tiny_sample, out)
    assert (out / "thesis.tex").read_text() == "years of work"
    out = tmp_path / "yolo"
    _export(tiny_sample, out)
    (out / "stale.txt").write_text("from the first export")
    _export(tiny_sample, out)  # its own folder: replaced whole
    assert not (out / "stale.txt").exists() and (out / "data.yaml").is_file()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.txt").write_text("x")
    _export(tiny_sample, foreign, overwrite=True)
    assert not (foreign / "x.txt").exists() and (foreign / "data.yaml").is_file()


def test_cli_export_yolo_refuses_then_overwrites(tiny_sample, tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "a.txt").write_text("keep me")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "export-yolo", "tiny", "--out", str(out)])
    assert isinstance(result.exception, DefectforgeError) and (out / "a.txt").is_file()
    result = runner.invoke(app, ["data", "export-yolo", "tiny", "--out", str(out), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (out / "data.yaml").is_file() and not (out / "a.txt").exists()


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "a/b", "..", ".hidden", "", "a\\b", "x" * 101])
def test_names_that_would_leave_their_folder_are_refused(name):
    with pytest.raises(ValueError, match="must be one folder name"):
        check_name(name, "campaign name")


def test_dataset_names_are_one_folder_too():
    result = CliRunner().invoke(app, ["data", "prepare", "../../etc"])
    assert isinstance(result.exception, DefectforgeError)
    assert "must be one folder name" in str(result.exception)
