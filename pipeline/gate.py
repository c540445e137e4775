"""Label-fidelity gate: did each defect appear inside its mask, without over-drawing or touching
anything outside the dilated masks?"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.crops import bbox, dilate


class GateConfig(BaseModel):
    """Gate thresholds, with their meaning (changes are mean |RGB difference| / 255 vs the background)."""

    model_config = ConfigDict(extra="forbid")

    change_threshold: float = Field(0.08, gt=0, lt=1, description="a pixel counts as changed above this")
    ring_px: int = Field(4, ge=1, description="width of the ring around the mask compared with its inside")
    min_contrast: float = Field(0.05, ge=0, description="mean change inside the mask minus in the ring, at least")
    max_spill: float = Field(1.0, ge=0, description="changed ring pixels / mask pixels, at most (over-drawing)")
    max_box_excess: float = Field(
        0.15, ge=0, le=1,
        description="pixels changed outside the mask / pixels of its box grown by ring_px, at most",
    )
    retries: int = Field(3, ge=0, description="regenerations of a rejected instance (new sub-seed each)")


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
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"] = "pass" if self.passed else "reject"
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def change_map(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    """HxW mean absolute RGB change in [0, 1]."""
    return np.abs(image.astype(np.float32) - background.astype(np.float32)).mean(axis=-1) / 255


def outside_changes(image: np.ndarray, background: np.ndarray, regions: list[np.ndarray]) -> int:
    """Pixels whose bytes differ from the background outside the union of the dilated masks."""
    allowed = np.zeros(image.shape[:2], bool)
    for region in regions:
        allowed |= region
    differs = (image != background).any(axis=-1)
    return int((differs & ~allowed).sum())


def check_instance(change: np.ndarray, mask: np.ndarray, outside: int, cfg: GateConfig) -> InstanceVerdict:
    """Verdict for one instance from the image's change map and its `outside_changes` count."""
    ring = dilate(mask, cfg.ring_px) & ~mask
    changed = change > cfg.change_threshold
    inside = float(change[mask].mean()) if mask.any() else 0.0
    around = float(change[ring].mean()) if ring.any() else 0.0
    y0, x0, y1, x1 = bbox(mask)
    box_changed = float(changed[y0:y1, x0:x1].mean())
    grown = _grow((y0, x0, y1, x1), cfg.ring_px, mask.shape)
    excess = float((changed & ~mask)[grown].mean())
    spill = float(changed[ring].sum() / max(1, mask.sum()))
    reasons = []
    if inside - around < cfg.min_contrast:
        reasons.append(f"no visible defect: contrast {inside - around:.3f} < {cfg.min_contrast}")
    if spill > cfg.max_spill:
        reasons.append(f"over-drawn: {spill:.2f} changed ring pixels per mask pixel > {cfg.max_spill}")
    if excess > cfg.max_box_excess:
        reasons.append(f"over-drawn: {excess:.2f} of the box changed beyond the mask > {cfg.max_box_excess}")
    if outside:
        reasons.append(f"{outside} pixels changed outside the dilated masks")
    return InstanceVerdict(not reasons, inside - around, inside, around, box_changed, spill, outside, reasons)


def _grow(box: tuple[int, int, int, int], px: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    y0, x0, y1, x1 = box
    return slice(max(0, y0 - px), min(shape[0], y1 + px)), slice(max(0, x0 - px), min(shape[1], x1 + px))


def check_sample(
    image: np.ndarray, background: np.ndarray, masks: list[np.ndarray], regions: list[np.ndarray],
    cfg: GateConfig | None = None,
) -> list[InstanceVerdict]:
    """Verdicts of every instance of one generated image against its clean background."""
    cfg = cfg or GateConfig()
    change = change_map(image, background)
    outside = outside_changes(image, background, regions)
    return [check_instance(change, mask, outside, cfg) for mask in masks]
