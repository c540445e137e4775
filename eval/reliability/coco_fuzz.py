"""Seeded hostile COCO files: a small valid document, then one mutation that makes it invalid.

One function per mutation, `(rng, document) -> bytes`, in one registry `COCO_MUTATIONS`.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

CocoMutation = Callable[[random.Random, dict[str, Any]], bytes]


def base_coco(images: int = 3) -> dict[str, Any]:
    """A valid COCO document: `images` 16x16 images (`img<i>.png`, written by
    `write_base_images`), one 4x4 polygon defect each."""
    document: dict[str, Any] = {"info": {"images_root": "."}, "images": [], "annotations": [],
                                "categories": [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}]}  # fmt: skip
    for index in range(1, images + 1):
        document["images"].append({"id": index, "file_name": f"img{index}.png", "width": 16,
                                   "height": 16})  # fmt: skip
        document["annotations"].append({
            "id": index, "image_id": index, "category_id": 1 + index % 2, "bbox": [2, 2, 4, 4],
            "area": 16, "iscrowd": 0, "segmentation": [[2, 2, 6, 2, 6, 6, 2, 6]]})  # fmt: skip
    return document


def write_base_images(folder: Path, images: int = 4) -> None:
    """The PNG files `base_coco` names, so that only the mutation makes a file invalid."""
    import numpy as np

    from pipeline.data.atomic import write_png

    for index in range(1, images + 1):
        write_png(folder / f"img{index}.png", np.full((16, 16, 3), 40 * index, np.uint8))


def mutated_coco(rng: random.Random) -> tuple[str, bytes]:
    """(mutation name, file bytes)."""
    name = rng.choice(sorted(COCO_MUTATIONS))
    return name, COCO_MUTATIONS[name](rng, base_coco(rng.randint(1, 4)))


def _dump(document: Any) -> bytes:
    return json.dumps(document).encode()


_WRONG: dict[tuple[str, str], list[Any]] = {
    ("images", "id"): ["1", None, True, 1.5, [], {}],
    ("images", "width"): ["128", None, True, -5, 0, 1.5, [], 70_000],
    ("images", "height"): ["128", None, True, -5, 0, 1.5, {}, 70_000],
    ("images", "file_name"): [None, 7, [], "../x.png", "/abs.png", "missing.png"],
    ("annotations", "id"): ["1", None, True, 1.5, [], {}],
    ("annotations", "image_id"): ["1", None, True, 1.5, -5, 999],
    ("annotations", "category_id"): ["1", None, True, 1.5, -5, 999],
    ("annotations", "bbox"): ["x", None, [1, 2, 3], [1, "a", 2, 2], {}, [1, 1, -2, 2]],
    ("annotations", "iscrowd"): [2, True, "0", None, 1.5],
    ("annotations", "segmentation"): ["x", 5, True, {"a": 1}, [1, 2]],
    ("annotations", "area"): ["128", True, -5, [], None, float("nan")],
    ("categories", "id"): ["1", None, True, 1.5],
    ("categories", "name"): [None, 5, "", [], True],
}
"""Per field, values it never accepts (valid ones like an empty segmentation are left out)."""


def _field_type(rng: random.Random, document: dict) -> bytes:
    key, field = rng.choice(sorted(_WRONG))
    rng.choice(document[key])[field] = rng.choice(_WRONG[(key, field)])
    return _dump(document)


def _top_level(rng: random.Random, document: dict) -> bytes:
    key = rng.choice(["images", "annotations", "categories", "info"])
    document[key] = rng.choice([{"id": 1}, 3, "x", None, [1, 2]] if key != "info" else ["x", 5, []])
    return _dump(document)


def _records_not_objects(rng: random.Random, document: dict) -> bytes:
    key = rng.choice(["images", "annotations", "categories"])
    document[key] = rng.choice([["a", "b"], [1], [None], [[]]])
    return _dump(document)


def _sizes(rng: random.Random, document: dict) -> bytes:
    image = rng.choice(document["images"])
    side = rng.choice([200_000, 70_000, -16, 0, 2**40])
    image[rng.choice(["width", "height"])] = side
    if rng.random() < 0.5 and side > 0:
        image["width"] = image["height"] = side
        annotation = next(a for a in document["annotations"] if a["image_id"] == image["id"])
        annotation["segmentation"] = {"size": [side, side], "counts": [side * side]}
    return _dump(document)


def _file_name(rng: random.Random, document: dict) -> bytes:
    image = rng.choice(document["images"])
    image[rng.choice(["file_name", "clean_file_name"])] = rng.choice(
        ["../../../../../etc/passwd", "/etc/passwd", "a/../../b.png", "", "C:\\\\x.png", "..", 7])
    return _dump(document)


def _bbox(rng: random.Random, document: dict) -> bytes:
    annotation = rng.choice(document["annotations"])
    annotation["bbox"] = rng.choice([[1, 1, -2, 2], [1, "a", 2, 2], [1, 2, 3], "x", None,
                                     [0, 0, 0, 0], [50, 50, 4, 4], [True, 1, 2, 2]])  # fmt: skip
    return _dump(document)


def _rle(rng: random.Random, document: dict) -> bytes:
    annotation = rng.choice(document["annotations"])
    annotation["segmentation"] = rng.choice([
        {"size": [16, 16], "counts": "zzzz"}, {"size": [16, 16], "counts": [10, 999]},
        {"size": [16, 16], "counts": [-5, 261]}, {"size": [16], "counts": "0"},
        {"size": [16, 16], "counts": "\u00e9\u00e9"}, {"size": [16, 16]}, {"counts": "0"},
        [[1, 2, 3]], [["a", 1, 2, 3, 4, 5]], [[1, 1, 2, 2]], {"size": [16, 16], "counts": 5},
    ])  # fmt: skip
    return _dump(document)


def _references(rng: random.Random, document: dict) -> bytes:
    annotation = rng.choice(document["annotations"])
    if rng.random() < 0.5:
        annotation["image_id"] = 999
    else:
        annotation["category_id"] = 999
    return _dump(document)


def _duplicate_ids(rng: random.Random, document: dict) -> bytes:
    key = rng.choice(["images", "annotations", "categories"])
    document[key].append(copy.deepcopy(document[key][0]))
    return _dump(document)


def _bytes(rng: random.Random, document: dict) -> bytes:
    data = _dump(document)
    kind = rng.choice(["truncate", "utf16", "binary", "deep", "empty"])
    if kind == "truncate":
        return data[: rng.randrange(1, len(data) - 1)]
    if kind == "utf16":
        return data.decode().encode("utf-16")
    if kind == "binary":
        position = rng.randrange(len(data))
        return data[:position] + b"\xff\xfe\x00" + data[position:]
    if kind == "deep":
        depth = rng.choice([10_000, 200_000])
        return b'{"images": ' + b"[" * depth + b"]" * depth + b', "annotations": [], "categories": []}'
    return b""


COCO_MUTATIONS: dict[str, CocoMutation] = {
    "field_type": _field_type, "top_level": _top_level, "records": _records_not_objects,
    "sizes": _sizes, "file_name": _file_name, "bbox": _bbox, "rle": _rle,
    "references": _references, "duplicate_ids": _duplicate_ids, "bytes": _bytes,
}  # fmt: skip
"""Every hostile mutation of a COCO file, by name."""
