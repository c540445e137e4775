"""Label-fidelity gate: did each defect appear inside its mask, the way its class goes, without
over-drawing or touching anything outside the dilated masks?

Two visibility rules. Palette (binarised) lines, such as DeepPCB, use the strict flip rule: most
of the spec mask's pixels must change, the class's way (`min_flipped`). Grey and colour lines use
the contrast rule: the mean change inside the mask must exceed the ring around it (`min_contrast`).
On both, a class with a direction (learned from the real data, `class_directions` in the model
card) must change its mask that way on average. Every verdict also records whether the contrast
rule alone would have passed it, so a set's summary can say what the stricter rules rejected.
A region-guided instance (kind `learned`) has no spec shape: its mask is what changed inside its
region (`check_learned`), which must be neither empty nor the whole region.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.crops import bbox, dilate

WAYS = {1: "brighter", -1: "darker", 0: "either way"}
"""Words for a class direction: the sign of the grey change a defect of the class makes."""


class GateConfig(BaseModel):
    """Gate thresholds, with their meaning (changes are mean |RGB difference| / 255 vs the background)."""

    model_config = ConfigDict(extra="forbid")

    change_threshold: float = Field(0.08, gt=0, lt=1, description="a pixel counts as changed above this")
    ring_px: int = Field(4, ge=1, description="width of the ring around the mask compared with its inside")
    min_contrast: float = Field(
        0.05, ge=0, description="grey/colour lines: mean change inside the mask minus in the ring, at least"
    )
    min_flipped: float = Field(
        0.5, gt=0, le=1,
        description="palette (binarised) lines: fraction of the spec mask's pixels changed the class's way, at least",
    )
    max_spill: float = Field(1.0, ge=0, description="changed ring pixels / mask pixels, at most (over-drawing)")
    max_box_excess: float = Field(
        0.15, ge=0, le=1,
        description="pixels changed outside the mask / pixels of its box grown by ring_px, at most",
    )
    retries: int = Field(3, ge=0, description="regenerations of a rejected instance (new sub-seed each)")
    min_label_px: int = Field(
        4, ge=1, description="learned defects: pixels changed inside the region (the label), at least"
    )
    max_region_fill: float = Field(
        0.8, gt=0, le=1,
        description="learned defects: share of the region changed, at most (more: the model filled the "
        "region's own shape instead of drawing a defect)",
    )


@dataclass
class InstanceVerdict:
    """The gate's measurements and verdict for one instance."""

    passed: bool
    score: float  # inside_change - ring_change
    inside_change: float
    ring_change: float
    box_changed: float  # fraction of the mask's box pixels changed (real DeepPCB: about 0.11)
    spill: float
    outside_changed: int  # pixels changed outside every dilated mask (must be 0)
    flipped: float  # fraction of the mask's pixels changed the class's way (any way without one)
    direction: int  # sign of the mean grey change inside the mask: +1 brighter, -1 darker
    class_direction: int  # the way the class goes (+1, -1; 0: no direction checked)
    rule: str  # "flip" (palette lines) or "contrast" (grey and colour lines)
    contrast_rule_passed: bool  # the verdict of the contrast rule alone (min_contrast, no direction)
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"] = "pass" if self.passed else "reject"
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def change_map(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """HxW mean absolute RGB change in [0, 1]."""
    return np.abs(image.astype(np.float32) - background.astype(np.float32)).mean(axis=-1) / 255


def signed_change(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """HxW grey change in [-1, 1]: mean RGB of `image` minus that of `background`, / 255
    (positive where the image is brighter)."""
    return (image.astype(np.float32) - background.astype(np.float32)).mean(axis=-1) / 255


def outside_changes(image: np.ndarray, background: np.ndarray, regions: list[np.ndarray]) -> int:
    """Pixels whose bytes differ from the background outside the union of the dilated masks."""
    allowed = np.zeros(image.shape[:2], bool)
    for region in regions:
        allowed |= region
    differs = (image != background).any(axis=-1)
    return int((differs & ~allowed).sum())


def check_instance(
    change: np.ndarray, signed: np.ndarray, mask: np.ndarray, outside: int, cfg: GateConfig,
    *, palette: bool = False, direction: int = 0,
) -> InstanceVerdict:
    """Verdict for one instance from the image's `change_map`, `signed_change` and its
    `outside_changes` count; `palette`: the strict flip rule; `direction`: the class's way."""
    ring = dilate(mask, cfg.ring_px) & ~mask
    changed = change > cfg.change_threshold
    inside = float(change[mask].mean()) if mask.any() else 0.0
    around = float(change[ring].mean()) if ring.any() else 0.0
    y0, x0, y1, x1 = bbox(mask)
    box_changed = float(changed[y0:y1, x0:x1].mean())
    grown = _grow((y0, x0, y1, x1), cfg.ring_px, mask.shape)
    excess = float((changed & ~mask)[grown].mean())
    spill = float(changed[ring].sum() / max(1, mask.sum()))
    way = changed if direction == 0 else changed & (np.sign(signed) == direction)
    flipped = float(way[mask].mean()) if mask.any() else 0.0
    drawn = int(np.sign(signed[mask].mean())) if mask.any() else 0
    common = []
    if spill > cfg.max_spill:
        common.append(f"over-drawn: {spill:.2f} changed ring pixels per mask pixel > {cfg.max_spill}")
    if excess > cfg.max_box_excess:
        common.append(f"over-drawn: {excess:.2f} of the box changed beyond the mask > {cfg.max_box_excess}")
    if outside:
        common.append(f"{outside} pixels changed outside the dilated masks")
    faint = inside - around < cfg.min_contrast
    contrast = [f"no visible defect: contrast {inside - around:.3f} < {cfg.min_contrast}"] if faint else []
    reasons = [] if palette else list(contrast)
    if palette and flipped < cfg.min_flipped:
        reasons.append(f"not flipped: {flipped:.2f} of the mask changed ({WAYS[direction]}) < {cfg.min_flipped}")
    if direction and drawn != direction:
        reasons.append(f"drawn the wrong way: {WAYS[drawn] if drawn else 'unchanged'} on average, the class "
                       f"goes {WAYS[direction]}")
    return InstanceVerdict(
        not (reasons + common), inside - around, inside, around, box_changed, spill, outside, flipped, drawn,
        direction, "flip" if palette else "contrast", not (contrast + common), reasons + common,
    )


def _grow(box: tuple[int, int, int, int], px: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    y0, x0, y1, x1 = box
    return slice(max(0, y0 - px), min(shape[0], y1 + px)), slice(max(0, x0 - px), min(shape[1], x1 + px))


def check_learned(
    change: np.ndarray, signed: np.ndarray, region: np.ndarray, outside: int, cfg: GateConfig,
    *, palette: bool = False, direction: int = 0,
) -> InstanceVerdict:
    """Verdict for a region-guided instance (kind `learned`), whose label is what changed in its
    `region`: at least `min_label_px` pixels, at most `max_region_fill` of the region, then the
    rules of `check_instance` on that label."""
    label = label_mask(change, region, cfg)
    size, fill = int(label.sum()), float(label.sum() / max(1, region.sum()))
    problems = []
    if size < cfg.min_label_px:
        problems.append(f"no defect drawn: {size} pixels changed in its region < {cfg.min_label_px}")
    if fill > cfg.max_region_fill:
        problems.append(f"filled its region: {fill:.2f} of it changed > {cfg.max_region_fill}")
    if not label.any():
        return InstanceVerdict(False, 0.0, 0.0, 0.0, 0.0, 0.0, outside, 0.0, 0, direction,
                               "flip" if palette else "contrast", False, problems)
    verdict = check_instance(change, signed, label, outside, cfg, palette=palette, direction=direction)
    verdict.passed = verdict.passed and not problems
    verdict.contrast_rule_passed = verdict.contrast_rule_passed and not problems
    verdict.reasons += problems
    return verdict


def check_sample(
    image: np.ndarray, background: np.ndarray, masks: list[np.ndarray], regions: list[np.ndarray],
    cfg: GateConfig | None = None, *, palette: bool = False, directions: list[int] | None = None,
    learned: list[bool] | None = None,
) -> list[InstanceVerdict]:
    """Verdicts of every instance of one generated image against its clean background.
    `palette`: the image is a binarised (palette) scan, the flip rule applies; `directions`: each
    instance's class direction (+1 brighter, -1 darker, 0 none; None: no direction checked);
    `learned`: per instance, whether its region is a `learned` one (`check_learned`; None: none)."""
    cfg = cfg or GateConfig()
    change, signed = change_map(image, background), signed_change(image, background)
    outside = outside_changes(image, background, regions)
    directions = directions or [0] * len(masks)
    learned = learned or [False] * len(masks)
    return [check_learned(change, signed, region, outside, cfg, palette=palette, direction=d) if loose
            else check_instance(change, signed, mask, outside, cfg, palette=palette, direction=d)
            for mask, region, d, loose in zip(masks, regions, directions, learned, strict=True)]


def label_mask(change: np.ndarray, region: np.ndarray, cfg: GateConfig) -> np.ndarray:
    """What a defect really changed: the pixels inside its dilated mask `region` whose `change_map`
    value exceeds `change_threshold` (the written label of palette lines; DESIGN.md labels rule 1)."""
    return region & (change > cfg.change_threshold)
