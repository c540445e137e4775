"""The training schedule of one arm, and the real-only controls that keep "synthetic data hurts"
apart from "fewer passes over real images" or "more optimizer steps".

- `steps` (the default): real and synthetic images mixed, at the real-only arm's optimizer steps.
  The profile's `epochs` is the real-only arm's; an arm with synthetic images trains for fewer
  epochs so that it takes the same number of batches (ultralytics rounds each epoch's batches
  up, so epochs come from batch counts, not image counts). Mosaic-off epochs and warm-up scale
  the same way. Its real images are seen fewer times than in the real-only arm.
- `epochs`: every arm trains `epochs` epochs over its whole set.
- `oversample`: mixed, with the real images repeated so that at least half of the training list
  (so of every batch, on average) is real, and epochs cut so that each real image is seen as often
  as in the real-only arm. More synthetic images then cost more steps, never real passes.
- `synthetic-first`: pre-train on the synthetic set alone (as many optimizer steps as the
  real-only arm takes), then fine-tune on the k real images for the real-only arm's epochs.

Every arm is compared with the stronger of the real-only runs: the full-epoch one and, where the
arm's schedule differs from it, real-only at the arm's passes over each real image and at the
arm's total optimizer steps (the controls, named `real-e<epochs>`). A `synthetic-first` arm also
gets `real-twice`: the real-only arm's detector fine-tuned once more, as the arm is, on the real
images: the same two stages with real images in the first, so what the restart itself gives (a
second warm-up and learning-rate decay) is not credited to the synthetic set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from eval.config import DetectorConfig

CONTROL_PREFIX = "real-e"
"""Arm name of a real-only control trained for other epochs: `real-e140` = 140 epochs."""
TWICE_CONTROL = "real-twice"
"""Arm name of the real-only control of a `synthetic-first` arm: `real`'s detector fine-tuned
again on the real images for the profile's epochs."""


@dataclass(frozen=True)
class ArmSchedule:
    """How one arm trains: the (final) detector settings, how many times its real images are
    listed, an optional first stage (on the synthetic set alone, or for `real-twice` on the
    real images), and the names of the real-only controls it needs."""

    detector: DetectorConfig
    real_repeats: int = 1
    pretrain: DetectorConfig | None = None
    pretrain_on_real: bool = False
    controls: tuple[str, ...] = ()

    def steps(self, real_images: int, synthetic_images: int) -> int:
        """Optimizer steps of both stages together."""
        final = self.real_repeats * real_images + (0 if self.pretrain else synthetic_images)
        first = real_images if self.pretrain_on_real else synthetic_images
        return (steps(self.detector, final)
                + (steps(self.pretrain, first) if self.pretrain else 0))


def batches_per_epoch(images: int, batch: int) -> int:
    """Batches ultralytics makes of `images` per epoch (the last, partial one included)."""
    return math.ceil(images / batch)


def steps(detector: DetectorConfig, images: int) -> int:
    """Batches one detector trains on: epochs x batches per epoch."""
    return detector.epochs * batches_per_epoch(images, detector.batch)


def scaled(detector: DetectorConfig, share: float) -> DetectorConfig:
    """`detector` with its epochs, mosaic-off epochs and warm-up scaled by `share`."""
    return detector.model_copy(update={
        "epochs": max(1, round(detector.epochs * share)),
        "close_mosaic": round(detector.close_mosaic * share),
        "warmup_epochs": detector.warmup_epochs * share,
    })


def arm_schedule(detector: DetectorConfig, schedule: str, real_images: int,
                 synthetic_images: int) -> ArmSchedule:
    """The schedule of an arm that trains on `real_images` real images (tiles) and
    `synthetic_images` synthetic ones (0: real-only)."""
    if schedule == "epochs" or synthetic_images == 0:
        return ArmSchedule(detector)
    real_batches = batches_per_epoch(real_images, detector.batch)
    if schedule == "steps":
        mixed = scaled(detector, real_batches / batches_per_epoch(real_images + synthetic_images,
                                                                  detector.batch))
        return ArmSchedule(mixed, controls=_controls(detector, mixed.epochs))
    if schedule == "oversample":
        repeats = max(1, math.ceil(synthetic_images / real_images))
        mixed = scaled(detector, 1 / repeats)
        arm = ArmSchedule(mixed, real_repeats=repeats)
    elif schedule == "synthetic-first":
        pretrain = scaled(detector, real_batches
                          / batches_per_epoch(synthetic_images, detector.batch))
        arm = ArmSchedule(detector, pretrain=pretrain)
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    same_steps = round(arm.steps(real_images, synthetic_images) / real_batches)
    twice = (TWICE_CONTROL,) if arm.pretrain is not None else ()
    return replace(arm, controls=_controls(detector, same_steps) + twice)


def _controls(detector: DetectorConfig, *epochs: int) -> tuple[str, ...]:
    return tuple(control_name(e) for e in sorted({e for e in epochs if e != detector.epochs}))


def control_detector(detector: DetectorConfig, epochs: int) -> DetectorConfig:
    """The real-only control at `epochs` (mosaic-off epochs and warm-up scaled alike)."""
    return scaled(detector, epochs / detector.epochs).model_copy(update={"epochs": epochs})


def control_name(epochs: int) -> str:
    return f"{CONTROL_PREFIX}{epochs}"


def control_schedule(detector: DetectorConfig, name: str) -> ArmSchedule:
    """The schedule of the real-only control `name` (`real-e<epochs>` or `real-twice`)."""
    if name == TWICE_CONTROL:
        return ArmSchedule(detector, pretrain=detector, pretrain_on_real=True)
    return ArmSchedule(control_detector(detector, int(name.removeprefix(CONTROL_PREFIX))))


def is_real_only(arm: str) -> bool:
    """`real` or one of its controls."""
    return arm in ("real", TWICE_CONTROL) or arm.startswith(CONTROL_PREFIX)


def stronger_real_only(means: Mapping[str, float]) -> str | None:
    """The strongest real-only arm among `means` (arm -> mean primary figure over its seeds): what
    every synthetic arm is measured against, since a weaker one would flatter them; None if none."""
    real = [arm for arm in means if is_real_only(arm)]
    return max(real, key=means.__getitem__) if real else None
