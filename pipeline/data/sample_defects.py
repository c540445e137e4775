"""Defects of the sample line, one drawing function per class, each returning its exact mask.

Each function takes the board and a generator and returns `(board_with_defect, mask)`, or
None when the board offers no place for it. Copper defects edit the copper layer, so the mask
is exactly the set of pixels whose layer changed.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from pipeline.data.sample_board import Board

Drawn = tuple[Board, np.ndarray] | None


def _pick(rng: np.random.Generator, candidates: np.ndarray) -> tuple[int, int] | None:
    ys, xs = np.nonzero(candidates)
    if len(xs) == 0:
        return None
    i = int(rng.integers(0, len(xs)))
    return int(ys[i]), int(xs[i])


def _disk(shape: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    cv2.circle(canvas, (centre[1], centre[0]), max(int(round(radius)), 1), 1, -1)
    return canvas > 0


def _traces(board: Board) -> np.ndarray:
    return (board.nets > 0) & ~board.pads


def _edge(layer: np.ndarray) -> np.ndarray:
    return layer & ~cv2.erode(layer.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def _distance(layer: np.ndarray) -> np.ndarray:
    """Distance of each pixel to the nearest pixel outside `layer`."""
    return cv2.distanceTransform(layer.astype(np.uint8), cv2.DIST_L2, 3)


def _with_copper(board: Board, copper: np.ndarray, mask: np.ndarray) -> Drawn:
    if not mask.any():
        return None
    return board.with_layers(copper=copper), mask


def open_(board: Board, rng: np.random.Generator) -> Drawn:
    """A cut across a trace: copper removed by a blob wider than the trace."""
    trace = _traces(board)
    centre = _pick(rng, (_distance(trace) >= 1.5) & (_distance(~board.pads) > 8))
    if centre is None:
        return None
    net = board.nets[centre]
    half_width = _distance(board.nets == net)[centre]
    cut = _disk(trace.shape, centre, half_width + rng.uniform(3.5, 6))
    mask = cut & (board.nets == net) & ~board.pads
    return _with_copper(board, board.copper & ~mask, mask)


def short(board: Board, rng: np.random.Generator) -> Drawn:
    """A thin copper bridge between the traces of two different nets 4-20 px apart.

    Pads are left out at both ends: a bridge from a trace to a pad looks like the trace's own
    connection, which no detector can tell from a short.
    """
    nets, trace = board.nets, _traces(board)
    for _ in range(20):
        start = _pick(rng, _edge(trace))
        if start is None:
            return None
        y0, x0 = max(start[0] - 20, 0), max(start[1] - 20, 0)
        window = (slice(y0, start[0] + 21), slice(x0, start[1] + 21))
        ys, xs = np.nonzero(trace[window] & (nets[window] != nets[start]))
        if len(xs) == 0:
            continue
        distance = np.hypot(ys + y0 - start[0], xs + x0 - start[1])
        nearest = int(np.argmin(distance))
        if not 4 < distance[nearest] < 20:
            continue
        bridge = np.zeros(nets.shape, np.uint8)
        end = (int(xs[nearest] + x0), int(ys[nearest] + y0))
        cv2.line(bridge, (start[1], start[0]), end, 1, int(rng.integers(3, 5)))
        mask = (bridge > 0) & ~board.copper
        return _with_copper(board, board.copper | mask, mask)
    return None


def spur(board: Board, rng: np.random.Generator) -> Drawn:
    """A tapered copper spike growing out of a trace edge."""
    trace = _traces(board)
    clear = _distance(~board.copper)
    gy, gx = np.gradient(cv2.GaussianBlur(trace.astype(np.float32), (0, 0), 2))
    for _ in range(20):
        base = _pick(rng, _edge(trace))
        if base is None:
            return None
        normal = -np.array([gy[base], gx[base]])
        if np.hypot(*normal) < 1e-3:
            continue
        normal /= np.hypot(*normal)
        length = rng.uniform(10, 18)
        tip = np.array(base) + normal * length
        side = np.array([-normal[1], normal[0]]) * rng.uniform(2.5, 4)
        poly = np.array([np.array(base) + side, tip, np.array(base) - side])[:, ::-1]
        canvas = np.zeros(trace.shape, np.uint8)
        cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], 1)
        mask = (canvas > 0) & ~board.copper
        ty, tx = np.clip(np.round(tip).astype(int), 0, trace.shape[0] - 1)
        others = board.copper & (board.nets != board.nets[base])
        if mask.sum() >= 4 and clear[ty, tx] > 0 and _distance(~others)[ty, tx] > 5:
            return _with_copper(board, board.copper | mask, mask)
    return None


def mousebite(board: Board, rng: np.random.Generator) -> Drawn:
    """Three to five small bites out of the edge of a trace at least 6 px wide that leave it
    connected (bites that cut it through make an open, not a mousebite)."""
    trace = _traces(board)
    wide = cv2.dilate((_distance(trace) >= 3).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    bases = _edge(trace) & wide & (_distance(~board.pads) > 6)
    for _ in range(20):
        base = _pick(rng, bases)
        if base is None:
            return None
        net = board.nets == board.nets[base]
        net_edge = _edge(net & ~board.pads)
        bites = np.zeros(trace.shape, bool)
        for _ in range(int(rng.integers(3, 6))):
            spot = _pick(rng, net_edge & _disk(trace.shape, base, 7))
            if spot is not None:
                bites |= _disk(trace.shape, spot, rng.uniform(2.5, 3.5))
        mask = bites & net & ~board.pads
        if _pieces(net & board.copper & ~mask) == _pieces(net & board.copper):
            return _with_copper(board, board.copper & ~mask, mask)
    return None


def _pieces(layer: np.ndarray) -> int:
    """Connected pieces of a layer (8-connected)."""
    return cv2.connectedComponents(layer.astype(np.uint8), connectivity=8)[0] - 1


def copper(board: Board, rng: np.random.Generator) -> Drawn:
    """A blob of spurious copper on bare substrate."""
    free = _distance(~board.copper) > 8
    free[:10], free[-10:], free[:, :10], free[:, -10:] = False, False, False, False
    centre = _pick(rng, free)
    if centre is None:
        return None
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = rng.uniform(3, 8, 9)
    poly = np.stack([centre[1] + radii * np.cos(angles), centre[0] + radii * np.sin(angles)], 1)
    canvas = np.zeros(board.copper.shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], 1)
    mask = (canvas > 0) & ~board.copper
    return _with_copper(board, board.copper | mask, mask)


def pin_hole(board: Board, rng: np.random.Generator) -> Drawn:
    """A small round hole through copper, away from its edge and drilled holes."""
    radius = rng.uniform(2.6, 3.8)
    inside = (_distance(board.copper) > radius + 1.5) & (_distance(~board.holes) > radius + 3)
    centre = _pick(rng, inside)
    if centre is None:
        return None
    mask = _disk(board.copper.shape, centre, radius) & board.copper
    return _with_copper(board, board.copper & ~mask, mask)


def scratch(board: Board, rng: np.random.Generator) -> Drawn:
    """A thin curved scratch across the solder mask (a light line)."""
    size = board.copper.shape[0]
    start = rng.uniform(20, size - 20, 2)
    angle = rng.uniform(0, 2 * np.pi)
    length = rng.uniform(20, 60)
    bend = rng.uniform(-0.02, 0.02)
    t = np.linspace(0, length, 40)
    heading = angle + bend * t
    xs = start[0] + np.cumsum(np.cos(heading)) * (length / 40)
    ys = start[1] + np.cumsum(np.sin(heading)) * (length / 40)
    canvas = np.zeros((size, size), np.uint8)
    points = np.stack([xs, ys], 1).round().astype(np.int32)
    cv2.polylines(canvas, [points], False, 1, int(rng.integers(2, 4)))
    mask = canvas > 0
    if not mask.any():
        return None
    return board.with_layers(scratch=board.scratch | mask), mask


DRAWERS: dict[str, Callable[[Board, np.random.Generator], Drawn]] = {
    "open": open_,
    "short": short,
    "mousebite": mousebite,
    "spur": spur,
    "copper": copper,
    "pin-hole": pin_hole,
    "scratch": scratch,
}
"""Sample class name -> drawing function (dataset.yaml classes must be keys of this)."""
