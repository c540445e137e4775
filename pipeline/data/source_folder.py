"""Reader of plain folders: defect images by glob, one mask image per defect image, a class per folder.

<source>/<class>/<stem>.jpg  + <source>/<class>/<stem>.png      masks beside the images
<source>/images/<class>/x.jpg + <source>/masks/<class>/x.png     masks in a parallel folder
<source>/good/*.jpg                                               defect-free (layout.defect_free)

`layout.masks` is the mask path pattern ({dir}, {parent}, {stem}); each connected part of a mask
is one instance of the image's class (its folder name, or `layout.class_map`). Images are split
per class, seeded (`layout.test_share`, `layout.seed`).
"""

from __future__ import annotations

from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.data.reader_tools import (
    NO_PROVENANCE,
    check_class,
    glob_images,
    mask_instances,
    seeded_split,
)
from pipeline.data.records import load_rgb
from pipeline.data.registry import DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir

DEFECT_FREE = "(defect-free)"


def mask_path(source: Path, pattern: str, image: Path) -> Path:
    """The mask file of `image` under the layout's `masks` pattern."""
    relative = image.relative_to(source)
    try:
        return source / pattern.format(dir=relative.parent.as_posix(), parent=image.parent.name, stem=image.stem)
    except (KeyError, IndexError, ValueError) as error:
        raise DefectforgeError(
            f"layout.masks {pattern!r}: unknown placeholder {error}; use {{dir}}, {{parent}}, {{stem}}"
        ) from error


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Defect images with their masks (checked to exist) and defect-free images, split per class."""
    source = require_dir(source, info.name)
    layout = info.layout
    free = glob_images(source, layout.defect_free, "layout.defect_free") if layout.defect_free else []
    candidates = [p for p in glob_images(source, layout.images, "layout.images") if p not in set(free)]
    masks = {p: mask_path(source, layout.masks, p) for p in candidates}
    mask_files = set(masks.values())
    defects = [p for p in candidates if p not in mask_files]
    if not defects:
        raise DefectforgeError(f"{source}: every file matching layout.images {layout.images!r} is a mask")
    classes = {}
    for image in defects:
        if not masks[image].is_file():
            raise DefectforgeError(
                f"{masks[image]}: mask of {image} not found (layout.masks {layout.masks!r}); "
                "fix the pattern or add the mask"
            )
        folder = image.parent.name
        classes[image] = check_class(info, layout.class_map.get(folder, folder), str(image.parent),
                                     "add it there or map the folder in layout.class_map")
    split = seeded_split({**classes, **dict.fromkeys(free, DEFECT_FREE)}, layout.test_share, layout.seed)
    items = []
    for image in [*defects, *free]:
        stem = image.relative_to(source).with_suffix("").as_posix().replace("/", "__")
        payload = {"image": str(image), "mask": str(masks[image]) if image in classes else None,
                   "class": classes.get(image)}
        items.append(SourceItem(split[image], stem, image.relative_to(source).as_posix(), payload))
    return items


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels; one instance per connected part of the mask (none for defect-free images)."""
    image = load_rgb(item.payload["image"])
    if item.payload["mask"] is None:
        return LoadedItem(image, None, [], dict(NO_PROVENANCE))
    instances = mask_instances(info, item.payload["mask"], image.shape[:2], item.payload["class"], item.payload["image"])
    return LoadedItem(image, None, instances, dict(NO_PROVENANCE))
