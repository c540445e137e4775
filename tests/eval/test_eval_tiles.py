"""Tiling keeps pixels, masks and clean references aligned."""

import numpy as np

from eval.tiles import tile_coco, tile_starts
from pipeline.data.coco_reader import read_coco

CATEGORIES = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}]


def test_tile_starts_cover_the_image():
    assert tile_starts(640, 320) == [0, 320]
    assert tile_starts(96, 64) == [0, 32]
    assert tile_starts(50, 64) == [0]


def test_tiles_keep_defect_pixels_and_masks(toy_dataset, tmp_path):
    source = read_coco(toy_dataset / "annotations" / "train.json")[:3]
    from pipeline.data.coco_writer import write_coco

    coco = write_coco(tmp_path / "src.json", source, CATEGORIES)
    tiles = read_coco(tile_coco(coco, 64, tmp_path / "tiles", CATEGORIES))
    assert len(tiles) == 3 * 4
    for tile in tiles:
        image, clean = tile.load_image(), tile.load_clean()
        assert image.shape == clean.shape == (64, 64, 3)
        for inst in tile.instances:
            assert inst.mask.shape == (64, 64)
            assert (image[inst.mask] != clean[inst.mask]).any()
    # each source defect pixel shows up in some tile (tiles overlap at 96 px)
    src_pixels = sum(int(i.mask.sum()) for r in source for i in r.instances)
    tile_pixels = sum(int(i.mask.sum()) for t in tiles for i in t.instances)
    assert tile_pixels >= src_pixels
    assert np.array_equal(tiles[0].load_image(), source[0].load_image()[:64, :64])


def test_tiles_keep_the_annotated_boxes_not_tight_mask_boxes(toy_dataset, tmp_path):
    """Real boxes drawn 5 px past their masks stay 5 px past them in the tiles (clipped to the
    tile), as the test split's boxes do."""
    from pipeline.data.coco_writer import write_coco
    from pipeline.labels.style import grow_box, margins

    source = read_coco(toy_dataset / "annotations" / "train.json")[:3]
    for record in source:
        for inst in record.instances:
            inst.bbox_xywh = grow_box(inst.mask, (5, 5, 5, 5))
    coco = write_coco(tmp_path / "loose.json", source, CATEGORIES, root=toy_dataset)
    tiles = read_coco(tile_coco(coco, 64, tmp_path / "tiles", CATEGORIES))
    inside = [margins(i.bbox_xywh, i.mask) for t in tiles for i in t.instances
              if all(6 <= v and v + 6 <= 64 for v in (i.bbox_xywh[0], i.bbox_xywh[1]))
              and i.bbox_xywh[0] + i.bbox_xywh[2] <= 58 and i.bbox_xywh[1] + i.bbox_xywh[3] <= 58]
    assert inside and all(m == (5, 5, 5, 5) for m in inside)
