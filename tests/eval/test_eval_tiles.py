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
