"""Reader of Pascal VOC boxes: `<annotations>/<stem>.xml` per image, `<object><name>` + `<bndbox>`.

XML is parsed with defusedxml (a DTD, entity or external reference is refused, not expanded).
Each box is one box-only instance (its mask is the box); an XML without objects marks a
defect-free image. Images are split per class, seeded (`layout.test_share`, `layout.seed`).
"""

from __future__ import annotations

from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, parse

from conditioning.errors import DefectforgeError
from pipeline.data.reader_tools import (
    IMAGE_SUFFIXES,
    NO_PROVENANCE,
    box_instance,
    check_class,
    layout_folders,
    seeded_split,
)
from pipeline.data.records import load_rgb
from pipeline.data.registry import DatasetInfo
from pipeline.data.sources import LoadedItem, SourceItem, require_dir

DEFECT_FREE = "(defect-free)"


def read_boxes(path: Path) -> tuple[str | None, list[tuple[str, tuple[float, float, float, float]]]]:
    """(`<filename>` or None, [(name, (xmin, ymin, xmax, ymax)), ...]) of one VOC XML file."""
    try:
        root = parse(str(path), forbid_dtd=True).getroot()
    except (ParseError, DefusedXmlException) as error:
        raise DefectforgeError(f"{path}: not a readable Pascal VOC XML file ({error})") from error
    boxes = []
    for number, obj in enumerate(root.iter("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        try:
            corners = tuple(float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (AttributeError, TypeError, ValueError) as error:
            raise DefectforgeError(
                f"{path}: object {number} ({name or 'no name'}) needs <bndbox> with numeric "
                "xmin, ymin, xmax, ymax"
            ) from error
        if not name or corners[2] <= corners[0] or corners[3] <= corners[1]:
            raise DefectforgeError(f"{path}: object {number} has no <name> or an empty box {corners}")
        boxes.append((name, corners))
    filename = (root.findtext("filename") or "").strip() or None
    return filename, boxes


def _image_of(images: Path, xml: Path, filename: str | None) -> Path:
    candidates = [images / filename] if filename else []
    candidates += [images / f"{xml.stem}{suffix}" for suffix in IMAGE_SUFFIXES]
    candidates += [images / f"{xml.stem}{suffix.upper()}" for suffix in IMAGE_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DefectforgeError(f"{xml}: its image ({filename or xml.stem + '.*'}) is not in {images} (layout.images)")


def list_items(info: DatasetInfo, source: Path | None) -> list[SourceItem]:
    """Every XML with its image and boxes (class names checked), split per class."""
    source = require_dir(source, info.name)
    layout = info.layout
    folder, images = layout_folders(source, annotations=layout.annotations, images=layout.images)
    xmls = sorted(folder.glob("*.xml"))
    if not xmls:
        raise DefectforgeError(f"{folder}: no .xml file (layout.annotations)")
    rows, groups = [], {}
    for xml in xmls:
        filename, boxes = read_boxes(xml)
        named = [(check_class(info, layout.class_map.get(n, n), f"{xml}: <name>{n}</name>",
                              "add it there or map it in layout.class_map"), box) for n, box in boxes]
        image = _image_of(images, xml, filename)
        rows.append((xml, image, named))
        groups[xml] = named[0][0] if named else DEFECT_FREE
    split = seeded_split(groups, layout.test_share, layout.seed)
    return [
        SourceItem(split[xml], xml.stem, image.relative_to(source).as_posix(),
                   {"image": str(image), "xml": str(xml), "boxes": named})
        for xml, image, named in rows
    ]


def load_item(info: DatasetInfo, item: SourceItem) -> LoadedItem:
    """Pixels and one box-only instance per box (boxes are checked to lie inside the image)."""
    image = load_rgb(item.payload["image"])
    height, width = image.shape[:2]
    instances = []
    for name, (x0, y0, x1, y1) in item.payload["boxes"]:
        if x0 >= width or y0 >= height or x1 <= 0 or y1 <= 0:
            raise DefectforgeError(
                f"{item.payload['xml']}: box {name} ({x0}, {y0}, {x1}, {y1}) lies outside the "
                f"{width}x{height} image"
            )
        instances.append(box_instance(info, name, (x0, y0, x1, y1), (height, width)))
    return LoadedItem(image, None, instances, dict(NO_PROVENANCE))
