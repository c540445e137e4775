"""COCO round trip (write -> pycocotools -> COCOeval of GT against itself = 1.0) and validation."""

import contextlib
import io
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.data.atomic import write_png
from pipeline.data.coco_check import check_coco
from pipeline.data.coco_reader import read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord, InstanceRecord

CATEGORIES = [{"id": 3, "name": "scratch"}, {"id": 7, "name": "pit"}]


def _records(folder, count=4):
    rng = np.random.default_rng(0)
    records = []
    for index in range(count):
        image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        path = folder / "images" / f"img{index}.png"
        write_png(path, image)
        instances = []
        for k in range(1 + index % 3):
            mask = np.zeros((48, 64), bool)
            y, x = 4 + 12 * k, 5 + 9 * index
            mask[y : y + 6 + k, x : x + 8] = True
            name, cid = ("scratch", 3) if k % 2 == 0 else ("pit", 7)
            instances.append(
                InstanceRecord(name, cid, mask=mask, extra={"gate_score": 0.9, "verdict": "pass"})
            )
        provenance = {
            "source": "test",
            "spec_hash": "abc",
            "seed": index,
            "generator": "unit",
            "revision": "r1",
        }
        records.append(ImageRecord(path, None, 64, 48, instances, provenance))
    return records


def _evaluate(coco_path, iou_type):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(coco_path))
        results = [dict(a, score=1.0) for a in gt.dataset["annotations"]]
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def test_round_trip_and_self_evaluation(tmp_path):
    records = _records(tmp_path)
    path = write_coco(tmp_path / "annotations.json", records, CATEGORIES, info={"note": "unit"})
    assert check_coco(path).ok
    for iou_type in ("bbox", "segm"):
        assert _evaluate(path, iou_type)[0] == pytest.approx(1.0)
    document = json.loads(path.read_text())
    assert document["images"][0]["file_name"] == "images/img0.png"
    assert document["images"][1]["seed"] == 1 and document["images"][1]["clean_file_name"] is None
    assert document["annotations"][0]["gate_score"] == 0.9
    assert isinstance(document["annotations"][0]["segmentation"]["counts"], str)
    back = read_coco(path)
    assert [r.image_path for r in back] == [r.image_path.resolve() for r in records]
    for original, loaded in zip(records, back, strict=True):
        for a, b in zip(original.instances, loaded.instances, strict=True):
            assert np.array_equal(a.mask, b.mask) and a.bbox_xywh == b.bbox_xywh
            assert b.extra == {"gate_score": 0.9, "verdict": "pass"}


def test_write_is_byte_stable_and_root_is_recorded(tmp_path):
    records = _records(tmp_path)
    first = write_coco(
        tmp_path / "annotations" / "a.json", records, CATEGORIES, root=tmp_path
    ).read_bytes()
    second = write_coco(
        tmp_path / "annotations" / "a.json", records, CATEGORIES, root=tmp_path
    ).read_bytes()
    assert first == second
    assert json.loads(first)["info"]["images_root"] == ".."
    assert read_coco(tmp_path / "annotations" / "a.json")[0].image_path.is_file()


def test_writer_rejects_unknown_category(tmp_path):
    records = _records(tmp_path, 1)
    records[0].instances[0].category_id = 99
    with pytest.raises(ValueError, match="does not match categories"):
        write_coco(tmp_path / "a.json", records, CATEGORIES)


def _broken(tmp_path):
    path = write_coco(tmp_path / "annotations.json", _records(tmp_path), CATEGORIES)
    document = json.loads(path.read_text())
    document["annotations"][0]["area"] = 5
    document["annotations"][1]["bbox"] = [0, 0, 3, 3]
    document["annotations"][2]["category_id"] = 42
    document["annotations"][3]["id"] = document["annotations"][4]["id"]
    path.write_text(json.dumps(document))
    return path


def test_check_finds_every_problem(tmp_path):
    report = check_coco(_broken(tmp_path))
    text = "\n".join(report.problems)
    assert not report.ok
    assert "area 5 != mask pixel count" in text
    assert "outside its bbox [0, 0, 3, 3]" in text
    assert "category_id 42 not in categories" in text
    assert "annotations: duplicate id" in text


def test_check_reports_missing_images(tmp_path):
    path = write_coco(tmp_path / "annotations.json", _records(tmp_path), CATEGORIES)
    (tmp_path / "images" / "img2.png").unlink()
    assert "file(s) missing" in "\n".join(check_coco(path).problems)


def test_cli_check_exits_2_on_a_broken_file(tmp_path):
    from flows.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["data", "check", str(_broken(tmp_path))])
    assert result.exit_code == 2
    assert "problem" in result.output
    good = write_coco(tmp_path / "good.json", _records(tmp_path), CATEGORIES)
    assert runner.invoke(app, ["data", "check", str(good)]).exit_code == 0
    (tmp_path / "junk.json").write_text("{not json")
    result = runner.invoke(app, ["data", "check", str(tmp_path / "junk.json")])
    assert result.exit_code == 2 and "cannot read COCO JSON" in result.output
