"""Typed evaluation settings: the detector schedule, the two profiles, and the run config.

Every default lives here once. `resolve_config` starts from a profile and applies only the
values a user gave; `EvalConfig.model_dump()` prints the full resolved settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from conditioning.errors import DefectforgeError

ProfileName = Literal["dev", "quick", "full"]
ScheduleName = Literal["steps", "epochs", "oversample", "synthetic-first"]


class DetectorConfig(BaseModel):
    """How one YOLO detector is trained and validated (same for every arm and seed)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field("yolo11n.yaml", description="ultralytics model definition (.yaml: no download)")
    epochs: int = Field(200, ge=1, description="training epochs (val=False while training)")
    imgsz: int = Field(640, ge=32, description="training image size (tiles when `tile` is set)")
    val_imgsz: int = Field(640, ge=32, description="image size for validation on the real test split")
    batch: int = Field(16, ge=1, description="training batch size")
    workers: int = Field(2, ge=0, description="dataloader workers")
    device: str = Field("", description="'' lets ultralytics pick (cuda:0 when present), or 'cpu'")
    mosaic: float = Field(1.0, ge=0, le=1, description="ultralytics mosaic probability")
    close_mosaic: int = Field(10, ge=0, description="epochs at the end without mosaic")
    scale: float = Field(0.5, ge=0, lt=1, description="ultralytics scale augmentation: images "
                         "resized by a random factor in [1 - scale, 1 + scale]")
    flipud: float = Field(0.0, ge=0, le=1, description="ultralytics vertical-flip probability "
                          "(a board is the same product upside down; left-right flips are on, 0.5)")
    nbs: int = Field(64, ge=1, description="nominal batch: gradients accumulate to it (batch < nbs)")
    warmup_epochs: float = Field(3.0, ge=0, description="learning-rate warm-up epochs")
    optimizer: Literal["auto", "SGD", "AdamW"] = Field(
        "auto", description="ultralytics optimizer; auto picks AdamW at a small lr for short runs")
    lr0: float = Field(0.01, gt=0, description="initial learning rate (ignored by optimizer auto)")
    conf: float = Field(0.001, gt=0, lt=1, description="score threshold for mAP predictions")
    deeppcb_conf: float = Field(0.25, gt=0, lt=1, description="score threshold for DeepPCB P/R/F")


class Profile(BaseModel):
    """Defaults of one profile; any of them can be overridden from the CLI."""

    model_config = ConfigDict(extra="forbid")

    real_budget: int = Field(ge=1, description="k: real training images every arm gets")
    arms: list[str] = Field(description="arms to compare (real is the reference)")
    seeds: list[int] = Field(description="training seeds; deltas are paired by seed")
    ratio: float = Field(gt=0, description="synthetic images per real training image")
    tile: int | None = Field(description="cut training images into square tiles of this size")
    test_limit: int | None = Field(description="use only the first N test images (sorted)")
    score_on: Literal["test", "val"] = Field("test", description="see EvalConfig.score_on")
    jobs: int = Field(1, ge=1, description="detectors trained at once (see EvalConfig.jobs)")
    detector: DetectorConfig


PROFILES: dict[str, Profile] = {
    # The dev loop, for screening settings before confirming them with "quick": the quick
    # profile at 60 epochs (under a third of its cost), one seed, scored on 300 validation images
    # (training-split images outside the budget) so that settings are never chosen on the test
    # split. How well it ranks like "quick" is measured in the README (volume and schedule study).
    "dev": Profile(
        real_budget=50,
        arms=["real", "copypaste"],
        seeds=[0],
        ratio=0.5,
        tile=None,
        test_limit=300,
        score_on="val",
        jobs=2,
        detector=DetectorConfig(epochs=60, imgsz=320, val_imgsz=320, batch=8, workers=1,
                                nbs=8, warmup_epochs=1.0, close_mosaic=6),
    ),
    # This 2-core CPU: k=50 whole images downscaled to 320 px (DeepPCB boxes, median 35 px at
    # 640, stay ~17 px), scored at 320 px on all 500 test images, 200 epochs (the reference's
    # count, a quarter of its pixels), an optimizer step per batch of 8. Measured: real-only
    # reached mAP50 0.72 / mAP50-95 0.37 on the first 100 test images in 16 min on one core
    # (the GPU reference at 640 px: 0.52 / 0.28). With the steps schedule every arm costs the
    # same: two arms x three seeds at --jobs 2 measured 53.6 min (~16 min per detector).
    "quick": Profile(
        real_budget=50,
        arms=["real", "copypaste"],
        seeds=[0, 1, 2],
        ratio=0.5,
        tile=None,
        test_limit=None,
        jobs=2,  # ultralytics runs torch on cores - 1 threads: one detector per core
        detector=DetectorConfig(epochs=200, imgsz=320, val_imgsz=320, batch=8, workers=1,
                                nbs=8, warmup_epochs=1.0, close_mosaic=20),
    ),
    # One H100-class GPU: k=50 with all five arms in ~10 min, 640 px, the whole test split.
    # Derived, not measured on an H100: with the steps schedule every arm trains the real-only
    # arm's 120 epochs x 4 batches of 16 = 480 batches; five arms = 2,400 batches, ~5.3 min at
    # the reference run's 7.6 batches/s (k=50, 200 epochs: 105 s on an H200), plus ~15 s of
    # scoring per run. One seed; --seeds 0,1,2 gives intervals at 3x the time.
    "full": Profile(
        real_budget=50,
        arms=["real", "augment", "copypaste", "procedural", "diffusion"],
        seeds=[0],
        ratio=1.0,
        tile=None,
        test_limit=None,
        detector=DetectorConfig(epochs=120, imgsz=640, val_imgsz=640, batch=16, workers=8),
    ),
}


class EvalConfig(BaseModel):
    """Everything one `run_evaluation` needs, fully resolved."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(description="prepared dataset name (runs/data/<name>) or its folder")
    profile: ProfileName = "quick"
    real_budget: int = Field(ge=1)
    arms: list[str]
    seeds: list[int] = Field(min_length=1)
    ratio: float = Field(gt=0)
    tile: int | None = Field(default=None, ge=32)
    test_limit: int | None = Field(default=None, ge=1)
    detector: DetectorConfig
    schedule: ScheduleName = Field(
        "steps", description="steps: real and synthetic mixed at the real-only arm's optimizer "
        "steps; epochs: every arm gets `epochs`; oversample: real images repeated to at least "
        "half of the mix, each seen as often as in real-only; synthetic-first: pre-train on the "
        "synthetic set, then fine-tune on the real images (eval/schedule.py)")
    score_on: Literal["test", "val"] = Field(
        "test", description="test: score on the real test split; val: on the training split's "
        "images outside the k budget, to choose settings without looking at the test split")
    onto: Literal["clean", "defective"] = Field(
        "clean", description="where the copypaste, procedural and (generated here) diffusion arms "
        "draw: clean: the k images' clean references; defective: the k real defect images, new "
        "defects clear of the real ones, whose labels are kept (as `defectforge generate --onto`)")
    transform_synthetic: bool = Field(
        False, description="pass every drawn set (copypaste, procedural, diffusion) image by image "
        "through the augment arm's albumentations transform, seeded by the training seed "
        "(eval/augment.py: transform_set), so a drawn arm gets augment's variety on top of its "
        "new defects")
    budget_seed: int = Field(0, description="seed of the k-image draw (same images for all arms)")
    budget_path: Path | None = Field(None, description="use this budget JSON instead of drawing")
    generated: Path | None = Field(None, description="generated COCO set for the diffusion arm; a {seed} in the path is replaced by each training seed (one set per seed)")
    generator_model: Path | None = Field(None, description="model dir to generate the diffusion set")
    spec_path: Path | None = Field(None, description="defect spec (default datasets/<name>/defects.yaml)")
    out_dir: Path | None = Field(None, description="default runs/eval/<dataset>-k<k>-<profile>")
    experiment: str = "defectforge-eval"
    jobs: int = Field(1, ge=1, description="detectors trained at once, each in its own process "
                      "(a GPU fits several small ones; results do not depend on it)")
    register_name: str | None = Field(None, description="model registry name (default per dataset)")
    strict: bool = Field(False, description="refuse to train on a synthetic set whose labels are "
                         "out of the parity tolerances (pipeline/labels/tolerances.py); without "
                         "it the evaluation warns and goes on")

    @field_validator("arms")
    @classmethod
    def _known_arms(cls, arms: list[str]) -> list[str]:
        from eval.arms import ARMS

        unknown = [a for a in arms if a not in ARMS]
        if unknown or not arms:
            raise ValueError(f"unknown arms {unknown}; choose from {sorted(ARMS)}")
        return ["real", *[a for a in arms if a != "real"]]

    @model_validator(mode="after")
    def _diffusion_has_a_set(self) -> EvalConfig:
        if "diffusion" in self.arms and self.generated is None and self.generator_model is None:
            raise ValueError(
                "the diffusion arm needs --generated DIR (a set made by `defectforge generate`) "
                "or --generator-model DIR; or drop it from --arms"
            )
        return self


OFF_WHEN_ZERO = ("tile", "test_limit")
"""Overrides where 0 means 'off' (None)."""


def resolve_config(dataset: str, profile: ProfileName = "quick", **overrides) -> EvalConfig:
    """Profile defaults, then the non-None `overrides` (detector keys may be given flat).

    `tile=0` / `test_limit=0` switch tiling / the test subset off.
    """
    if profile not in PROFILES:
        raise DefectforgeError(f"--profile: unknown profile {profile!r}; choose dev, quick or full")
    base = PROFILES[profile].model_dump()
    detector_keys = set(DetectorConfig.model_fields)
    for key, value in overrides.items():
        if value is None:
            continue
        if key in OFF_WHEN_ZERO and value == 0:
            value = None
        if key in detector_keys:
            base["detector"][key] = value
        else:
            base[key] = value
    try:
        return EvalConfig(dataset=dataset, profile=profile, **base)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise DefectforgeError(f"evaluate settings ({profile} profile): {problems}") from None
