"""Fixtures of the label tests: a tiny DeepPCB-like line (binary boards, copper dark) written
in DeepPCB's own format and prepared."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

PCB_DATASET = """\
name: {name}
license: test
format: deeppcb
clean_reference: template
classes:
  - {{id: 1, name: open}}
  - {{id: 2, name: short}}
  - {{id: 3, name: mousebite}}
  - {{id: 4, name: spur}}
  - {{id: 5, name: copper}}
  - {{id: 6, name: pin-hole}}
"""
SIZE = 160




def pcb_pair(wide: bool) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """(tested, template, boxes `x1 y1 x2 y2 type`) of a binary board, copper = 0. Narrow
    boards: three copper bars on substrate (copper is the smaller side); wide boards: a copper
    plane cut by two substrate channels (copper is the larger side, `auto` takes the substrate).
    Each has an open and a pin-hole on copper, a short and a copper blob on substrate."""
    if wide:
        template = np.zeros((SIZE, SIZE), np.uint8)
        template[40:52], template[100:112] = 255, 255
        short, blob, hole = (slice(40, 52), slice(100, 104)), (106, 40), (20, 120)
    else:
        template = np.full((SIZE, SIZE), 255, np.uint8)
        for y in (30, 70, 110):
            template[y : y + 12, 10:150] = 0
        short, blob, hole = (slice(42, 70), slice(100, 104)), (95, 40), (36, 120)
    test = template.copy()
    test[70:82, 60:66] = 255  # open
    cv2.circle(test, (hole[1], hole[0]), 3, 255, -1)  # pin-hole
    test[short] = 0  # short
    cv2.circle(test, (blob[1], blob[0]), 4, 0, -1)  # spurious copper
    boxes = [
        (54, 64, 72, 88, 1),
        (hole[1] - 9, hole[0] - 9, hole[1] + 9, hole[0] + 9, 6),
        (short[1].start - 6, short[0].start - 4, short[1].stop + 6, short[0].stop + 4, 2),
        (blob[1] - 10, blob[0] - 10, blob[1] + 10, blob[0] + 10, 5),
    ]
    return test, template, boxes


def write_pcb_source(root: Path, wide: tuple[bool, ...]) -> Path:
    """A DeepPCB checkout: one pair per `wide` flag in trainval, one narrow pair in test."""
    lines: dict[str, list[str]] = {"trainval.txt": [], "test.txt": []}
    for index, flag in enumerate((*wide, False)):
        stem = f"000010{index:02d}"
        test, template, boxes = pcb_pair(flag)
        folder = root / "PCBData" / "group00001" / "00001"
        notes = root / "PCBData" / "group00001" / "00001_not"
        folder.mkdir(parents=True, exist_ok=True)
        notes.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{stem}_test.jpg"), test, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(str(folder / f"{stem}_temp.jpg"), template, [cv2.IMWRITE_JPEG_QUALITY, 95])
        (notes / f"{stem}.txt").write_text("".join(" ".join(map(str, b)) + "\n" for b in boxes))
        split = "test.txt" if index == len(wide) else "trainval.txt"
        lines[split].append(f"group00001/00001/{stem}.jpg group00001/00001_not/{stem}.txt")
    for name, content in lines.items():
        (root / "PCBData" / name).write_text("\n".join(content) + "\n")
    return root


@pytest.fixture
def pcb_line(tmp_path: Path, runs: Path, write_dataset):
    """A prepared DeepPCB-like line `pcbline`: 4 train boards (2 narrow, 2 wide), 1 test board."""
    from pipeline.data.prepare import prepare_dataset
    from pipeline.data.prepared import PreparedDataset

    source = write_pcb_source(tmp_path / "src", wide=(False, True, False, True))
    write_dataset("pcbline", PCB_DATASET.format(name="pcbline"))
    prepare_dataset("pcbline", source, progress=False, workers=1)
    return PreparedDataset("pcbline")
