"""`defectforge data init NAME --source DIR`: recognise a folder's layout and write a commented
`dataset.yaml` plus a starting `defects.yaml` fitted to the real masks or boxes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from conditioning.errors import DefectforgeError
from pipeline.data.atomic import write_bytes
from pipeline.data.layout_detect import Guess, detect_layout
from pipeline.data.layouts import FolderLayout, MvtecLayout, VocLayout, YoloLayout
from pipeline.data.registry import DatasetInfo, dataset_dir
from pipeline.data.sources import reader
from pipeline.data.spec_fit import ClassStats, fit_spec_text

MEASURED_IMAGES = 400
"""At most this many images (evenly spaced) are read to fit the starting defects.yaml."""
LAYOUT_MODELS = {"mvtec": MvtecLayout, "folder": FolderLayout, "voc": VocLayout, "yolo": YoloLayout}
CLASS_MAP_KEY = {"mvtec": "defects", "folder": "class_map", "voc": "class_map"}
CLEAN_COMMENTS = {
    "inpaint": "real defects are inpainted away (OpenCV, inside the dilated masks/boxes) to make "
    "each image's clean reference; defect-free images are their own (after a stage-1 training, "
    "`model` fills them with the trained base instead: README, Bring your own line)",
    "good_images": "defect-free images are their own clean reference; defect images have none "
    "(use inpaint to train a generator on them)",
}


@dataclass
class InitResult:
    """What `init_line` wrote and recognised."""

    dataset_yaml: Path
    defects_yaml: Path
    guess: Guess
    measured_images: int
    instances: dict[str, int]


def init_line(name: str, source: str | Path, *, force: bool = False) -> InitResult:
    """Write `<datasets root>/<name>/dataset.yaml` and `defects.yaml` for the raw folder `source`."""
    # 1. a valid name, and no line of that name unless --force
    if not re.fullmatch(r"[a-z0-9_\-]+", name):
        raise DefectforgeError(f"NAME {name!r}: use lower-case letters, digits, '-' and '_' only")
    folder = dataset_dir(name)
    if (folder / "dataset.yaml").exists() and not force:
        raise DefectforgeError(f"{folder / 'dataset.yaml'}: already exists; pass --force to overwrite it")
    # 2. recognise the layout; class names made valid (the original names kept in a map)
    source = Path(source).expanduser().resolve()
    guess = detect_layout(source)
    classes = _valid_classes(guess)
    text = dataset_yaml_text(name, source, guess, classes)
    info = _validate(folder / "dataset.yaml", text)
    # 3. measure the real instances, fit the starting spec, write both files
    stats, per_image, measured = measure_instances(info, source)
    spec = fit_spec_text(name, info.class_names, stats, per_image)
    from conditioning.spec_errors import parse_and_validate

    write_bytes(folder / "dataset.yaml", text.encode())
    write_bytes(folder / "defects.yaml", spec.encode())
    parse_and_validate(folder / "defects.yaml")
    counts = {c: len(stats[c].sizes) for c in info.class_names}
    return InitResult(folder / "dataset.yaml", folder / "defects.yaml", guess, measured, counts)


def _valid_classes(guess: Guess) -> list[str]:
    """Class names as dataset.yaml allows them; renamed source names go into the layout's map."""
    valid = []
    for original in guess.classes:
        clean = re.sub(r"[^A-Za-z0-9_\-]+", "-", original).strip("-") or "defect"
        if clean != original and guess.format in CLASS_MAP_KEY:
            guess.layout.setdefault(CLASS_MAP_KEY[guess.format], {})[original] = clean
        valid.append(clean)
    return valid


def dataset_yaml_text(name: str, source: Path, guess: Guess, classes: list[str]) -> str:
    """dataset.yaml with a comment on every value."""
    fields = LAYOUT_MODELS[guess.format].model_fields
    lines = [
        f"# Product line `{name}`, written by `defectforge data init` from {source}",
        f"# (recognised as `{guess.format}`). Next: `defectforge data prepare {name}`.",
        f"name: {name}",
        "license: unknown                 # the data's license: fill in before sharing the line",
        "source:",
        f"  path: {yaml.safe_dump(str(source), default_style=chr(34)).strip()}   # raw data folder (`--source` overrides)",
        f"format: {guess.format}                   # reader: mvtec | folder | voc | yolo | coco | deeppcb | sample",
        f"clean_reference: {guess.clean_reference}          # {CLEAN_COMMENTS[guess.clean_reference]}",
        "classes:                         # COCO ids; this order = YOLO index = defects.yaml `classes`",
        *(f"  - {{id: {i}, name: {c}}}" for i, c in enumerate(classes, start=1)),
        "layout:                          # where the reader finds images, masks or boxes",
    ]
    for key, value in guess.layout.items():
        dumped = yaml.safe_dump({key: value}, default_flow_style=True, width=1000).strip()[1:-1]
        lines.append(f"  {dumped}   # {fields[key].description}")
    lines += [f"# {note}" for note in guess.notes]
    return "\n".join(lines) + "\n"


def _validate(path: Path, text: str) -> DatasetInfo:
    from pydantic import ValidationError

    try:
        return DatasetInfo.model_validate(yaml.safe_load(text))
    except ValidationError as error:  # a detector bug, not a user mistake
        raise DefectforgeError(f"{path}: the recognised layout does not validate: {error}") from error


def measure_instances(info: DatasetInfo, source: Path) -> tuple[dict[str, ClassStats], list[int], int]:
    """Box sizes, mask areas and counts per class over at most MEASURED_IMAGES images."""
    module = reader(info.format)
    items = module.list_items(info, source)
    chosen = np.unique(np.linspace(0, len(items) - 1, min(len(items), MEASURED_IMAGES)).round().astype(int))
    stats = {c: ClassStats() for c in info.class_names}
    per_image = []
    for index in chosen:
        instances = module.load_item(info, items[index]).instances
        if not instances:
            continue
        per_image.append(len(instances))
        for name in {i.class_name for i in instances}:
            stats[name].counts.append(sum(i.class_name == name for i in instances))
        for instance in instances:
            _, _, w, h = instance.bbox_xywh
            stats[instance.class_name].sizes.append((w, h, float(instance.mask.sum())))
    return stats, per_image, len(chosen)
