"""Mask builders for PCB defects; they read the copper (foreground) mask to sit on traces."""

from __future__ import annotations

import math
from collections.abc import Mapping

import cv2
import numpy as np

from conditioning.masks.draw import (
    bent,
    blob,
    chain,
    disc,
    first_hit,
    into_foreground,
    polygon,
    polyline,
    run_length,
    specks,
    turn,
)
from conditioning.masks.registry import Canvas, register

_ANGLES = [
    np.array([math.sin(a), math.cos(a)]) for a in np.linspace(0, math.pi, 16, endpoint=False)
]
_REACH = 64
TRACE_MAX_WIDTH = 24
"""px: copper wider than this (pours, big pads) is not a trace: `open` does not cut it."""


def thin_copper(foreground: np.ndarray, limits: Mapping[str, float]) -> np.ndarray:
    """copper traces at most 24 px wide (not pours or large pads)"""
    size = TRACE_MAX_WIDTH + 1
    disc_ = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    fg = foreground.astype(np.uint8)
    return (fg - cv2.morphologyEx(fg, cv2.MORPH_OPEN, disc_)).astype(bool)


def inside_copper(foreground: np.ndarray, limits: Mapping[str, float]) -> np.ndarray:
    """copper at least the largest `radius` px from its edge"""
    inside = cv2.distanceTransform(foreground.astype(np.uint8), cv2.DIST_L2, 3)
    return inside >= limits["radius"]


@register(
    "open",
    params={"gap": (2, 6), "slant": (0, 0), "roughness": (0, 0), "speckle": (0, 0)},
    surface="foreground",
    description="a trace break: copper removed across the trace at the anchor; `slant` turns "
    "the cut off square (1 = up to 60 degrees), `roughness` frays its edges, `speckle` leaves "
    "that share of the cut's pixels as copper, in specks",
    anchors=thin_copper,
)
def open_(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    fg, anchor = canvas.foreground, canvas.anchor
    if not fg[anchor]:
        return np.zeros(canvas.shape, bool)
    runs = [run_length(fg, anchor, d, _REACH) + run_length(fg, anchor, -d, _REACH) for d in _ANGLES]
    along = _ANGLES[int(np.argmax(runs))]
    across = np.array([-along[1], along[0]])
    cap = TRACE_MAX_WIDTH
    if p["slant"] > 0:
        angle = rng.uniform(-1, 1) * p["slant"] * math.pi / 3
        across = turn(across, angle)
        along = np.array([across[1], -across[0]])
        cap = TRACE_MAX_WIDTH / math.cos(angle)
    reach_a = min(run_length(fg, anchor, across, _REACH), cap) + 2
    reach_b = min(run_length(fg, anchor, -across, _REACH), cap) + 2
    cut = _band(canvas.shape, np.array(anchor, float), across, along, (reach_a, reach_b),
                p["gap"] / 2, p["roughness"], rng) & _component(fg, anchor)
    return cut & ~specks(cut, p["speckle"], rng)


def _band(shape, center, across, along, reach, half_gap, roughness, rng) -> np.ndarray:
    """The cut: a band `2 * half_gap` wide from `reach[0]` px along `across` to `reach[1]` px
    against it; with `roughness`, both edges wander (every ~3 px) by about that share of half
    the gap (at most 0.9 of it)."""
    steps = 2 if roughness <= 0 else max(3, round(sum(reach) / 3))
    ts = np.linspace(reach[0], -reach[1], steps)
    fray = (np.zeros((2, steps)) if roughness <= 0
            else np.clip(rng.normal(0, roughness, (2, steps)), -0.9, 0.9) * half_gap)
    minus = center + np.outer(ts, across) - np.outer(half_gap + fray[0], along)
    plus = center + np.outer(ts, across) + np.outer(half_gap + fray[1], along)
    corners_yx = np.vstack([plus[:1], minus, plus[:0:-1]])
    return polygon(shape, corners_yx[:, ::-1])


def between_regions(foreground: np.ndarray, limits: Mapping[str, float]) -> np.ndarray:
    """substrate midway between two separate copper regions at most `length` px apart"""
    fg = foreground.astype(np.uint8)
    if fg.all() or not fg.any():
        return np.zeros(foreground.shape, bool)
    components = cv2.connectedComponents(fg, connectivity=8)[1]
    distance, nearest = cv2.distanceTransformWithLabels(
        1 - fg, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    owner = np.zeros(nearest.max() + 1, np.int32)
    owner[nearest[fg > 0]] = components[fg > 0]
    region = owner[nearest]
    seam = np.zeros(foreground.shape, bool)
    seam[:, 1:] |= region[:, 1:] != region[:, :-1]
    seam[1:, :] |= region[1:, :] != region[:-1, :]
    return seam & (fg == 0) & (distance <= limits["length"] / 2)


@register(
    "short",
    params={"length": (4, 24), "width": (1.5, 4), "curvature": (0, 0)},
    surface="background",
    description="a copper bridge across the substrate joining two separate copper regions; "
    "`curvature` bows it",
    anchors=between_regions,
)
def short(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    fg, anchor = canvas.foreground, canvas.anchor
    labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)[1]
    limit = max(2, round(p["length"]))
    best = None
    for d in rng.permutation(np.array(_ANGLES)):
        a, b = first_hit(fg, anchor, d, limit), first_hit(fg, anchor, -d, limit)
        if a is None or b is None or labels[a] == labels[b]:
            continue
        span = math.dist(a, b)
        if span <= limit and (best is None or span < best[0]):
            best = (span, a, b)
    if best is None:
        return np.zeros(canvas.shape, bool)
    span, a, b = best
    points = np.array([[a[1], a[0]], [b[1], b[0]]], float)
    if p["curvature"] > 0:
        points = bent(points[0], points[1], p["curvature"] * span / 2 * rng.choice([-1, 1]))
    return polyline(canvas.shape, points, p["width"])


@register(
    "mousebite",
    params={"radius": (1.5, 3.5), "bites": (1, 3), "roughness": (0, 0), "speckle": (0, 0)},
    surface="edge",
    description="round bites taken out of a trace edge; `roughness` frays their outline, "
    "`speckle` leaves that share of their pixels as copper, in specks",
)
def mousebite(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    inward = into_foreground(canvas.foreground, canvas.anchor)
    tangent = np.array([-inward[1], inward[0]])
    n = max(1, int(p["bites"]))
    mask = np.zeros(canvas.shape, bool)
    for k in range(n):
        offset = (k - (n - 1) / 2) * 1.6 * p["radius"]
        center = np.array(canvas.anchor) + tangent * offset
        if p["roughness"] > 0:
            mask |= blob(canvas.shape, (center[0], center[1]), p["radius"], rng,
                         roughness=p["roughness"])
        else:
            mask |= disc(canvas.shape, (center[0], center[1]), p["radius"])
    mask &= canvas.foreground
    return mask & ~specks(mask, p["speckle"], rng)


@register(
    "spur",
    params={"length": (3, 10), "width": (1.5, 4), "taper": (0, 0)},
    surface="edge",
    description="a copper protrusion growing out of a trace edge onto the substrate; `taper` "
    "narrows it from a wide base to its tip (1: a thorn) at the same mean width",
)
def spur(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    inward = into_foreground(canvas.foreground, canvas.anchor)
    if not inward.any():
        return np.zeros(canvas.shape, bool)
    angle = rng.normal(0, 0.3)
    out = turn(-inward, angle)
    start = np.array(canvas.anchor, float) - out
    end = start + out * p["length"]
    if p["taper"] <= 0:
        line = polyline(canvas.shape, np.array([[start[1], start[0]], [end[1], end[0]]]), p["width"])
        return line & ~canvas.foreground
    side = np.array([-out[1], out[0]]) * p["width"] / 2
    base, tip = side * (1 + p["taper"]), side * (1 - p["taper"])
    corners_yx = np.array([start + base, end + tip, end - tip, start - base])
    thorn = polygon(canvas.shape, corners_yx[:, ::-1])
    return thorn & ~canvas.foreground


def chain_inert(ranges: Mapping[str, tuple[float, float]]) -> dict[str, str]:
    """`aspect` and `roughness` shape only a single blob or hole, `curvature` only chains of
    lobes (of the params the kind reads)."""
    inert = {}
    if ranges["lobes"][0] >= 2:
        for name in ("aspect", "roughness"):
            if name in ranges:
                inert[name] = (f"no effect: with `lobes` at least 2 the shape is a chain of round "
                               f"lobes, which `{name}` does not shape; drop `{name}`, or let "
                               "`lobes` start at 1")
    if ranges["lobes"][1] < 2:
        inert["curvature"] = ("no effect: it turns a chain of lobes and `lobes` stays 1; drop "
                              "`curvature`, or let `lobes` reach 2")
    return inert


@register(
    "spurious_copper",
    params={"radius": (2, 6), "roughness": (0.1, 0.4), "aspect": (1, 1), "lobes": (1, 1),
            "curvature": (0, 0)},
    surface="background",
    description="an isolated copper blob on the substrate; `aspect`: long / short axis; "
    "`lobes` > 1: that many round lobes merged into one stroke of the same area, the chain "
    "turning by `curvature`",
    inert=chain_inert,
)
def spurious_copper(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    if p["lobes"] >= 2:
        spot = chain(canvas.shape, canvas.anchor, p["radius"], int(p["lobes"]), rng,
                     bend=p["curvature"])
    else:
        spot = blob(canvas.shape, canvas.anchor, p["radius"], rng, aspect=p["aspect"],
                    roughness=p["roughness"])
    return spot & ~canvas.foreground


@register(
    "pin_hole",
    params={"radius": (1.5, 3.5), "aspect": (1, 1), "lobes": (1, 1), "curvature": (0, 0)},
    surface="foreground",
    description="a small round or oval hole through copper or coating (clipped to the "
    "foreground); `aspect`: long / short axis at the same area, randomly oriented; `lobes` > 1: "
    "that many round lobes merged into one hole of the same area (capsules, peanuts), the chain "
    "turning by `curvature`",
    anchors=inside_copper,
    inert=chain_inert,
)
def pin_hole(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    if p["lobes"] >= 2:
        lobes = chain(canvas.shape, canvas.anchor, p["radius"], int(p["lobes"]), rng,
                      bend=p["curvature"])
        return lobes & canvas.foreground
    if p["aspect"] <= 1:  # the round hole of older specs, pixel for pixel (no random draw)
        return disc(canvas.shape, canvas.anchor, p["radius"]) & canvas.foreground
    return blob(canvas.shape, canvas.anchor, p["radius"], rng, aspect=p["aspect"]) & canvas.foreground


def _component(fg: np.ndarray, anchor: tuple[int, int]) -> np.ndarray:
    labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)[1]
    return labels == labels[anchor]
