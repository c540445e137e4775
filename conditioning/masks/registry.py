"""One registry of mask builders: every defect kind shares one signature and declares its params."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # real.py registers through this module: no import at run time
    from conditioning.masks.real import BoardMatches

Surface = Literal["any", "foreground", "background", "edge"]


@dataclass(frozen=True)
class Canvas:
    """Where a builder draws: the anchor pixel (row, col), the part's foreground (bool HxW), the
    class's real defects (`conditioning.masks.real.RealExample`s: the `real` kind's shapes), and
    where those fit this part, kept across the tries on one image
    (`conditioning.masks.real.BoardMatches`; None: matched afresh)."""

    anchor: tuple[int, int]
    foreground: np.ndarray
    examples: Sequence = ()
    matches: BoardMatches | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.foreground.shape[:2]


MaskBuilder = Callable[[Canvas, Mapping[str, float], np.random.Generator], np.ndarray]
"""`builder(canvas, params, rng) -> bool HxW mask`; params are sampled values (px already scaled)."""
AnchorFilter = Callable[[np.ndarray, Mapping[str, float]], np.ndarray]
"""`anchors(foreground, limits) -> bool HxW`: where a kind can possibly be drawn, given each
param's largest value; its docstring's first line names the rule in placement errors."""
InertRule = Callable[[Mapping[str, tuple[float, float]]], dict[str, str]]
"""`inert(ranges) -> {param: why}`: the params that cannot change a mask under these ranges (each
param's `(min, max)`, the kind's defaults where the spec sets none), with the reason and the fix."""


@dataclass(frozen=True)
class MaskKind:
    """A registered defect kind: its builder, the shape params it reads (with default
    `(min, max)` ranges), the surface its anchor sits on unless the spec says otherwise, and an
    optional filter of the anchors where it can fit, and an optional rule naming params the other
    params make inert (`spec check` notes them)."""

    name: str
    build: MaskBuilder
    params: Mapping[str, tuple[float, float]]
    surface: Surface
    description: str
    anchors: AnchorFilter | None = None
    inert: InertRule | None = None

    def ranges(self, shape) -> dict[str, tuple[float, float]]:
        """Each param's `(min, max)`: the spec's `shape` range where it sets one, else the
        kind's default."""
        return {name: (given.min, given.max) if (given := getattr(shape, name)) is not None
                else default for name, default in self.params.items()}


KINDS: dict[str, MaskKind] = {}


def register(
    name: str,
    *,
    params: Mapping[str, tuple[float, float]],
    surface: Surface,
    description: str,
    anchors: AnchorFilter | None = None,
    inert: InertRule | None = None,
) -> Callable[[MaskBuilder], MaskBuilder]:
    """Decorator: add a builder to `KINDS` under `name` (adding a kind touches one place)."""

    def add(build: MaskBuilder) -> MaskBuilder:
        if name in KINDS:
            raise ValueError(f"mask kind {name!r} registered twice")
        KINDS[name] = MaskKind(name, build, dict(params), surface, description, anchors, inert)
        return build

    return add
