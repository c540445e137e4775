"""The procedural sample line: exact masks, clean references, deterministic preparation."""

import json

import numpy as np
import pytest

from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset


def test_tiny_sample_counts_and_layout(tiny_sample):
    root = tiny_sample.root
    assert {p.name for p in root.iterdir()} == {"images", "clean", "annotations", "manifest.json",
                                               ".defectforge-output"}
    manifest = tiny_sample.manifest
    assert manifest["splits"]["train"]["images"] == 14
    assert manifest["splits"]["train"]["defect_free_images"] == 2
    assert manifest["splits"]["test"]["images"] == 6
    records = tiny_sample.records("train")
    assert [r.image_path.name for r in records] == sorted(r.image_path.name for r in records)
    image = json.loads(tiny_sample.coco_path("train").read_text())["images"][0]
    assert image["clean_file_name"] == "clean/train/train_0000.png"
    assert image["generator"] == "defectforge.sample" and image["spec_hash"] is None


def test_masks_are_exact(tiny_sample):
    """Outside the (slightly grown) masks the image equals its clean reference; inside it changes."""
    import cv2

    for record in tiny_sample.records("train") + tiny_sample.records("test"):
        image, clean = record.load_image().astype(int), record.load_clean().astype(int)
        union = np.zeros(image.shape[:2], bool)
        for instance in record.instances:
            mask = instance.mask
            assert mask.any()
            assert np.abs(image - clean)[mask].max() > 20, instance
            union |= mask
        halo = cv2.dilate(union.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        assert np.abs(image - clean)[~halo].max(initial=0) == 0


def test_prepare_is_idempotent_and_deterministic(tiny_sample):
    root = tiny_sample.root
    before = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert prepare_dataset("tiny", progress=False) == root  # up to date: kept as is
    prepare_dataset("tiny", force=True, progress=False, workers=2)
    after = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert before == after
    assert not list(root.parent.glob(".tiny.*"))


@pytest.mark.slow
def test_bundled_sample_dataset(runs):
    root = prepare_dataset("sample", progress=False)
    prepared = PreparedDataset("sample")
    assert prepared.root == root
    splits = prepared.manifest["splits"]
    assert splits["train"]["images"] + splits["test"]["images"] == 300
    assert all(n > 0 for n in splits["train"]["instances_per_class"].values())
    assert prepared.records("test")[0].load_image().shape == (128, 128, 3)
