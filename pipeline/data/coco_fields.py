"""Type and bound every field of a COCO document before anything decodes or indexes it."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from conditioning.errors import DefectforgeError

MAX_SIDE = 65_536
"""Largest image width or height accepted (px)."""
MAX_PIXELS = 200_000_000
"""Largest declared image area decoded into a mask (about 200 MB per mask)."""
MAX_SHOWN = 20
"""At most this many problems per kind of record are listed (then a count)."""


class CocoFieldError(DefectforgeError):
    """A COCO file with wrongly typed fields; `problems` lists each, located."""

    def __init__(self, message: str, problems: list[str]):
        super().__init__(message)
        self.problems = problems


def field_problems(where: str, document: Any) -> list[str]:
    """Every wrongly typed or out-of-bounds field, each as `where: record: field: message`."""
    if not isinstance(document, dict):
        return [f"{where}: top level must be an object (got {_kind(document)})"]
    problems: list[str] = []
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            problems.append(f"{where}: `{key}` must be a list (got {_kind(document.get(key))})")
    info = document.get("info")
    if info is not None and not isinstance(info, dict):
        problems.append(f"{where}: `info` must be an object (got {_kind(info)})")
    elif isinstance(info, dict) and not isinstance(info.get("images_root", "."), str):
        problems.append(f"{where}: info.images_root must be a string")
    if problems:
        return problems
    checks = (("images", _image), ("annotations", _annotation), ("categories", _category))
    for key, check in checks:
        found: list[str] = []
        for index, item in enumerate(document[key]):
            label = f"{where}: {key}[{index}]"
            if not isinstance(item, dict):
                found.append(f"{label}: must be an object (got {_kind(item)})")
                continue
            found += [f"{label}: {message}" for message in check(item)]
        problems += found[:MAX_SHOWN]
        if len(found) > MAX_SHOWN:
            problems.append(f"{where}: {key}: {len(found) - MAX_SHOWN} more problem(s)")
    return problems


def _image(image: dict[str, Any]) -> list[str]:
    found = _integer(image, "id")
    for key in ("width", "height"):
        value = image.get(key)
        if not _is_int(value) or not 0 < value <= MAX_SIDE:
            found.append(f"`{key}` must be an integer in 1..{MAX_SIDE} (got {_show(value)})")
    if not found and image["width"] * image["height"] > MAX_PIXELS:
        found.append(
            f"{image['width']}x{image['height']} is more than {MAX_PIXELS:,} pixels; "
            "split or downscale the image"
        )
    for key in ("file_name", "clean_file_name"):
        if key in image and (key == "file_name" or image[key] is not None):
            problem = relative_path_problem(image.get(key))
            if problem:
                found.append(f"`{key}` {problem}")
    return found


def _annotation(annotation: dict[str, Any]) -> list[str]:
    found = _integer(annotation, "id") + _integer(annotation, "image_id")
    found += _integer(annotation, "category_id")
    bbox = annotation.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        found.append(f"`bbox` must be [x, y, w, h] numbers (got {_show(bbox)})")
    elif bbox[2] < 0 or bbox[3] < 0:
        found.append(f"`bbox` width and height must be >= 0 (got {bbox})")
    if "area" in annotation and not (_is_number(annotation["area"]) and annotation["area"] >= 0):
        found.append(f"`area` must be a number >= 0 (got {_show(annotation['area'])})")
    if annotation.get("iscrowd", 0) not in (0, 1) or isinstance(annotation.get("iscrowd"), bool):
        found.append(f"`iscrowd` must be 0 or 1 (got {_show(annotation.get('iscrowd'))})")
    problem = _segmentation_problem(annotation.get("segmentation"))
    if problem:
        found.append(f"`segmentation` {problem}")
    return found


def _category(category: dict[str, Any]) -> list[str]:
    found = _integer(category, "id")
    if not isinstance(category.get("name"), str) or not category["name"]:
        found.append(f"`name` must be a non-empty string (got {_show(category.get('name'))})")
    return found


def _segmentation_problem(segmentation: Any) -> str | None:
    if segmentation is None or segmentation == []:
        return None
    if isinstance(segmentation, list):
        for polygon in segmentation:
            if not (
                isinstance(polygon, list)
                and len(polygon) >= 6
                and len(polygon) % 2 == 0
                and all(_is_number(v) for v in polygon)
            ):
                return "polygons must be lists of >= 3 x, y number pairs"
        return None
    if not isinstance(segmentation, dict):
        return f"must be polygons or an RLE object (got {_kind(segmentation)})"
    size, counts = segmentation.get("size"), segmentation.get("counts")
    if not (
        isinstance(size, list)
        and len(size) == 2
        and all(_is_int(v) and 0 < v <= MAX_SIDE for v in size)
    ):
        return f"RLE `size` must be [height, width] integers in 1..{MAX_SIDE} (got {_show(size)})"
    if size[0] * size[1] > MAX_PIXELS:
        return f"RLE `size` {size} is more than {MAX_PIXELS:,} pixels"
    if isinstance(counts, list):
        if not all(_is_int(v) and v >= 0 for v in counts):
            return "RLE `counts` must be integers >= 0"
    elif isinstance(counts, str):
        counts = string_counts(counts)
        if counts is None:
            return "RLE `counts` is not a valid compressed RLE string"
    else:
        return f"RLE `counts` must be a string or a list of integers (got {_kind(counts)})"
    if sum(counts) != size[0] * size[1]:
        return f"RLE `counts` cover {sum(counts)} pixels, not height x width = {size[0] * size[1]}"
    return None


def string_counts(text: str) -> list[int] | None:
    """The run lengths of a compressed RLE string (pycocotools' `rleFrString`, in Python, so a
    malformed string is refused here instead of overrunning a buffer in C); None if invalid."""
    counts: list[int] = []
    position = 0
    while position < len(text):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                return None
            code = ord(text[position]) - 48
            if not 0 <= code < 64:
                return None
            value |= (code & 0x1F) << (5 * shift)
            more = bool(code & 0x20)
            position += 1
            shift += 1
            if not more and code & 0x10:
                value |= -1 << (5 * shift)
        if len(counts) > 2:
            value += counts[-2]
        if value < 0:
            return None
        counts.append(value)
    return counts


def relative_path_problem(name: Any) -> str | None:
    """Why `name` is not a relative path (where it resolves is checked by `data check`)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return f"must be a non-empty relative path (got {_show(name)})"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute():
        return f"must be relative to the images folder (got {_show(name)})"
    return None


def _integer(record: dict[str, Any], key: str) -> list[str]:
    value = record.get(key)
    return [] if _is_int(value) else [f"`{key}` must be an integer (got {_show(value)})"]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < float("inf")
    )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
