"""The folder, VOC, YOLO and MVTec readers, layout recognition, inpainted clean references and
their located errors, on tiny folders built in code."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from pipeline.data.layout_detect import detect_layout
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset


def _line(write_dataset, name, fmt, layout, clean="inpaint"):
    lines = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in layout.items())
    write_dataset(name, f"name: {name}\nlicense: test\nformat: {fmt}\nclean_reference: {clean}\n"
                        f"classes: [{{id: 1, name: scratch}}, {{id: 2, name: spot}}]\nlayout:\n{lines}\n")


def test_recognised_layouts(tmp_path, raw_sources):
    assert detect_layout(raw_sources.folder_beside(tmp_path / "a")).layout == {
        "images": "*/*.jpg", "masks": "{dir}/{stem}.png", "defect_free": "good/*"}
    assert detect_layout(raw_sources.folder_parallel(tmp_path / "b")).layout == {
        "images": "images/*/*.jpg", "masks": "masks/{parent}/{stem}.png"}
    assert detect_layout(raw_sources.voc(tmp_path / "c")).classes == ["scratch", "spot"]
    assert detect_layout(raw_sources.yolo(tmp_path / "d")).classes == ["scratch", "spot"]
    assert detect_layout(raw_sources.mvtec(tmp_path / "e")).layout["train_share"] == 0.3


def test_unknown_layout_says_what_was_tried(tmp_path):
    (tmp_path / "x" / "parts").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "x" / "parts" / "a.jpg"), np.zeros((8, 8), np.uint8))
    with pytest.raises(DefectforgeError) as error:
        detect_layout(tmp_path / "x")
    message = str(error.value)
    for line in ("mvtec: no train/good", "voc: no folder of .xml files", "yolo: no images/ and labels/",
                 "folder: no mask pattern fits every image (images */*.jpg with masks {dir}/{stem}.png: 0 of 1"):
        assert line in message


def test_folder_reader_splits_per_class_and_inpaints(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.folder_beside(tmp_path / "raw")
    _line(write_dataset, "grey", "folder",
          {"images": "*/*.jpg", "masks": "{dir}/{stem}.png", "defect_free": "good/*", "test_share": 0.25})
    prepare_dataset("grey", source, progress=False)
    prepared = PreparedDataset("grey")
    test = prepared.records("test")
    assert sorted(r.image_path.stem.split("__")[0] for r in test) == ["good", "scratch", "scratch", "spot", "spot"]
    for record in prepared.records("train"):
        image, clean = record.load_image(), record.load_clean()
        assert image.shape == (48, 72, 3) and clean is not None
        changed = (image != clean).any(-1)
        if not record.instances:
            assert not changed.any()  # a defect-free image is its own clean reference
            continue
        from pipeline.data.clean_reference import defect_region

        inside = defect_region(image.shape[:2], record.instances, prepared.info.inpaint.dilate_px)
        assert changed.any() and not (changed & ~inside).any()  # only the dilated masks were filled
    assert prepared.manifest["greyscale"] is True
    assert cv2.imread(str(test[0].image_path), cv2.IMREAD_UNCHANGED).ndim == 2


def test_folder_reader_missing_mask_is_located(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.folder_beside(tmp_path / "raw")
    (source / "spot" / "001.png").unlink()
    _line(write_dataset, "grey", "folder", {"images": "*/*.jpg", "masks": "{dir}/{stem}.png", "defect_free": "good/*"})
    with pytest.raises(DefectforgeError, match=r"spot/001\.png: mask of .*spot/001\.jpg not found \(layout\.masks"):
        prepare_dataset("grey", source, progress=False)


def test_voc_refuses_entities_and_names_bad_boxes(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.voc(tmp_path / "raw")
    _line(write_dataset, "steel", "voc", {})
    bomb = source / "Annotations" / "s000.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><annotation>&x;</annotation>')
    with pytest.raises(DefectforgeError, match=r"s000\.xml: not a readable Pascal VOC XML file"):
        prepare_dataset("steel", source, progress=False)
    bomb.write_text("<annotation><object><name>spot</name><bndbox><xmin>4</xmin></bndbox></object></annotation>")
    with pytest.raises(DefectforgeError, match=r"s000\.xml: object 1 \(spot\) needs <bndbox> with numeric"):
        prepare_dataset("steel", source, progress=False)


def test_voc_boxes_without_clean_images(tmp_path, runs, write_dataset, raw_sources):
    _line(write_dataset, "steel", "voc", {})
    prepare_dataset("steel", raw_sources.voc(tmp_path / "raw"), progress=False)
    records = PreparedDataset("steel").records("train")
    assert records and all(r.instances and r.clean_path for r in records)
    assert {i.extra.get("mask_source") for r in records for i in r.instances} == {"box"}


def test_yolo_rows_are_checked_with_file_and_line(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.yolo(tmp_path / "raw")
    _line(write_dataset, "cast", "yolo", {})
    prepare_dataset("cast", source, progress=False)
    prepared = PreparedDataset("cast")
    assert len(prepared.records("test")) == 4 and len(prepared.records("train")) == 12  # val/ -> test
    assert prepared.manifest["greyscale"] is False
    (source / "labels" / "train" / "000.txt").write_text("0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DefectforgeError, match=r"000\.txt:2: class 7 is not a position"):
        prepare_dataset("cast", source, progress=False, force=True)


def test_mvtec_train_share_moves_a_seeded_share(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.mvtec(tmp_path / "raw")
    _line(write_dataset, "mv", "mvtec", {"train_share": 0.3, "seed": 1})
    prepare_dataset("mv", source, progress=False)
    train = PreparedDataset("mv").records("train")
    moved = sorted(r.image_path.stem for r in train if r.instances)
    assert len(moved) == 4 and {m.split("_")[0] for m in moved} == {"scratch", "spot"}  # round(0.3 * 7) each
    assert all(r.clean_path for r in train)


def test_no_defects_in_train_is_a_located_error(tmp_path, runs, write_dataset, raw_sources):
    from pipeline.training_data import load_training_data

    _line(write_dataset, "mv", "mvtec", {}, clean="good_images")
    prepare_dataset("mv", raw_sources.mvtec(tmp_path / "raw"), progress=False)
    with pytest.raises(DefectforgeError, match=r"train\.json: the train split \(6 images\) holds no defect "
                                               r"instance.*set `layout\.train_share: 0\.3`"):
        load_training_data("mv", None)


def test_defect_free_images_are_their_own_background_pool(tmp_path, runs, write_dataset, raw_sources):
    from pipeline.data.budget import choose_real_budget, save_budget
    from pipeline.training_data import background_pool

    _line(write_dataset, "grey", "folder",
          {"images": "*/*.jpg", "masks": "{dir}/{stem}.png", "defect_free": "good/*", "test_share": 0.25})
    prepare_dataset("grey", raw_sources.folder_beside(tmp_path / "raw"), progress=False)
    prepared = PreparedDataset("grey")
    free = {r.image_path.name for r in prepared.records("train") if not r.instances}
    budget = choose_real_budget(prepared.coco_path("train"), 4, 0, defects_only=True)
    assert len(budget.image_ids) == 4 and not free & {Path(n).name for n in budget.file_names}  # k: defects only
    pool = background_pool(prepared, save_budget(budget, tmp_path / "b.json"))
    assert len(pool) == 4 + len(free) and {p.name for p in pool} >= free  # defect-free: extra backgrounds


def test_inpaint_error_on_held_out_clean_regions(tmp_path, runs, write_dataset, raw_sources):
    from pipeline.inpaint_error import clean_reconstruction_error, held_out_regions

    _line(write_dataset, "steel", "voc", {})
    prepare_dataset("steel", raw_sources.voc(tmp_path / "raw"), progress=False)
    record = PreparedDataset("steel").records("train")[0]
    from pipeline.data.clean_reference import defect_region

    defects = defect_region((record.height, record.width), record.instances, 3)
    regions = held_out_regions(record, 3, np.random.default_rng(0))
    assert regions and not any((r & defects).any() for r in regions)
    report = clean_reconstruction_error("steel")
    assert report["regions"] > 0 and 0 < report["mae"]["telea"] < 60 and report["mae"]["ns"] > 0
