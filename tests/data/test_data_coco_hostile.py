"""Hostile COCO files: every one a located problem from `data check`, never a traceback or a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.data.coco_check import check_coco

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VALID = {
    "images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 8}],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "area": 4,
         "iscrowd": 0, "segmentation": [[1, 1, 3, 1, 3, 3, 1, 3]]}
    ],
    "categories": [{"id": 1, "name": "scratch"}],
}  # fmt: skip


def _write(tmp_path, document, name="bad.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def _variant(**changes) -> dict:
    document = json.loads(json.dumps(VALID))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_variant(images={"id": 1}), "`images` must be a list (got dict)"),
        (_variant(images=3), "`images` must be a list (got int)"),
        (_variant(images=["a", "b"]), "images[0]: must be an object (got str)"),
        (_variant(annotations=None), "`annotations` must be a list (got null)"),
        (_variant(images__0__width="128"), "images[0]: `width` must be an integer in 1..65536"),
        (_variant(info="x"), "`info` must be an object (got str)"),
        (_variant(images__0__width=-8), "`width` must be an integer in 1..65536 (got -8)"),
        (_variant(images__0__file_name="../../../../../etc/passwd"), "resolves outside the images"),
        (_variant(images__0__file_name="/etc/passwd"), "must be relative to the images folder"),
        (_variant(annotations__0__bbox=[1, 1, -2, 2]), "width and height must be >= 0"),
        (_variant(annotations__0__bbox=[1, "a", 2, 2]), "`bbox` must be [x, y, w, h] numbers"),
        (_variant(annotations__0__id=True), "`id` must be an integer (got True)"),
        (_variant(categories__0__name=None), "`name` must be a non-empty string"),
        (_variant(annotations__0__segmentation={"size": [8, 8], "counts": "zzzz"}), "RLE"),
        (_variant(annotations__0__segmentation={"size": [8, 8], "counts": [10, 99]}), "cover 109"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_broken_files_are_located_problems(tmp_path, document, message):
    path = _write(tmp_path, document)
    report = check_coco(path, check_files=False)
    assert not report.ok
    assert any(p.startswith(f"{path}: ") and message in p for p in report.problems), report.problems


def test_the_valid_file_passes(tmp_path):
    assert check_coco(_write(tmp_path, VALID), check_files=False).ok


def test_messages_are_printed_verbatim(tmp_path):
    from flows.cli import app

    path = _write(tmp_path, _variant(annotations__0__bbox="x"))
    result = CliRunner().invoke(app, ["data", "check", str(path)])
    assert result.exit_code == 2
    assert "`bbox` must be [x, y, w, h] numbers" in result.output


def test_a_huge_declared_image_is_refused_before_any_decoding(tmp_path):
    side = 200_000
    document = _variant(images__0__width=side, images__0__height=side)
    document["annotations"][0]["segmentation"] = {"size": [side, side], "counts": [side * side]}
    path = _write(tmp_path, document)
    result = subprocess.run(  # a crash of the decoder must not take pytest down with it
        [sys.executable, "-m", "flows.cli", "data", "check", str(path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "`width` must be an integer in 1..65536 (got 200000)" in result.stderr
