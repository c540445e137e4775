"""Edge maps are aligned pixel-for-pixel with the image at its native size."""

from __future__ import annotations

import numpy as np
import pytest

from conditioning.edges import edge_map
from conditioning.errors import DefectforgeError


@pytest.mark.parametrize("size", [(190, 250), (250, 190), (64, 64)])
def test_canny_edges_sit_on_the_square_border(size):
    h, w = size
    image = np.zeros((h, w, 3), np.uint8)
    top, left, bottom, right = h // 4, w // 5, h // 4 + h // 2, w // 5 + w // 2
    image[top:bottom, left:right] = 255
    edges = edge_map(image)
    assert edges.shape == (h, w) and edges.dtype == np.uint8
    ys, xs = np.nonzero(edges)
    assert len(ys) > 0
    border = (np.minimum(np.abs(ys - top), np.abs(ys - (bottom - 1))) <= 1) | (
        np.minimum(np.abs(xs - left), np.abs(xs - (right - 1))) <= 1
    )
    assert border.all()
    assert ys.min() >= top - 1 and ys.max() <= bottom and xs.min() >= left - 1 and xs.max() <= right


def test_edges_align_with_a_defect_mask(board, traces):
    fg = traces(100, 150)
    edges = edge_map(board(fg)) > 0
    outline = fg & ~np.pad(fg, 1)[2:, 1:-1] | fg & ~np.pad(fg, 1)[:-2, 1:-1]
    outline |= fg & ~np.pad(fg, 1)[1:-1, 2:] | fg & ~np.pad(fg, 1)[1:-1, :-2]
    near = np.zeros_like(outline)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(outline, dy, 0), dx, 1)
    assert (edges & near).sum() / edges.sum() > 0.99


def test_weights_needed_or_unknown_detector_are_clear():
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:24, 8:24] = 200
    with pytest.raises(DefectforgeError, match="needs its weights .*ControlNetHED.pth"):
        edge_map(image, "hed")
    with pytest.raises(DefectforgeError, match="weights file .* not found"):
        edge_map(image, "pidinet", weights_dir="/nonexistent")
    with pytest.raises(DefectforgeError, match="unknown edge detector `sobel`"):
        edge_map(image, "sobel")
    assert edge_map(image, "lineart_standard").shape == (32, 32)
