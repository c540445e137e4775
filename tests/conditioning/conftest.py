"""Tiny fixtures built in code: a PCB-like foreground, its RGB image, spec files in tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

MODELINE = "# yaml-language-server: $schema=../defect-spec.schema.json\n"


def make_traces(height: int = 128, width: int = 128) -> np.ndarray:
    """Vertical copper traces, 8 px wide, 8 px apart, each its own component (bool HxW)."""
    fg = np.zeros((height, width), bool)
    for x in range(6, width - 8, 16):
        fg[6 : height - 6, x : x + 8] = True
    return fg


def make_board(fg: np.ndarray) -> np.ndarray:
    """RGB image of a foreground: copper (200, 170, 60) on dark green substrate."""
    image = np.zeros((*fg.shape, 3), np.uint8)
    image[:] = (20, 60, 30)
    image[fg] = (200, 170, 60)
    return image


@pytest.fixture
def write_spec(tmp_path: Path):
    """write_spec(text, name="defects.yaml") -> path, dedented, modeline prepended."""

    def write(text: str, name: str = "defects.yaml") -> Path:
        path = tmp_path / name
        path.write_text(MODELINE + textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture(name="traces")
def traces_fixture():
    """The `make_traces(height=128, width=128)` builder."""
    return make_traces


@pytest.fixture(name="board")
def board_fixture():
    """The `make_board(fg)` builder."""
    return make_board
