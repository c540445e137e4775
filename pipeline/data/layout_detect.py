"""Recognise the layout of a raw data folder: MVTec, Pascal VOC, YOLO or plain folders with masks.

Each detector returns a `Guess` (format, layout, classes, clean reference) or raises `NoFit`
with the reason; `detect_layout` tries them in order and, when none fits, says why each did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conditioning.errors import DefectforgeError
from pipeline.data.reader_tools import IMAGE_SUFFIXES
from pipeline.data.source_folder import mask_path
from pipeline.data.source_voc import read_boxes

DEFECT_FREE_NAMES = ("good", "ok", "normal", "clean", "defect-free", "defect_free", "no_defect", "negative")
MASK_ROOTS = ("masks", "mask", "ground_truth", "groundtruth", "gt", "annotations", "labels")
IMAGE_ROOTS = ("images", "imgs", "img", "image")
BESIDE_PATTERNS = ("{stem}.png", "{stem}_mask.png", "{stem}_gt.png", "{stem}_label.png")


class NoFit(Exception):
    """This layout does not fit the folder; the message says why."""


@dataclass
class Guess:
    """A recognised layout: what dataset.yaml needs, and how it was recognised."""

    format: str
    layout: dict
    classes: list[str]
    clean_reference: str
    notes: list[str] = field(default_factory=list)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def mvtec(source: Path) -> Guess:
    """train/good/, test/<defect>/, ground_truth/<defect>/<stem>_mask.png."""
    needed = [source / "train" / "good", source / "test", source / "ground_truth"]
    missing = [p.relative_to(source).as_posix() for p in needed if not p.is_dir()]
    if missing:
        raise NoFit(f"no {', '.join(missing)} folder")
    classes = [d.name for d in _dirs(source / "test") if d.name != "good"]
    if not classes:
        raise NoFit("test/ holds no defect folder besides good/")
    return Guess("mvtec", {"train_share": 0.3, "seed": 0}, classes, "inpaint",
                 ["train_share 0.3: a seeded 30 % of each defect folder moves into train (MVTec keeps all in test)"])


def voc(source: Path) -> Guess:
    """Annotations/*.xml (Pascal VOC boxes) and an image folder with the same stems."""
    folder = next((d for d in [source / "Annotations", *_dirs(source)] if d.is_dir() and any(d.glob("*.xml"))), None)
    if folder is None:
        raise NoFit("no folder of .xml files")
    names, stems = set(), set()
    for xml in sorted(folder.glob("*.xml")):
        try:
            _, boxes = read_boxes(xml)
        except DefectforgeError as error:
            raise NoFit(str(error)) from error
        names |= {n for n, _ in boxes}
        stems.add(xml.stem)
    images = next((d for d in [source / "JPEGImages", *_dirs(source)]
                   if d.is_dir() and d != folder and {p.stem for p in _images(d)} >= stems), None)
    if images is None:
        raise NoFit(f"no image folder holds an image for every XML of {folder.name}/")
    if not names:
        raise NoFit(f"the XML files of {folder.name}/ hold no <object>")
    return Guess("voc", {"annotations": folder.name, "images": images.name}, sorted(names), "inpaint")


def yolo(source: Path) -> Guess:
    """images/[split/]*.jpg with labels/[split/]*.txt; names from data.yaml / classes.txt."""
    if not (source / "images").is_dir() or not (source / "labels").is_dir():
        raise NoFit("no images/ and labels/ folders")
    rows = [line.split() for t in (source / "labels").rglob("*.txt") for line in t.read_text().splitlines() if line.strip()]
    if not rows:
        raise NoFit("labels/ holds no label row")
    try:
        count = max(int(r[0]) for r in rows) + 1
    except ValueError as error:
        raise NoFit(f"labels/ rows do not start with a class index ({error})") from error
    names = _yolo_names(source) or [f"class{i}" for i in range(count)]
    if len(names) < count:
        raise NoFit(f"labels use class index {count - 1} but only {len(names)} names are given")
    return Guess("yolo", {"images": "images", "labels": "labels"}, names, "inpaint")


def _yolo_names(source: Path) -> list[str] | None:
    for file in (source / "data.yaml", source / "dataset.yaml"):
        if file.is_file():
            names = (yaml.safe_load(file.read_text()) or {}).get("names")
            if isinstance(names, dict):
                return [str(names[k]) for k in sorted(names)]
            if isinstance(names, list):
                return [str(n) for n in names]
    file = source / "classes.txt"
    return [n.strip() for n in file.read_text().splitlines() if n.strip()] if file.is_file() else None


def folder(source: Path) -> Guess:
    """<class>/<stem>.jpg with masks beside them or in a parallel folder; defect-free folder."""
    tried = []
    for images_root in [None, *(source / n for n in IMAGE_ROOTS if (source / n).is_dir())]:
        base = images_root or source
        free = next((d for d in _dirs(base) + _dirs(source) if d.name.lower() in DEFECT_FREE_NAMES), None)
        class_dirs = [d for d in _dirs(base) if d != free and d.name.lower() not in MASK_ROOTS + IMAGE_ROOTS and _images(d)]
        if not class_dirs:
            tried.append(f"{base.relative_to(source).as_posix() or '.'}: no class folder with images")
            continue
        prefix = "" if images_root is None else f"{images_root.name}/"
        patterns = [f"{{dir}}/{p}" for p in BESIDE_PATTERNS]
        patterns += [f"{m}/{{parent}}/{p}" for m in MASK_ROOTS if (source / m).is_dir() for p in BESIDE_PATTERNS]
        for suffix in sorted({p.suffix for d in class_dirs for p in _images(d)}):
            images = [p for d in class_dirs for p in _images(d) if p.suffix == suffix]
            for pattern in patterns:
                masks = {p: mask_path(source, pattern, p) for p in images}
                defects = [p for p in images if p not in set(masks.values())]
                have = sum(masks[p].is_file() for p in defects)
                if defects and have == len(defects):
                    layout = {"images": f"{prefix}*/*{suffix}", "masks": pattern}
                    if free is not None:
                        layout["defect_free"] = f"{free.relative_to(source).as_posix()}/*"
                    return Guess("folder", layout, [d.name for d in class_dirs],
                                 "inpaint")
                tried.append(f"images {prefix}*/*{suffix} with masks {pattern}: {have} of {len(defects)} found")
    shown = "; ".join(tried[:4]) + (f"; and {len(tried) - 4} more" if len(tried) > 4 else "")
    raise NoFit(f"no mask pattern fits every image ({shown})")


DETECTORS: dict[str, Callable[[Path], Guess]] = {"mvtec": mvtec, "voc": voc, "yolo": yolo, "folder": folder}
"""Tried in this order: the most specific layouts first."""


def detect_layout(source: Path) -> Guess:
    """The first layout that fits `source`; else an error listing each tried and why it failed."""
    if not source.is_dir():
        raise DefectforgeError(f"{source}: source folder not found (--source)")
    reasons = []
    for name, detect in DETECTORS.items():
        try:
            return detect(source)
        except NoFit as why:
            reasons.append(f"  {name}: {why}")
    raise DefectforgeError(
        f"{source}: no known layout fits; tried:\n" + "\n".join(reasons)
        + "\nwrite datasets/NAME/dataset.yaml by hand (README: Your own data)"
    )
