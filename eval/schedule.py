"""The training schedule of one arm: same optimizer steps for every arm, or same epochs; and the
real-only controls that keep "synthetic data hurts" apart from "fewer passes over real images".

With `schedule="steps"` (the default) the profile's `epochs` is the real-only arm's; an arm with
synthetic images trains for fewer epochs so that it takes the same number of batches (ultralytics
rounds each epoch's batches up, so epochs come from batch counts, not image counts). Mosaic-off
epochs and warm-up scale the same way. Its real images are then seen fewer times than in the
real-only arm, so the protocol also trains real-only at each reduced epoch count (a control) and
measures every delta against the stronger of the two real-only runs.
"""

from __future__ import annotations

import math

from eval.config import DetectorConfig

CONTROL_PREFIX = "real-e"
"""Arm name of a real-only control trained for fewer epochs: `real-e140` = 140 epochs."""


def batches_per_epoch(images: int, batch: int) -> int:
    """Batches ultralytics makes of `images` per epoch (the last, partial one included)."""
    return math.ceil(images / batch)


def steps(detector: DetectorConfig, images: int) -> int:
    """Batches one detector trains on: epochs x batches per epoch."""
    return detector.epochs * batches_per_epoch(images, detector.batch)


def arm_schedule(detector: DetectorConfig, schedule: str, real_images: int,
                 train_images: int) -> DetectorConfig:
    """The detector settings for an arm that trains on `train_images` images (tiles), of which
    `real_images` are the real ones every arm has."""
    if schedule == "epochs" or train_images <= real_images:
        return detector
    share = (batches_per_epoch(real_images, detector.batch)
             / batches_per_epoch(train_images, detector.batch))
    return detector.model_copy(update={
        "epochs": max(1, round(detector.epochs * share)),
        "close_mosaic": round(detector.close_mosaic * share),
        "warmup_epochs": detector.warmup_epochs * share,
    })


def control_name(detector: DetectorConfig) -> str:
    """The real-only control that sees the real images as often as an arm with `detector`."""
    return f"{CONTROL_PREFIX}{detector.epochs}"


def is_control(arm: str) -> bool:
    return arm.startswith(CONTROL_PREFIX)
