"""DeepPCB reader on a tiny fixture written in DeepPCB's own format (one pair misaligned by 2 px)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from pipeline.data.diff_mask import best_shift, box_mask, shifted
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset

DATASET = """\
name: pcbmini
license: test
format: deeppcb
clean_reference: template
classes:
  - {id: 1, name: open}
  - {id: 2, name: short}
  - {id: 3, name: mousebite}
  - {id: 4, name: spur}
  - {id: 5, name: copper}
  - {id: 6, name: pin-hole}
"""
SIZE = 160


def _pair(shift_x: int) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Template (copper = black bars), tested image with an open and a copper blob, truth masks."""
    template = np.full((SIZE, SIZE), 255, np.uint8)
    for y in (30, 70, 110):
        template[y : y + 12, 10:150] = 0
    test = template.copy()
    open_truth = np.zeros_like(template, bool)
    open_truth[70:82, 60:66] = True
    test[open_truth] = 255
    copper_truth = np.zeros_like(template, np.uint8)
    cv2.circle(copper_truth, (100, 95), 5, 1, -1)
    test[copper_truth > 0] = 0
    boxes = [(54, 64, 72, 88, 1), (91, 86, 110, 105, 5)]
    return test, np.roll(template, shift_x, axis=1), boxes, [open_truth, copper_truth > 0]


def _write_source(root: Path, shifts=(0, 0, 2)) -> dict:
    truth = {}
    lines = {"trainval.txt": [], "test.txt": []}
    for index, shift in enumerate(shifts):
        stem = f"0000100{index}"
        test, template, boxes, masks = _pair(shift)
        folder = root / "PCBData" / "group00001" / "00001"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{stem}_test.jpg"), test, [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(folder / f"{stem}_temp.jpg"), template, [cv2.IMWRITE_JPEG_QUALITY, 90])
        notes = root / "PCBData" / "group00001" / "00001_not"
        notes.mkdir(parents=True, exist_ok=True)
        (notes / f"{stem}.txt").write_text("".join(" ".join(map(str, b)) + "\n" for b in boxes))
        split = "test.txt" if index == 2 else "trainval.txt"
        lines[split].append(f"group00001/00001/{stem}.jpg group00001/00001_not/{stem}.txt")
        truth[stem] = masks
    for name, content in lines.items():
        (root / "PCBData" / name).write_text("\n".join(content) + "\n")
    return truth


def test_best_shift_and_box_mask_tolerate_misalignment():
    test, template, boxes, truth = _pair(2)
    test, template = test < 128, template < 128
    assert best_shift(test, template, 3) == (0, -2)
    aligned = shifted(template, 0, -2)
    for (x1, y1, x2, y2, _), expected in zip(boxes, truth, strict=True):
        mask, method, fraction = box_mask(test, aligned, (x1, y1, x2, y2))
        assert method == "diff" and 0 < fraction < 0.5
        assert (
            not mask[:, :x1].any()
            and not mask[:, x2:].any()
            and not mask[:y1].any()
            and not mask[y2:].any()
        )
        assert (mask & expected).sum() / (mask | expected).sum() > 0.7


def test_empty_difference_falls_back_to_an_ellipse():
    blank = np.zeros((40, 40), bool)
    mask, method, fraction = box_mask(blank, blank, (10, 10, 30, 20))
    assert method == "box_ellipse" and fraction == 0 and mask.any()
    assert not mask[:10].any() and not mask[20:].any()


def test_prepare_fixture(tmp_path, runs, write_dataset):
    source = tmp_path / "src"
    truth = _write_source(source)
    write_dataset("pcbmini", DATASET)
    prepare_dataset("pcbmini", source, progress=False)
    prepared = PreparedDataset("pcbmini")
    assert prepared.manifest["splits"]["train"]["images"] == 2
    assert prepared.manifest["splits"]["test"]["instances"] == 2
    (record,) = prepared.records("test")
    assert record.provenance["template_shift"] == [0, -2]
    assert record.provenance["source"] == "PCBData/group00001/00001/00001002_test.jpg"
    image, clean = record.load_image()[..., 0], record.load_clean()[..., 0]
    assert set(np.unique(image)) <= {0, 255}
    assert (image != clean).mean() < 0.02  # the stored template is aligned
    assert [i.class_name for i in record.instances] == ["open", "copper"]
    assert record.instances[0].bbox_xywh == (54.0, 64.0, 18.0, 24.0)
    for instance, expected in zip(record.instances, truth["00001002"], strict=True):
        assert (instance.mask & expected).sum() / (instance.mask | expected).sum() > 0.7
    before = {p: p.read_bytes() for p in prepared.root.rglob("*") if p.is_file()}
    prepare_dataset("pcbmini", source, force=True, progress=False)
    assert before == {p: p.read_bytes() for p in prepared.root.rglob("*") if p.is_file()}


def test_cli_prepare_and_stale_source(tmp_path, runs, write_dataset):
    from typer.testing import CliRunner

    from flows.cli import app

    source = tmp_path / "src"
    _write_source(source)
    write_dataset("pcbmini", DATASET)
    result = CliRunner().invoke(app, ["data", "prepare", "pcbmini", "--source", str(source)])
    assert result.exit_code == 0, result.output
    assert "test: 1 images, 2 instances" in result.output
    result = CliRunner().invoke(app, ["data", "prepare", "pcbmini", "--source", str(tmp_path)])
    assert isinstance(result.exception, DefectforgeError)
    assert "rerun with --force" in str(result.exception)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("annotation", "00001000.txt:1: expected `x1 y1 x2 y2 type`"),
        ("image", "00001001_temp.jpg: missing"),
        ("list", "trainval.txt: DeepPCB list file not found"),
    ],
)
def test_broken_source_names_the_file(tmp_path, runs, write_dataset, breakage, message):
    source = tmp_path / "src"
    _write_source(source)
    if breakage == "annotation":
        (source / "PCBData/group00001/00001_not/00001000.txt").write_text("10 20 x 40 1\n")
    elif breakage == "image":
        (source / "PCBData/group00001/00001/00001001_temp.jpg").unlink()
    else:
        (source / "PCBData/trainval.txt").unlink()
    write_dataset("pcbmini", DATASET)
    with pytest.raises(DefectforgeError, match=message.replace(".", r"\.").replace("`", ".")):
        prepare_dataset("pcbmini", source, progress=False)
