"""Bring your own line: tiny raw folders in five layouts go init -> spec check -> prepare -> train
-> generate through the CLI, with no file written by hand."""

import json

import cv2
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conditioning.errors import DefectforgeError
from eval.realism import labelled_crops
from flows.cli import app
from pipeline.data.coco_reader import read_coco
from pipeline.labels.measure import measure_set

TINY_TRAIN = {
    "model": {"resolution": 16, "block_out_channels": [8, 16], "token_dim": 16, "inference_steps": 4},
    "base_steps": 3, "control_steps": 3, "batch_size": 4, "clean_crops": 16,
}
LAYOUTS = {
    "folder_beside": ("folder", "inpaint"),
    "folder_parallel": ("folder", "inpaint"),
    "voc": ("voc", "inpaint"),
    "yolo": ("yolo", "inpaint"),
    "mvtec": ("mvtec", "inpaint"),
}


def _cli(lines, *args):
    result = CliRunner().invoke(app, ["--datasets-dir", str(lines), *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(autouse=True)
def one_torch_thread(monkeypatch):
    import torch

    monkeypatch.setenv("DEFECTFORGE_DATASETS", "")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_bring_your_own_line_end_to_end(layout, tmp_path, runs, raw_sources):
    source = getattr(raw_sources, layout)(tmp_path / "raw")
    lines, name = tmp_path / "lines", layout.replace("_", "-")
    # 1. init recognises the layout and writes both files; spec check passes on them
    out = _cli(lines, "data", "init", name, "--source", str(source))
    fmt, clean = LAYOUTS[layout]
    assert f"recognised {source} as `{fmt}` (clean_reference: {clean})" in out
    info = yaml.safe_load((lines / name / "dataset.yaml").read_text())
    assert info["format"] == fmt and [c["name"] for c in info["classes"]] == ["scratch", "spot"]
    assert f"ok {lines / name / 'defects.yaml'}" in _cli(
        lines, "spec", "check", str(lines / name / "defects.yaml"), "--dataset", name)
    # 2. prepare (no --source: dataset.yaml records it); every train image has a clean reference
    _cli(lines, "data", "prepare", name)
    manifest = json.loads((runs / "data" / name / "manifest.json").read_text())
    assert manifest["splits"]["train"]["instances"] > 0 and manifest["greyscale"] is (layout != "yolo")
    train = json.loads((runs / "data" / name / "annotations" / "train.json").read_text())
    assert all(image.get("clean_file_name") for image in train["images"])
    # 3. a few training steps, then generate onto the line's backgrounds
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_TRAIN))
    _cli(lines, "train", "--dataset", name, "--config", str(config))
    gen = tmp_path / "gen"
    out = _cli(lines, "generate", "--dataset", name, "--count", "3", "--out", str(gen), "--keep-rejected")
    assert "3 samples (3 new" in out
    coco = json.loads((gen / "annotations.json").read_text())
    assert len(coco["images"]) == 3 and coco["annotations"]
    for image in coco["images"]:
        pixels = cv2.imread(str(gen / image["file_name"]), cv2.IMREAD_UNCHANGED)
        assert pixels.shape[:2] == raw_sources.shape
        assert (pixels.ndim == 2) is (layout != "yolo")  # grey lines are written grey
    if layout == "voc":  # no clean image at all: also draw onto the real defect images, boxes kept
        onto = tmp_path / "onto"
        _cli(lines, "generate", "--dataset", name, "--count", "2", "--out", str(onto), "--onto", "defective",
             "--keep-rejected")
        annotations = json.loads((onto / "annotations.json").read_text())["annotations"]
        assert any(a.get("real") for a in annotations) and any(not a.get("real") for a in annotations)
        # the kept real labels are in the images, but neither realism nor label parity counts them as drawn
        drawn = sum(not a.get("real") for a in annotations)
        assert len(labelled_crops(onto / "annotations.json")[1]) == drawn
        stats = measure_set(read_coco(onto / "annotations.json"))
        assert sum(c.count for c in stats.classes.values()) == drawn
        assert sum(stats.per_image) == len(annotations)
        wrong = CliRunner().invoke(app, ["--datasets-dir", str(lines), "generate", "--dataset", name, "--count", "1",
                                         "--out", str(tmp_path / "wrong"), "--onto", "scrap"])
        assert isinstance(wrong.exception, DefectforgeError)
        assert "onto" in str(wrong.exception) and "'defective'" in str(wrong.exception)
        assert not (tmp_path / "wrong").exists()  # refused before anything is written


def test_preview_boxes_follow_each_axis(tmp_path, runs, raw_sources):
    """On a 72x48 image squeezed into a square panel, a box's corners scale per axis."""
    from pipeline.data.preview import _row
    from pipeline.data.records import ImageRecord, InstanceRecord

    image = np.full((48, 72, 3), 100, np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    box = (36.0, 12.0, 18.0, 24.0)
    mask = np.zeros((48, 72), bool)
    mask[12:36, 36:54] = True
    record = ImageRecord(tmp_path / "a.png", None, 72, 48, [InstanceRecord("spot", 2, box, mask=mask)])
    panel = _row(record, ["scratch", "spot"], 96)[:, 192:]
    colour = panel[int(12 * 2)][int(36 * 96 / 72) :].tolist()  # the top edge, at y = 12 * 96 / 48
    assert panel[24, 48].tolist() != [100, 100, 100]  # the top-left corner is drawn where it should be
    assert colour[0] != [100, 100, 100]
