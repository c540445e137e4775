"""Reader of MVTec-AD-style folders: good images for train, defect folders with mask images.

<source>/train/good/*.png                      defect-free    -> split train
<source>/test/<defect>/*.png                   'good' or a defect -> split test (a seeded
                                               `layout.train_share` of each defect folder -> train)
<source>/ground_truth/<defect>/<stem>_mask.png one mask per defect image; each connected
                                               part becomes one instance of class <defect>
"""

from __future__ import annotations

from pathlib import Path

from conditioning.errors import DefectforgeError
from pipeline.data.reader_tools import (
    NO_PROVENANCE,
    check_class,
    images_in,
    mask_instances,
    seeded_split,
)
from pipeline.data.records import load_rgb
from pipeline.data.registry import DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir

GOOD = "good"


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Good train images, then every test image with its mask file (checked to exist)."""
    source = require_dir(source, info.name)
    layout = info.layout
    good = source / layout.good
    if not good.is_dir():
        raise DefectforgeError(f"{good}: folder of good images not found (layout.good)")
    items = [
        SourceItem("train", f"{GOOD}_{p.stem}", p.relative_to(source).as_posix(), {"image": str(p)})
        for p in images_in(good)
    ]
    test = source / layout.test
    if not test.is_dir():
        raise DefectforgeError(f"{test}: test folder not found (layout.test)")
    defects = []
    for folder in sorted(p for p in test.iterdir() if p.is_dir()):
        name = None
        if folder.name != GOOD:
            name = check_class(info, layout.defects.get(folder.name, folder.name), str(folder),
                               "add it there or map the folder in layout.defects")
        for path in images_in(folder):
            mask = None
            if name is not None:
                mask = source / layout.ground_truth / folder.name / f"{path.stem}{layout.mask_suffix}.png"
                if not mask.is_file():
                    raise DefectforgeError(f"{mask}: ground-truth mask of {path} not found (layout.ground_truth)")
                defects.append((path, folder.name))
            payload = {"image": str(path), "mask": None if mask is None else str(mask), "class": name}
            items.append(SourceItem("test", f"{folder.name}_{path.stem}", path.relative_to(source).as_posix(), payload))
    moved = seeded_split({p: folder for p, folder in defects}, layout.train_share, layout.seed)
    return [_moved(item, moved) for item in items]


def _moved(item: SourceItem, moved: dict) -> SourceItem:
    """A defect image that the seeded train share picked goes to train (the split says `test`
    for the picked share: `train_share` is the share taken out of test)."""
    if item.payload.get("mask") is not None and moved.get(Path(item.payload["image"])) == "test":
        return SourceItem("train", item.stem, item.origin, item.payload)
    return item


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels; instances from the connected parts of the mask (none for good images)."""
    image = load_rgb(item.payload["image"])
    mask_path = item.payload.get("mask")
    if mask_path is None:
        return LoadedItem(image, None, [], dict(NO_PROVENANCE))
    instances = mask_instances(info, mask_path, image.shape[:2], item.payload["class"], item.payload["image"])
    return LoadedItem(image, None, instances, dict(NO_PROVENANCE))
