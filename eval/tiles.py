"""Cut labelled images into square tiles (defects keep their pixel size at a smaller imgsz)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.data.atomic import write_png
from pipeline.data.coco_reader import read_coco
from pipeline.data.coco_writer import write_coco
from pipeline.data.records import ImageRecord, InstanceRecord

MIN_TILE_PIXELS = 4
"""A defect cut by a tile border keeps its part in a tile when it has at least this many pixels."""


def tile_starts(length: int, size: int) -> list[int]:
    """Tile origins covering `length`: non-overlapping, the last one flush with the edge."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, size))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def tile_record(record: ImageRecord, size: int, out_dir: Path, prefix: str) -> list[ImageRecord]:
    """The tiles of one image (clean tiles too when it has a clean reference)."""
    image, clean = record.load_image(), record.load_clean()
    masks = [(inst, inst.mask) for inst in record.instances]
    tiles = []
    for y in tile_starts(record.height, size):
        for x in tile_starts(record.width, size):
            name = f"{prefix}_y{y}_x{x}.png"
            crop = (slice(y, y + size), slice(x, x + size))
            write_png(out_dir / "images" / name, image[crop])
            clean_path = None
            if clean is not None:
                clean_path = out_dir / "clean" / name
                write_png(clean_path, clean[crop])
            h, w = image[crop].shape[:2]
            instances = [
                InstanceRecord(inst.class_name, inst.category_id,
                               tile_box(inst.bbox_xywh, x, y, w, h), mask=mask[crop])
                for inst, mask in masks
                if int(mask[crop].sum()) >= MIN_TILE_PIXELS
            ]
            tiles.append(
                ImageRecord(out_dir / "images" / name, clean_path, w, h, instances,
                            {**record.provenance, "tile_of": record.image_path.name})
            )
    return tiles


def tile_box(box: tuple[float, ...], x: int, y: int, width: int,
             height: int) -> tuple[float, float, float, float]:
    """An annotated [x, y, w, h] box in the coordinates of the tile at (x, y), clipped to it: the
    annotator's box, not the mask's tight one (the test split keeps its annotated boxes too)."""
    bx, by, bw, bh = box
    x0, y0 = max(0.0, bx - x), max(0.0, by - y)
    x1, y1 = min(float(width), bx + bw - x), min(float(height), by + bh - y)
    return (x0, y0, x1 - x0, y1 - y0)


def tile_coco(coco_path: Path, size: int, out_dir: Path, categories: list[dict[str, Any]]) -> Path:
    """Tile every image of a COCO set; returns the tiled COCO path (reused when present)."""
    target = out_dir / "annotations.json"
    if target.is_file():
        return target
    tiles = []
    for index, record in enumerate(read_coco(coco_path)):
        tiles.extend(tile_record(record, size, out_dir, f"{index:06d}_{record.image_path.stem}"))
    return write_coco(target, tiles, categories)
