"""Reader of any COCO detection/instance file per split (classes matched by name)."""

from __future__ import annotations

from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.data.coco_reader import read_coco
from pipeline.data.records import PROVENANCE_KEYS, InstanceRecord, load_rgb
from pipeline.data.registry import SPLITS, DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Every image of each split's COCO file; unknown category names are errors."""
    source = require_dir(source, info.name)
    items = []
    for split in SPLITS:
        split_layout = getattr(info.layout, split)
        coco_path = source / split_layout.annotations
        if not coco_path.is_file():
            raise DefectforgeError(
                f"{coco_path}: COCO file of split {split!r} not found (layout.{split}.annotations)"
            )
        images = source / split_layout.images
        clean = None if split_layout.clean is None else source / split_layout.clean
        for record in read_coco(coco_path, root=images):
            instances = []
            for instance in record.instances:
                if instance.class_name not in info.class_names:
                    raise DefectforgeError(
                        f"{coco_path}: category {instance.class_name!r} is not a class of "
                        f"datasets/{info.name}/dataset.yaml ({info.class_names}); add it there"
                    )
                instances.append(
                    (instance.class_name, instance.bbox_xywh, instance.rle, instance.extra)
                )
            relative = record.image_path.relative_to(images)
            items.append(
                SourceItem(
                    split,
                    relative.with_suffix("").as_posix().replace("/", "__"),
                    record.image_path.relative_to(source).as_posix()
                    if record.image_path.is_relative_to(source)
                    else str(record.image_path),
                    {
                        "image": str(record.image_path),
                        "clean": None if clean is None else str(clean / relative),
                        "size": (record.height, record.width),
                        "instances": instances,
                        "provenance": {
                            k: record.provenance.get(k) for k in PROVENANCE_KEYS if k != "source"
                        },
                        "coco": str(coco_path),
                    },
                )
            )
    return items


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels, optional clean reference, instances with dataset.yaml category ids."""
    payload = item.payload
    image = load_rgb(payload["image"])
    if image.shape[:2] != tuple(payload["size"]):
        raise DefectforgeError(
            f"{payload['image']}: image is {image.shape[1]}x{image.shape[0]} but {payload['coco']} "
            f"says {payload['size'][1]}x{payload['size'][0]}"
        )
    clean = None if payload["clean"] is None else load_rgb(payload["clean"])
    instances = [
        InstanceRecord(name, info.category_id(name), bbox, rle=rle, extra=extra)
        for name, bbox, rle, extra in payload["instances"]
    ]
    return LoadedItem(image, clean, instances, payload["provenance"])
