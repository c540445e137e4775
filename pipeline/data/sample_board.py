"""The procedural sample product line: a PCB-like board drawn in layers, rendered to RGB.

A board is a set of boolean layers (copper traces with a label per net, tinned pads, drilled
holes, silkscreen). `render` turns layers into an image with substrate texture, a lighting
gradient and sensor noise that depend only on the board seed, so a board rendered with and
without defects differs only where a defect changed a layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

SUBSTRATE = np.array([34, 92, 52], np.float32)
TRACE = np.array([72, 150, 78], np.float32)
PAD = np.array([206, 196, 170], np.float32)
HOLE = np.array([18, 20, 18], np.float32)
SILK = np.array([225, 228, 220], np.float32)


@dataclass(frozen=True)
class Board:
    """Layers of one board (bool HxW), `nets` labels each trace (0 = none)."""

    seed: int
    copper: np.ndarray
    nets: np.ndarray
    pads: np.ndarray
    holes: np.ndarray
    silk: np.ndarray
    scratch: np.ndarray

    def with_layers(self, **layers: np.ndarray) -> Board:
        return replace(self, **layers)


def make_board(seed: int, size: int) -> Board:
    """A random board layout: traces between pads, an IC footprint, vias, silkscreen marks."""
    rng = np.random.default_rng(seed)
    nets = np.zeros((size, size), np.int32)
    pads = np.zeros((size, size), np.uint8)
    _footprint(rng, size, pads)
    for net in range(2, 2 + int(rng.integers(9, 15))):
        _trace(rng, size, nets, pads, net)
    holes = np.zeros((size, size), np.uint8)
    for y, x in _via_points(rng, pads):
        cv2.circle(holes, (x, y), int(rng.integers(2, 4)), 1, -1)
    silk = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(2, 5))):
        x, y = (int(v) for v in rng.integers(8, size - 40, 2))
        cv2.putText(
            silk,
            f"{chr(65 + int(rng.integers(0, 26)))}{int(rng.integers(1, 99))}",
            (x, y + 10),
            cv2.FONT_HERSHEY_PLAIN,
            0.8,
            1,
            1,
            cv2.LINE_8,
        )
    copper = (nets > 0) | (pads > 0)
    silk = (silk > 0) & ~cv2.dilate(copper.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    empty = np.zeros((size, size), bool)
    return Board(seed, copper, nets, pads > 0, holes > 0, silk, empty)


def render(board: Board) -> np.ndarray:
    """HxWx3 uint8 RGB image of a board (texture, light and noise from `board.seed`)."""
    size = board.copper.shape[0]
    rng = np.random.default_rng([board.seed, 1])
    image = np.empty((size, size, 3), np.float32)
    image[:] = SUBSTRATE
    image += _weave(rng, size)[..., None] * np.array([0.6, 1.0, 0.7], np.float32)
    image = _blend(image, TRACE + rng.normal(0, 4, 3), board.copper & ~board.pads)
    image = _blend(image, PAD + rng.normal(0, 5, 3), board.pads & board.copper)
    image = _blend(image, SILK, board.silk)
    image = _blend(image, HOLE, board.holes)
    image = _blend(image, np.array([150, 170, 150], np.float32), board.scratch, soft=0.4)
    image *= _lighting(rng, size)[..., None]
    image += 3.0 * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _blend(
    image: np.ndarray, colour: np.ndarray, layer: np.ndarray, soft: float = 0.6
) -> np.ndarray:
    if not layer.any():
        return image
    alpha = cv2.GaussianBlur(layer.astype(np.float32), (0, 0), soft)[..., None]
    image += alpha * (colour.astype(np.float32) - image)
    return image


def _weave(rng: np.random.Generator, size: int) -> np.ndarray:
    """Glass-fibre weave plus low-frequency blotches, zero mean, a few grey levels."""
    axis = np.arange(size, dtype=np.float32)
    period = rng.uniform(5, 8)
    wave = np.sin(2 * np.pi * axis / period)
    weave = wave[:, None] * wave[None, :]
    coarse = rng.standard_normal((size // 8, size // 8), dtype=np.float32)
    blotch = cv2.resize(
        cv2.GaussianBlur(coarse, (0, 0), 2), (size, size), interpolation=cv2.INTER_CUBIC
    )
    blotch /= blotch.std() + 1e-6
    return 3.0 * weave + 5.0 * blotch


def _lighting(rng: np.random.Generator, size: int) -> np.ndarray:
    """A linear light gradient in a random direction times a soft vignette."""
    axis = np.arange(size, dtype=np.float32) / size - 0.5
    y, x = axis[:, None], axis[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 1.0 + rng.uniform(0.1, 0.3) * (np.cos(angle) * x + np.sin(angle) * y)
    vignette = 1.0 - rng.uniform(0.1, 0.25) * (x**2 + y**2)
    return gradient * vignette


def _footprint(rng: np.random.Generator, size: int, pads: np.ndarray) -> None:
    """A row of rectangular IC pads."""
    pitch = int(rng.integers(12, 16))
    n = int(rng.integers(3, min(8, (size - 33) // pitch) + 1))
    x0 = int(rng.integers(16, size - 16 - n * pitch))
    y0 = int(rng.integers(16, size - 40))
    for i in range(n):
        x = x0 + i * pitch
        cv2.rectangle(pads, (x, y0), (x + pitch // 2, y0 + 12), 1, -1)


def _trace(
    rng: np.random.Generator, size: int, nets: np.ndarray, pads: np.ndarray, net: int
) -> None:
    """A Manhattan/45-degree trace with round pads at both ends, kept clear of other copper."""
    occupied = cv2.dilate(((nets > 0) | (pads > 0)).astype(np.uint8), np.ones((9, 9), np.uint8))
    width = int(rng.choice([3, 4, 5, 6, 8]))
    for _ in range(30):
        point = rng.integers(12, size - 12, 2)
        points = [point.copy()]
        for _ in range(int(rng.integers(2, 5))):
            direction = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)][
                int(rng.integers(0, 8))
            ]
            point = np.clip(point + np.array(direction) * int(rng.integers(15, 70)), 10, size - 11)
            points.append(point.copy())
        canvas = np.zeros_like(pads)
        cv2.polylines(canvas, [np.array(points, np.int32)], False, 1, width, cv2.LINE_8)
        radius = width // 2 + int(rng.integers(2, 4))
        end_pads = np.zeros_like(pads)
        for end in (points[0], points[-1]):
            cv2.circle(end_pads, (int(end[0]), int(end[1])), radius, 1, -1)
        if not np.any((canvas | end_pads) & occupied):
            nets[canvas > 0] = net
            nets[end_pads > 0] = net
            pads |= end_pads
            return


def _via_points(rng: np.random.Generator, pads: np.ndarray) -> list[tuple[int, int]]:
    """Centres of some round pads (become plated through-holes)."""
    count, _, stats, centroids = cv2.connectedComponentsWithStats(pads, connectivity=8)
    chosen = []
    for label in range(1, count):
        w, h = stats[label, 2], stats[label, 3]
        if abs(w - h) <= 1 and w >= 7 and rng.random() < 0.5:
            chosen.append((int(round(centroids[label][1])), int(round(centroids[label][0]))))
    return chosen
