"""Contact sheet of what a spec does: per background, masks overlaid per class, edge map, class map."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from conditioning.bundle import ConditioningBundle, build_bundle
from conditioning.errors import DefectforgeError
from conditioning.placement import PlacementError
from conditioning.spec import DefectLibrary

PALETTE = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
]
"""Legend colour of class i (RGB), cycling."""
COLUMNS = ("background", "defect masks", "edge map", "class map")
TILE = 192
PAD = 8
HEADER = 28
LEGEND_ROW = 22
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def sheet_size(rows: int, classes: int, tile: int = TILE) -> tuple[int, int]:
    """(height, width) of a sheet with `rows` backgrounds and `classes` legend entries."""
    width = len(COLUMNS) * tile + (len(COLUMNS) + 1) * PAD
    return HEADER + rows * (tile + PAD) + PAD + classes * LEGEND_ROW + PAD, width


def list_images(folder: Path) -> list[Path]:
    """Image files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_rgb(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DefectforgeError(f"cannot read image {path}: give a folder of PNG/JPEG images")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def contact_sheet(
    library: DefectLibrary,
    images: Sequence[tuple[str, np.ndarray]],
    seed: int,
    *,
    tile: int = TILE,
    edge_detector: str = "canny",
    edge_weights: str | Path | None = None,
) -> tuple[np.ndarray, list[str]]:
    """The sheet (HxWx3 uint8 RGB) for (name, image) pairs, sample i using seed + i, and the
    placement errors met (those rows show the message instead of masks)."""
    height, width = sheet_size(len(images), len(library.classes), tile)
    sheet = np.full((height, width, 3), 255, np.uint8)
    for col, title in enumerate(COLUMNS):
        _text(sheet, title, (PAD + col * (tile + PAD), HEADER - 9))
    errors = []
    for row, (name, image) in enumerate(images):
        y = HEADER + row * (tile + PAD)
        try:
            bundle = build_bundle(
                library,
                image,
                seed + row,
                image_id=name,
                edge_detector=edge_detector,
                edge_weights=edge_weights,
            )
            tiles = _tiles(library, bundle)
        except PlacementError as error:
            errors.append(str(error))
            tiles = [image, _message_tile(str(error), image.shape[:2])]
        for col, content in enumerate(tiles):
            x = PAD + col * (tile + PAD)
            sheet[y : y + tile, x : x + tile] = _fit(content, tile)
    _legend(sheet, library.classes, HEADER + len(images) * (tile + PAD) + PAD)
    return sheet, errors


def class_colours(class_map: np.ndarray) -> np.ndarray:
    """Class map painted with the legend colours (0 stays black)."""
    out = np.zeros((*class_map.shape, 3), np.uint8)
    for index in np.unique(class_map[class_map > 0]):
        out[class_map == index] = PALETTE[(index - 1) % len(PALETTE)]
    return out


def _tiles(library: DefectLibrary, bundle: ConditioningBundle) -> list[np.ndarray]:
    colours = class_colours(bundle.class_map)
    overlay = bundle.background.copy()
    painted = bundle.class_map > 0
    overlay[painted] = (0.35 * overlay[painted] + 0.65 * colours[painted]).astype(np.uint8)
    for instance in bundle.instances:
        contours, _ = cv2.findContours(
            instance.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        colour = PALETTE[(library.class_index(instance.class_name) - 1) % len(PALETTE)]
        cv2.drawContours(overlay, contours, -1, colour, 1)
    edges = np.repeat(bundle.edge_map[:, :, None], 3, axis=2)
    return [bundle.background, overlay, edges, colours]


def _fit(image: np.ndarray, tile: int) -> np.ndarray:
    """Letterbox `image` into a tile x tile square (nearest-neighbour keeps thin masks visible)."""
    image = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    h, w = image.shape[:2]
    scale = tile / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)
    out = np.full((tile, tile, 3), 235, np.uint8)
    out[: resized.shape[0], : resized.shape[1]] = resized
    return out


def _message_tile(message: str, shape: tuple[int, int]) -> np.ndarray:
    tile = np.full((*shape, 3), 255, np.uint8)
    words, lines, line = message.split(), [], ""
    for word in words:
        if len(line) + len(word) > 28:
            lines.append(line)
            line = ""
        line += word + " "
    lines.append(line)
    scale = max(shape) / TILE
    for i, text in enumerate(lines[: int(shape[0] / (12 * scale))]):
        cv2.putText(
            tile,
            text,
            (2, int((12 + 12 * i) * scale)),
            cv2.FONT_HERSHEY_PLAIN,
            0.7 * scale,
            (200, 0, 0),
            1,
            cv2.LINE_AA,
        )
    return tile


def _legend(sheet: np.ndarray, classes: list[str], top: int) -> None:
    for i, name in enumerate(classes):
        y = top + i * LEGEND_ROW
        cv2.rectangle(sheet, (PAD, y + 3), (PAD + 16, y + 17), PALETTE[i % len(PALETTE)], -1)
        _text(sheet, f"{i + 1}: {name}", (PAD + 24, y + 15))


def _text(sheet: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    cv2.putText(sheet, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1, cv2.LINE_AA)
