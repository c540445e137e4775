"""Small drawing primitives shared by the mask builders (cv2 on uint8 canvases, bool out)."""

from __future__ import annotations

import math

import cv2
import numpy as np


def polyline(shape: tuple[int, int], points_xy: np.ndarray, width: float) -> np.ndarray:
    """A polyline of thickness `width` px through (x, y) points."""
    canvas = np.zeros(shape, np.uint8)
    pts = np.round(points_xy).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [pts], False, 1, thickness=max(1, round(width)), lineType=cv2.LINE_8)
    return canvas.astype(bool)


def turn(vector: np.ndarray, angle: float) -> np.ndarray:
    """A 2-vector rotated by `angle` radians."""
    return np.array([vector[0] * math.cos(angle) - vector[1] * math.sin(angle),
                     vector[0] * math.sin(angle) + vector[1] * math.cos(angle)])


def bent(start_xy: np.ndarray, end_xy: np.ndarray, sag: float, n: int = 32) -> np.ndarray:
    """(x, y) points of a quadratic curve from start to end whose control point sits `sag` px
    off the midpoint, to the left of the start-to-end direction (0 = a straight line)."""
    start, end = np.asarray(start_xy, float), np.asarray(end_xy, float)
    direction = end - start
    normal = np.array([-direction[1], direction[0]]) / max(float(np.linalg.norm(direction)), 1e-9)
    control = (start + end) / 2 + normal * sag
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def chain(
    shape: tuple[int, int],
    center_yx: tuple[float, float],
    radius: float,
    lobes: int,
    rng: np.random.Generator,
    *,
    bend: float = 0.0,
) -> np.ndarray:
    """`lobes` overlapping discs along a randomly turning path, centred on `center_yx`, with the
    area of one disc of `radius` (2: a capsule or peanut, 3: a bent or comet-like hole); `bend`
    0..1 is how much the path turns at each lobe."""
    lobe = radius * math.sqrt(math.pi / (math.pi + 2 * (lobes - 1)))
    heading = rng.uniform(0, 2 * math.pi)
    points = [np.zeros(2)]
    for _ in range(lobes - 1):
        heading += rng.normal(0, bend)
        points.append(points[-1] + lobe * np.array([math.sin(heading), math.cos(heading)]))
    offset = np.asarray(center_yx, float) - np.mean(points, axis=0)
    mask = np.zeros(shape, bool)
    for point in points:
        # fillPoly paints the outline's pixels too: draw half a pixel inside the nominal radius
        mask |= blob(shape, tuple(point + offset), lobe * rng.uniform(0.85, 1.15) - 0.5, rng)
    return mask


def blob(
    shape: tuple[int, int],
    center_yx: tuple[float, float],
    radius: float,
    rng: np.random.Generator,
    *,
    aspect: float = 1.0,
    roughness: float = 0.0,
) -> np.ndarray:
    """A filled irregular ellipse: random orientation, radial noise of amplitude `roughness`."""
    n = 24
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    harmonics = rng.normal(0, 1, (3, 2))
    wobble = sum(
        (a * np.cos((k + 2) * angles) + b * np.sin((k + 2) * angles)) / (k + 2)
        for k, (a, b) in enumerate(harmonics)
    )
    radii = radius * np.clip(1 + roughness * wobble, 0.3, 2.0)
    theta = rng.uniform(0, math.pi)
    x = radii * np.cos(angles) * math.sqrt(aspect)
    y = radii * np.sin(angles) / math.sqrt(aspect)
    xr = x * math.cos(theta) - y * math.sin(theta) + center_yx[1]
    yr = x * math.sin(theta) + y * math.cos(theta) + center_yx[0]
    return polygon(shape, np.stack([xr, yr], axis=1))


def specks(mask: np.ndarray, share: float, rng: np.random.Generator, blur: float = 1.0) -> np.ndarray:
    """About `share` of `mask`'s pixels, in specks a few px across: where a random field,
    smoothed over `blur` px, is lowest inside the mask (none, and no draw from `rng`, at 0)."""
    ys, xs = np.nonzero(mask)
    if not len(ys) or share <= 0:
        return np.zeros(mask.shape, bool)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    field = cv2.GaussianBlur(rng.random((y1 - y0, x1 - x0)), (0, 0), blur)
    inside = mask[y0:y1, x0:x1]
    out = np.zeros(mask.shape, bool)
    out[y0:y1, x0:x1] = inside & (field <= np.quantile(field[inside], share))
    return out


def polygon(shape: tuple[int, int], points_xy: np.ndarray) -> np.ndarray:
    """A filled polygon through (x, y) points."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(points_xy).astype(np.int32)], 1)
    return canvas.astype(bool)


def disc(shape: tuple[int, int], center_yx: tuple[float, float], radius: float) -> np.ndarray:
    """A filled disc (at least one pixel)."""
    canvas = np.zeros(shape, np.uint8)
    center = (round(center_yx[1]), round(center_yx[0]))
    cv2.circle(canvas, center, max(1, round(radius)), 1, thickness=-1)
    return canvas.astype(bool)


def into_foreground(foreground: np.ndarray, anchor: tuple[int, int], window: int = 4) -> np.ndarray:
    """Unit (dy, dx) vector from `anchor` towards the foreground side of a nearby edge (zeros if flat)."""
    h, w = foreground.shape
    y0, y1 = max(0, anchor[0] - window), min(h, anchor[0] + window + 1)
    x0, x1 = max(0, anchor[1] - window), min(w, anchor[1] + window + 1)
    patch = foreground[y0:y1, x0:x1].astype(np.float64)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    on, off = patch > 0, patch == 0
    if not on.any() or not off.any():
        return np.zeros(2)
    vector = np.array([ys[on].mean() - ys[off].mean(), xs[on].mean() - xs[off].mean()])
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else np.zeros(2)


def run_length(
    foreground: np.ndarray, anchor: tuple[int, int], direction: np.ndarray, limit: int
) -> int:
    """Steps from `anchor` along `direction` (dy, dx) while staying on the foreground."""
    h, w = foreground.shape
    for step in range(1, limit + 1):
        y = round(anchor[0] + direction[0] * step)
        x = round(anchor[1] + direction[1] * step)
        if not (0 <= y < h and 0 <= x < w) or not foreground[y, x]:
            return step - 1
    return limit


def first_hit(foreground: np.ndarray, anchor: tuple[int, int], direction: np.ndarray, limit: int):
    """First foreground pixel (y, x) from `anchor` along `direction` within `limit` steps, or None."""
    h, w = foreground.shape
    for step in range(1, limit + 1):
        y = round(anchor[0] + direction[0] * step)
        x = round(anchor[1] + direction[1] * step)
        if not (0 <= y < h and 0 <= x < w):
            return None
        if foreground[y, x]:
            return y, x
    return None
