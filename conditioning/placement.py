"""Place defect instances on one image: regions, keep-out zones, surface, edge band, spacing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, partial

import cv2
import numpy as np

from conditioning.context import context_share
from conditioning.errors import DefectforgeError
from conditioning.masks import KINDS, Canvas, MaskKind
from conditioning.masks.learned import LEARNED, real_size
from conditioning.masks.real import REAL, BoardMatches, RealExample
from conditioning.region_masks import region_mask_path
from conditioning.spec import SIZE_PARAMS, Context, DefectLibrary, DefectSpec, Range, Region

MAX_TRIES = 100
"""Anchors tried per instance before giving up with a PlacementError."""
BAND_TRIES = MAX_TRIES // 2
"""Tries that keep an instance inside its drawn `context.quantiles` band; the rest accept any
share within `context.foreground` (a board with no spot in the band still gets its defect)."""
MIN_PIXELS = 2
"""A mask smaller than this (after clipping to its regions) counts as not drawn."""
DEFAULT_EDGE_BAND = 2.0
"""px around the foreground edge used by `surface: edge` when `edge_band` is unset."""
WIDTH_DISC = 25
"""px: `pick: trace` reads a pixel's surface width as twice the largest distance to the other
surface within a disc this wide (DeepPCB's traces are up to 24 px wide)."""


class PlacementError(DefectforgeError):
    """A spec cannot be satisfied on an image; the message says which constraint and how to relax it."""


@dataclass
class PlacedDefect:
    """One placed instance: its spec, drawn severity level, sampled params and bool HxW mask."""

    spec: DefectSpec
    level: str
    severity: float
    params: dict[str, float]
    mask: np.ndarray


def place_defects(
    library: DefectLibrary,
    foreground: np.ndarray,
    rng: np.random.Generator,
    *,
    image_id: str = "image",
    occupied: np.ndarray | None = None,
    real_sizes: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    real_examples: Mapping[str, Sequence[RealExample]] | None = None,
) -> list[PlacedDefect]:
    """Draw counts, then place each instance in turn (bounded retries; raises PlacementError).
    `occupied`: pixels already taken (a real image's own defects), kept `min_distance` away;
    `real_sizes`: per class, the (w, h) boxes of its real defects, which size `learned` regions
    whose spec leaves `length` and `width` unset; `real_examples`: per class, its real defects'
    shapes, which `real` defects take."""
    foreground = foreground.astype(bool)
    occupied = np.zeros(foreground.shape, bool) if occupied is None else occupied.astype(bool)
    check_real_examples(library, real_examples)
    plan = plan_instances(library, rng)
    widths = cache(partial(_surface_widths, foreground))  # read by `pick: trace`, once an image
    matches = BoardMatches(foreground) if real_examples else None  # `real` shapes' fits, once an image
    placed: list[PlacedDefect] = []
    for number, spec in enumerate(plan, start=1):
        where = f"defect `{spec.name}` (kind {spec.kind}, instance {number} of {len(plan)}) on image `{image_id}`"
        sizes = (real_sizes or {}).get(spec.class_name) or []
        examples = tuple((real_examples or {}).get(spec.class_name) or ())
        one = _place_one(library, spec, foreground, occupied, rng, where, sizes, examples, widths, matches)
        occupied |= one.mask
        placed.append(one)
    return placed


def check_real_examples(library: DefectLibrary,
                        real_examples: Mapping[str, Sequence[RealExample]] | None) -> None:
    """A DefectforgeError (not a PlacementError: no other image fixes it) when a `real` defect's
    class has no real examples to take its shape from."""
    missing = sorted({d.name for d in library.defects
                      if d.kind == REAL and not (real_examples or {}).get(d.class_name)})
    if missing:
        raise DefectforgeError(
            f"the spec in {library.base_dir}: defects {missing} are `kind: real` (shaped like the class's real "
            "defects), but no real defect of their class with a clean reference was given; draw "
            "them on a dataset with clean references and a budget (`--dataset NAME --budget FILE`), "
            "or give them another kind")


def plan_instances(library: DefectLibrary, rng: np.random.Generator) -> list[DefectSpec]:
    """Instances to place, in order: each defect's `count`, topped up to `min_per_image`, capped
    at `max_per_image` (dropping random ones)."""
    plan = [spec for spec in library.defects for _ in range(int(spec.count.sample(rng)))]
    can_add = [spec for spec in library.defects if spec.count.max > 0]
    while len(plan) < library.min_per_image and can_add:
        plan.append(can_add[int(rng.integers(len(can_add)))])
    if library.max_per_image is not None and len(plan) > library.max_per_image:
        keep = sorted(rng.choice(len(plan), library.max_per_image, replace=False))
        plan = [plan[i] for i in keep]
    return plan


def sample_params(
    spec: DefectSpec, kind: MaskKind, size: float, rng: np.random.Generator,
    real_sizes: Sequence[tuple[float, float]] = (),
) -> dict[str, float]:
    """One value per param the kind reads (spec range or the kind's default); pixel params x size.
    A `learned` region without spec sizes takes the size of one of `real_sizes` (the class's real
    defect boxes) when there are any."""
    real = {}
    if kind.name == LEARNED and real_sizes and spec.shape.length is None and spec.shape.width is None:
        real = real_size(real_sizes, rng)
    values = {}
    for name, (lo, hi) in kind.params.items():
        given = getattr(spec.shape, name)
        value = real[name] if name in real else (given or Range(min=lo, max=hi)).sample(rng)
        values[name] = value * size if name in SIZE_PARAMS else value
    return values


def param_limits(spec: DefectSpec, kind: MaskKind) -> dict[str, float]:
    """The largest value each param of the kind can take (pixel params at the largest size)."""
    size = max(level.size for level in spec.severity.values())
    return {name: top * size if name in SIZE_PARAMS else top
            for name, (_, top) in kind.ranges(spec.shape).items()}


def allowed_area(library: DefectLibrary, spec: DefectSpec, shape: tuple[int, int]) -> np.ndarray:
    """Where this defect's mask may lie: its regions (or the whole image) minus keep-out zones."""
    inside = np.ones(shape, bool)
    if spec.placement.regions:
        inside = np.zeros(shape, bool)
        for name in spec.placement.regions:
            inside |= region_mask(library, name, shape)
    for name in spec.placement.keep_out:
        inside &= ~region_mask(library, name, shape)
    return inside


def region_mask(library: DefectLibrary, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A named region rasterised at `shape` (polygon, or mask file resized with nearest)."""
    region: Region = library.regions[name]
    h, w = shape
    if region.mask is not None:
        return _mask_file(str(region_mask_path(library.base_dir, region.mask)), shape).copy()
    points = np.array(region.polygon, float)
    if region.units == "fraction":
        points = points * [w, h]
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(points).astype(np.int32)], 1)
    return canvas.astype(bool)


@lru_cache(maxsize=32)
def _mask_file(path: str, shape: tuple[int, int]) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DefectforgeError(
            f"region mask `{path}` cannot be read: give a PNG path relative to the spec file"
        )
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 127


def _place_one(library, spec, foreground, occupied, rng, where, real_sizes, examples, widths,
               matches) -> PlacedDefect:
    kind = KINDS[spec.kind]
    allowed = allowed_area(library, spec, foreground.shape)
    spacing = (
        library.min_distance if spec.placement.min_distance is None else spec.placement.min_distance
    )
    distance = _distance_to(occupied)
    limits = param_limits(spec, kind)
    candidates, steps = _candidates(spec, kind, foreground, allowed, distance, spacing, limits)
    ys, xs = np.nonzero(candidates)
    if len(ys) == 0:
        raise PlacementError(_no_candidates(where, steps))
    odds = None if spec.placement.pick == "pixel" else _trace_odds(widths(), ys, xs)
    empty = crowded = off_context = 0
    context = spec.placement.context
    band = _share_band(context, rng)
    levels = list(spec.severity)
    weights = np.array([spec.severity[name].weight for name in levels], float)
    for attempt in range(MAX_TRIES):
        pick = int(rng.integers(len(ys)) if odds is None else rng.choice(len(ys), p=odds))
        level = levels[int(rng.choice(len(levels), p=weights / weights.sum()))]
        params = sample_params(spec, kind, spec.severity[level].size, rng, real_sizes)
        anchor = (int(ys[pick]), int(xs[pick]))
        mask = kind.build(Canvas(anchor, foreground, examples, matches), params, rng) & allowed
        if mask.sum() < MIN_PIXELS:
            empty += 1
        elif occupied.any() and distance[mask].min() < max(spacing, 1):
            crowded += 1
        elif context and not _in_context(mask, foreground, context, band if attempt < BAND_TRIES else None):
            off_context += 1
        else:
            return PlacedDefect(spec, level, spec.severity[level].contrast, params, mask)
    raise PlacementError(
        f"cannot place {where}: tried {MAX_TRIES} anchors on {len(ys)} candidate pixels; "
        f"{empty} masks came out empty (the shape does not fit there: e.g. `short` needs two "
        f"separate copper regions within `shape.length` px, `open` needs copper, `real` a part "
        f"like the one its real defect was on; `placement.edge_band` keeps anchors near the foreground edge), {crowded} came "
        f"closer than {spacing:g} px to another defect, {off_context} had a foreground share "
        f"outside `placement.context`{_context_text(context)}. Relax: widen `regions`, change "
        "`placement.surface` or `placement.context.foreground`, raise the shape sizes, or lower "
        "`min_distance` / `count`."
    )


def _share_band(context: Context | None, rng: np.random.Generator) -> tuple[float, float] | None:
    """One band between two neighbouring `context.quantiles`, drawn once per instance (drawing it
    per try would favour the bands that are easy to hit); None without quantiles. A band [a, b)
    holds the shares from a up to b, [a, a] the share a alone (real shares tie at 0 and 1)."""
    if context is None or not context.quantiles:
        return None
    pick = int(rng.integers(len(context.quantiles) - 1))
    return context.quantiles[pick], context.quantiles[pick + 1]


def _in_context(mask: np.ndarray, foreground: np.ndarray, context: Context,
                band: tuple[float, float] | None) -> bool:
    share = context_share(mask, foreground, context.margin)
    if band is None:
        return context.foreground.min <= share <= context.foreground.max
    low, high = band
    return low <= share < high or share == low == high  # half-open: a tie at 1 is its own band


def _context_text(context: Context | None) -> str:
    if context is None:
        return " (unset)"
    return f" ([{context.foreground.min:g}, {context.foreground.max:g}] within {context.margin:g} px)"


def _distance_to(occupied: np.ndarray) -> np.ndarray:
    if not occupied.any():
        return np.full(occupied.shape, np.inf, np.float32)
    return cv2.distanceTransform((~occupied).astype(np.uint8), cv2.DIST_L2, 3)


def _candidates(spec, kind, foreground, allowed, distance, spacing, limits):
    """Anchor pixels, applying one constraint at a time; returns the mask and (name, count, hint) steps."""
    surface = spec.placement.surface or kind.surface
    band = spec.placement.edge_band or (DEFAULT_EDGE_BAND if surface == "edge" else None)
    h, w = foreground.shape
    border = spec.placement.border
    frame = np.zeros((h, w), bool)
    frame[border : h - border, border : w - border] = True
    constraints = [
        (
            f"surface: {surface}",
            _surface(surface, foreground),
            f"this image has no {surface} pixels: pass a correct foreground mask or set `placement.surface: any`",
        ),
        (
            f"kind {kind.name}: {_rule(kind)}",
            kind.anchors(foreground, limits) if kind.anchors else None,
            "raise the shape size the rule names, or use backgrounds where this kind fits",
        ),
        (
            f"regions {spec.placement.regions or '(whole image)'} minus keep_out {spec.placement.keep_out}",
            allowed,
            "widen `placement.regions` or shrink `placement.keep_out` (check polygon `units`)",
        ),
        (
            f"edge_band {band:g} px" if band else "edge_band (unset)",
            _near_edge(foreground, band) if band else None,
            "raise `placement.edge_band`",
        ),
        (f"border {border} px", frame, "lower `placement.border`"),
        (
            f"min_distance {spacing:g} px from placed defects",
            distance >= spacing,
            "lower `min_distance` (library or placement) or `count` / `max_per_image`",
        ),
    ]
    current = np.ones((h, w), bool)
    steps = []
    for name, mask, hint in constraints:
        if mask is not None:
            current &= mask
        steps.append((name, int(current.sum()), hint))
    return current, steps


def _trace_odds(widths: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """`pick: trace`: each candidate's odds of being the anchor, 1 / the width of the surface
    (copper or gap) it lies on, normalised."""
    weights = 1 / np.maximum(widths[ys, xs], 1)
    return weights / weights.sum()


def _surface_widths(foreground: np.ndarray) -> np.ndarray:
    """Per pixel, the width of the surface it lies on (`_side_width` of its side)."""
    return np.where(foreground, _side_width(foreground), _side_width(~foreground))


def _side_width(side: np.ndarray) -> np.ndarray:
    """Per pixel of `side`, twice the largest distance to the other side within WIDTH_DISC px
    (capped at twice the image's long side: an image that is all one side has no width)."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (WIDTH_DISC, WIDTH_DISC))
    distance = cv2.dilate(cv2.distanceTransform(side.astype(np.uint8), cv2.DIST_L2, 3), disc)
    return 2 * np.minimum(distance, max(side.shape))


def _rule(kind: MaskKind) -> str:
    doc = (kind.anchors.__doc__ or "").strip() if kind.anchors else ""
    return doc.splitlines()[0] if doc else "anywhere on its surface"


def _surface(surface: str, foreground: np.ndarray) -> np.ndarray:
    if surface == "foreground":
        return foreground
    if surface == "background":
        return ~foreground
    if surface == "edge":
        return _near_edge(foreground, DEFAULT_EDGE_BAND)
    return np.ones(foreground.shape, bool)


def _near_edge(foreground: np.ndarray, band: float) -> np.ndarray:
    fg = foreground.astype(np.uint8)
    inside = cv2.distanceTransform(fg, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - fg, cv2.DIST_L2, 3)
    return (
        np.where(foreground, inside <= band, outside <= band)
        & foreground.any()
        & (~foreground).any()
    )


def _no_candidates(where: str, steps) -> str:
    trail = ", ".join(f"{name}: {count}" for name, count, _ in steps)
    name, _, hint = next(step for step in steps if step[1] == 0)
    return (
        f"cannot place {where}: no anchor pixel left after `{name}` "
        f"(candidate pixels after each constraint: {trail}). Relax: {hint}."
    )
