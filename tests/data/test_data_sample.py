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


def _pieces(layer):
    import cv2

    return cv2.connectedComponents(layer.astype(np.uint8), connectivity=8)[0] - 1


def test_shorts_join_two_traces_and_mousebites_leave_their_trace_connected():
    """A short bridges the traces of two nets (a bridge to a pad looks like the trace's own
    connection); a mousebite never cuts its trace through (that would be an open)."""
    import cv2

    from pipeline.data.sample_board import make_board
    from pipeline.data.sample_defects import mousebite, short

    shorts = bites = 0
    for seed in range(40):
        board, rng = make_board(seed, 128), np.random.default_rng(seed)
        drawn = short(board, rng)
        if drawn is not None:
            mask = drawn[1]
            rim = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~mask
            traces = (board.nets > 0) & ~board.pads
            assert len(set(np.unique(board.nets[rim & traces])) - {0}) >= 2, seed
            shorts += 1
        drawn = mousebite(board, rng)
        if drawn is not None:
            bitten, mask = drawn
            net = board.nets == board.nets[mask][0]
            assert _pieces(net & bitten.copper) == _pieces(net & board.copper), seed
            bites += 1
    assert shorts > 20 and bites > 20
