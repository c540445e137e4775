"""Mask builders for generic part surfaces: scratch, crack, pit, dent, stain, particle, missing material."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from conditioning.masks.draw import bent, blob, disc, polyline
from conditioning.masks.registry import Canvas, register


@register(
    "scratch",
    params={"length": (20, 80), "width": (1, 3), "curvature": (0, 0.5)},
    surface="any",
    description="a thin line, straight or gently bent",
)
def scratch(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    theta = rng.uniform(0, math.pi)
    half = p["length"] / 2
    direction = np.array([math.cos(theta), math.sin(theta)])
    center = np.array([canvas.anchor[1], canvas.anchor[0]], float)
    sag = p["curvature"] * half * rng.choice([-1, 1])
    points = bent(center - half * direction, center + half * direction, sag)
    return polyline(canvas.shape, points, p["width"])


@register(
    "crack",
    params={"length": (20, 70), "width": (1, 2), "roughness": (0.2, 0.6), "branches": (0, 3)},
    surface="any",
    description="a jagged path with side branches",
)
def crack(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    heading = rng.uniform(0, 2 * math.pi)
    start = np.array([canvas.anchor[1], canvas.anchor[0]], float)
    forward = _walk(start, heading, p["length"] / 2, p["roughness"], rng)
    backward = _walk(start, heading + math.pi, p["length"] / 2, p["roughness"], rng)
    path = np.concatenate([backward[::-1], forward[1:]])
    mask = polyline(canvas.shape, path, p["width"])
    for _ in range(int(p["branches"])):
        root = path[rng.integers(len(path))]
        side = heading + rng.choice([-1, 1]) * rng.uniform(math.pi / 6, math.pi / 3)
        twig = _walk(root, side, p["length"] * rng.uniform(0.2, 0.5), p["roughness"], rng)
        mask |= polyline(canvas.shape, twig, max(1.0, p["width"] * 0.6))
    return mask


def _walk(start: np.ndarray, heading: float, length: float, roughness: float, rng) -> np.ndarray:
    steps = max(2, round(length / 2))
    points = [start]
    for _ in range(steps):
        heading += rng.normal(0, 0.15 + roughness)
        points.append(points[-1] + 2 * np.array([math.cos(heading), math.sin(heading)]))
    return np.array(points)


@register("pit", params={"radius": (2, 5)}, surface="any", description="a small round cavity")
def pit(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    return blob(canvas.shape, canvas.anchor, p["radius"], rng, roughness=0.1) | disc(
        canvas.shape, canvas.anchor, 1
    )


@register(
    "dent",
    params={"radius": (5, 14), "aspect": (1, 2)},
    surface="any",
    description="a smooth elliptic depression",
)
def dent(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    return blob(canvas.shape, canvas.anchor, p["radius"], rng, aspect=p["aspect"])


def _stain(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    return blob(
        canvas.shape, canvas.anchor, p["radius"], rng, aspect=p["aspect"], roughness=p["roughness"]
    )


_STAIN = {"radius": (8, 20), "aspect": (1, 2), "roughness": (0.1, 0.4)}
register("stain", params=_STAIN, surface="any", description="an irregular discoloured patch")(
    _stain
)
register("blob", params=_STAIN, surface="any", description="an irregular filled blob")(_stain)


@register(
    "particle",
    params={"radius": (1.5, 4), "roughness": (0.2, 0.5)},
    surface="any",
    description="a small foreign particle",
)
def particle(canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    return blob(canvas.shape, canvas.anchor, p["radius"], rng, roughness=p["roughness"]) | disc(
        canvas.shape, canvas.anchor, 1
    )


@register(
    "missing_material",
    params={"radius": (5, 14), "aspect": (1, 2), "roughness": (0.1, 0.4)},
    surface="edge",
    description="a chunk missing from the part's edge (clipped to the foreground)",
)
def missing_material(
    canvas: Canvas, p: Mapping[str, float], rng: np.random.Generator
) -> np.ndarray:
    return _stain(canvas, p, rng) & canvas.foreground
