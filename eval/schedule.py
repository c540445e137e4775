"""The training schedule of one arm: same optimizer steps for every arm, or same epochs.

With `schedule="steps"` (the default) the profile's `epochs` is the real-only arm's; an arm with
synthetic images trains for proportionally fewer epochs, so every arm sees the same number of
training images (the same optimizer steps, batch and nominal batch being equal). Without this a
synthetic arm at ratio 0.5 would get 1.5x the steps, and its delta would mix "more data" with
"longer training". Mosaic-off epochs and warm-up scale the same way.
"""

from __future__ import annotations

from eval.config import DetectorConfig


def arm_schedule(detector: DetectorConfig, schedule: str, real_images: int,
                 train_images: int) -> DetectorConfig:
    """The detector settings for an arm that trains on `train_images` images (tiles), of which
    `real_images` are the real ones every arm has."""
    if schedule == "epochs" or train_images <= real_images:
        return detector
    share = real_images / train_images
    return detector.model_copy(update={
        "epochs": max(1, round(detector.epochs * share)),
        "close_mosaic": round(detector.close_mosaic * share),
        "warmup_epochs": detector.warmup_epochs * share,
    })
