"""Render defects onto clean backgrounds: crop around each mask, inpaint, paste back, gate, retry.

Each defect's crop is drawn at its working side (pipeline.crop_sizes: about one crop pixel per image
pixel, among the model's crop sizes), or at the model's base resolution with `full_resolution: false`.

Each rendered instance gets its label mask: on palette (binarised) lines the pixels that actually
changed inside its dilated mask; on grey and colour lines its spec mask (the contrast rule checks
the mask as a whole, so a per-pixel threshold would cut faint but visible parts off the label).
A `learned` instance's mask is a loose region the model draws the shape in: the region is not
dilated, and its label is the pixels that changed inside it, on every line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from conditioning.errors import DefectforgeError
from pipeline.crop_sizes import CropPlan, plan_crop
from pipeline.crops import dilate, extract, make_batch, paste, to_uint8
from pipeline.gate import (
    GateConfig,
    InstanceVerdict,
    change_map,
    check_sample,
    label_mask,
    signed_change,
)
from pipeline.models import GeneratorBackend


class RenderConfig(BaseModel):
    """How defects are rendered, with the meaning of each default."""

    model_config = ConfigDict(extra="forbid")

    dilate_px: int = Field(1, ge=0, description="px the mask grows into the region the model may change")
    margin: float = Field(0.5, ge=0, description="crop window = region box side * (1 + margin), at least the crop side")
    full_resolution: bool = Field(
        True, description="draw each defect in the smallest of the model's crop sizes that holds its window, "
        "at one crop pixel per image pixel (pipeline.crop_sizes); false: every defect at the model's base "
        "resolution, resized to its window (faster; blurred and blocky on defects larger than that)"
    )
    steps: int | None = Field(None, ge=1, description="sampling steps (None: the model's default)")
    batch_size: int = Field(16, ge=1, description="crops per model call")
    palette: list[list[int]] | None = Field(
        None, description="snap drawn pixels to these RGB colours (binarised product lines; from the model card)"
    )
    directions: dict[str, Literal[-1, 0, 1]] | None = Field(
        None, description="per class, the way its defects change the grey level (+1 brighter, -1 darker, 0 "
        "either); the gate rejects the wrong way (from the model card's class_directions)"
    )
    greyscale: bool | None = Field(
        None, description="draw grey pixels only (greyscale lines; None: from the prepared dataset)"
    )
    onto: Literal["clean", "defective"] = Field(
        "clean", description="backgrounds: clean references and defect-free images, or the budget's real defect "
        "images (new defects placed away from their own, whose labels are kept: every generated image also "
        "holds the real defects, so synthetic images never take a pass over real defects away)"
    )
    pool_neighbours: int = Field(
        4, ge=0, description="budgets drawn --defects-only: per budget image, this many of the defect-free "
        "train images most like it join the backgrounds (pipeline.background_match; 0: every one)"
    )
    one_way: bool = Field(
        True, description="palette lines: inside each defect's region, pixels changed against its class's direction "
        "are put back (a short only adds copper, an open only removes it: no stray specks of the other colour "
        "where the drawn shape meets the part); classes without a direction are left as drawn"
    )
    gate: GateConfig = Field(default_factory=GateConfig)


@dataclass
class Job:
    """One image to render: a clean background, its defects (class, bool mask, severity), a seed,
    and per defect whether its mask is a `learned` region (empty: none is)."""

    background: np.ndarray
    instances: list[tuple[str, np.ndarray, float]]
    seed: int
    learned: list[bool] = field(default_factory=list)

    def is_learned(self, index: int) -> bool:
        return bool(self.learned) and self.learned[index]


@dataclass
class Rendered:
    """The rendered image, each instance's label mask, gate verdict and the attempts it took."""

    image: np.ndarray
    regions: list[np.ndarray]
    labels: list[np.ndarray] = field(default_factory=list)
    verdicts: list[InstanceVerdict] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)


def sub_seed(seed: int, instance: int, attempt: int) -> int:
    """The noise seed of one instance's attempt: a pure function of its three inputs."""
    return int(np.random.SeedSequence([seed, instance, attempt]).generate_state(1, np.uint64)[0] >> 1)


def render(backend: GeneratorBackend, jobs: list[Job], cfg: RenderConfig | None = None) -> list[Rendered]:
    """Render every job; rejected instances are regenerated with a new sub-seed up to `gate.retries`."""
    cfg = cfg or RenderConfig()
    # 1. geometry and crops of every instance (they never change between attempts)
    regions = [[m if job.is_learned(i) else dilate(m, cfg.dilate_px)
                for i, (_, m, _) in enumerate(job.instances)] for job in jobs]
    sizes = backend.crop_sizes if cfg.full_resolution else (backend.resolution,)
    plans = [[plan_crop(r, sizes, cfg.margin) for r in rs] for rs in regions]
    crops = {(j, i): _crop(backend, job, i, regions[j][i], plans[j][i])
             for j, job in enumerate(jobs) for i in range(len(job.instances))}
    drawn: dict[tuple[int, int], np.ndarray] = {}
    attempts = {key: 0 for key in crops}
    pending = list(crops)
    results = [Rendered(job.background.copy(), regions[j]) for j, job in enumerate(jobs)]
    for attempt in range(cfg.gate.retries + 1):
        # 2. sample the pending crops in batches of one crop side, one seed per crop
        for keys in _batches(pending, plans, cfg.batch_size):
            batch = _stack([crops[k] for k in keys]).to(_device(backend))
            seeds = [sub_seed(jobs[j].seed, i, attempt) for j, i in keys]
            for key, out in zip(keys, to_uint8(backend.sample(batch, seeds, cfg.steps)), strict=True):
                drawn[key], attempts[key] = out, attempt + 1
        # 3. paste back and gate each touched image; failures go round again
        touched = sorted({j for j, _ in pending})
        pending = []
        for j in touched:
            results[j] = _compose(jobs[j], results[j].regions, plans[j], drawn, j, cfg)
            results[j].attempts = [attempts[(j, i)] for i in range(len(jobs[j].instances))]
            pending += [(j, i) for i, v in enumerate(results[j].verdicts) if not v.passed]
        if not pending:
            break
    return results


def snap(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each N x 3 pixel replaced by its nearest palette colour."""
    distance = ((pixels[:, None, :].astype(np.int32) - palette[None].astype(np.int32)) ** 2).sum(-1)
    return palette[distance.argmin(1)]


def grey(pixels: np.ndarray) -> np.ndarray:
    """N x 3 RGB pixels as N x 3 equal-channel grey (ITU-R 601 luma, as OpenCV computes it)."""
    luma = cv2.cvtColor(pixels.reshape(-1, 1, 3), cv2.COLOR_RGB2GRAY).reshape(-1, 1)
    return np.repeat(luma, 3, axis=1)


def _crop(backend: GeneratorBackend, job: Job, index: int, region: np.ndarray, plan: CropPlan) -> dict:
    class_name, mask, severity = job.instances[index]
    if class_name not in backend.classes:
        raise DefectforgeError(
            f"class {class_name!r}: the generator was trained on {backend.classes}; "
            "train it on this dataset or fix the spec's `class`."
        )
    window, side = plan.window, plan.side
    clean = extract(job.background, window, side)
    return {"image": clean, "clean": clean, "mask": extract(mask, window, side),
            "region": extract(region, window, side), "class_id": backend.classes.index(class_name) + 1,
            "severity": float(severity), "learned": job.is_learned(index)}


def _batches(keys: list[tuple[int, int]], plans, batch_size: int) -> list[list[tuple[int, int]]]:
    """`keys` in batches of at most `batch_size`, each of one crop side (smallest side first)."""
    sides = sorted({plans[j][i].side for j, i in keys})
    groups = [[(j, i) for j, i in keys if plans[j][i].side == side] for side in sides]
    return [group[start : start + batch_size] for group in groups for start in range(0, len(group), batch_size)]


def _stack(items: list[dict]):
    keys = ("image", "clean", "mask", "region", "class_id", "severity", "learned")
    return make_batch(*([it[k] for it in items] for k in keys))


def _device(backend: GeneratorBackend) -> torch.device:
    return next(backend.modules()[0].parameters()).device


def _compose(job: Job, regions, plans, drawn, j: int, cfg: RenderConfig) -> Rendered:
    """Paste every instance's latest crop onto a fresh copy of the background, then gate it."""
    image = job.background.copy()
    for i, (region, plan) in enumerate(zip(regions, plans, strict=True)):
        paste(image, drawn[(j, i)], plan.window, region)
    inside = np.logical_or.reduce(regions)
    if cfg.palette:
        image[inside] = snap(image[inside], np.array(cfg.palette, np.uint8))
    if cfg.greyscale:
        image[inside] = grey(image[inside])
    learned = [job.is_learned(i) for i in range(len(job.instances))]
    directions = [cfg.directions.get(c, 0) for c, _, _ in job.instances] if cfg.directions else None
    if cfg.palette and cfg.one_way and directions:
        _put_back_wrong_way(image, job.background, regions, directions)
    verdicts = check_sample(image, job.background, [m for _, m, _ in job.instances], regions, cfg.gate,
                            palette=bool(cfg.palette), directions=directions, learned=learned)
    change = change_map(image, job.background)
    labels = [label_mask(change, region, cfg.gate) if cfg.palette or loose else mask
              for (_, mask, _), region, loose in zip(job.instances, regions, learned, strict=True)]
    return Rendered(image, regions, labels, verdicts)


def _put_back_wrong_way(image: np.ndarray, background: np.ndarray, regions, directions: list[int]) -> None:
    """In place: inside each region, the pixels whose grey level moved against its direction
    (+1 brighter, -1 darker; 0: none) take the background's value again."""
    for region, direction in zip(regions, directions, strict=True):
        if direction:
            drawn, clean = image[region], background[region]  # N x 3: the region's pixels only
            wrong = np.sign(signed_change(drawn, clean)) == -direction
            drawn[wrong] = clean[wrong]
            image[region] = drawn
