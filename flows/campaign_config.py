"""The parameters of one campaign: a validated pydantic model, loadable from YAML or CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conditioning.errors import DefectforgeError
from pipeline.data.registry import spec_path
from pipeline.paths import PROJECT_ROOT, bundled_datasets, check_name, runs_root


class DaskConfig(BaseModel):
    """Where mapped generation and evaluation tasks run when `runner: dask`."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(
        None,
        description="An existing Dask scheduler (tcp://host:8786); None starts a LocalCluster.",
    )
    n_workers: int = Field(2, ge=1, description="LocalCluster worker processes.")
    threads_per_worker: int = Field(1, ge=1, description="Threads in each LocalCluster worker.")


class CampaignConfig(BaseModel):
    """One campaign: data, real budget, generator, synthetic count, detector arms, runner."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None, description="Campaign name: output folder runs/campaigns/<name>, MLflow experiment."
    )
    dataset: str = Field("sample", description="Product line: a folder under datasets/.")
    source: Path | None = Field(
        None, description="Raw data folder for `data prepare` (DeepPCB...)."
    )
    spec: Path | None = Field(
        None, description="Defect-spec YAML; default datasets/<dataset>/defects.yaml."
    )
    real_budget: int = Field(
        20, ge=1, description="Real training images the detector and generator see."
    )
    budget_seed: int = Field(0, description="Seed of the stratified real-budget draw.")
    backend: Literal["compact", "sd15"] = Field("compact", description="Generator backend.")
    model: Path | None = Field(
        None,
        description="A trained generator folder to use instead of training one (e.g. multi-GPU).",
    )
    train: dict[str, Any] = Field(
        default_factory=dict,
        description="Generator training overrides: pipeline.train.TrainConfig fields "
        "(base_steps, control_steps, batch_size, model...).",
    )
    render: dict[str, Any] = Field(
        default_factory=dict,
        description="Generation overrides: pipeline.render.RenderConfig fields "
        "(steps, batch_size, gate: {retries, change_threshold...}).",
    )
    count: int = Field(
        64, ge=1, description="Synthetic images to generate (after resume: exactly this many)."
    )
    batch_size: int = Field(16, ge=1, description="Samples per mapped generation task.")
    seed: int = Field(0, description="Generation seed; sample ids are <spec_hash>-<seed>-<index>.")
    evaluate: bool = Field(True, description="Train and compare detectors (False: data only).")
    arms: list[str] = Field(
        default_factory=lambda: ["real", "diffusion"],
        min_length=1,
        description="Detector arms to compare; `real` is the reference (eval.arms.ARMS).",
    )
    eval_profile: Literal["quick", "full"] = Field(
        "quick", description="Evaluation profile defaults."
    )
    eval_seeds: list[int] = Field(
        default_factory=lambda: [0], min_length=1, description="Detector seeds per arm."
    )
    epochs: int | None = Field(None, ge=1, description="Detector epochs (None: the profile's).")
    imgsz: int | None = Field(None, ge=32, description="Detector image size (None: the profile's).")
    eval_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Other evaluation overrides (ratio, tile, test_limit, batch...).",
    )
    runner: Literal["local", "dask"] = Field("local", description="Task runner for mapped tasks.")
    dask: DaskConfig = Field(default_factory=DaskConfig, description="Dask cluster (runner: dask).")

    @field_validator("name")
    @classmethod
    def _one_folder(cls, name: str | None) -> str | None:
        return None if name is None else check_name(name, "campaign name")

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, dataset: str) -> str:
        from pipeline.data.registry import dataset_dir, list_datasets

        check_name(dataset, "dataset")
        if not (dataset_dir(dataset) / "dataset.yaml").exists():
            raise ValueError(
                f"no {dataset_dir(dataset) / 'dataset.yaml'}; "
                f"known product lines: {', '.join(list_datasets()) or 'none'}"
            )
        return dataset

    @property
    def campaign_name(self) -> str:
        """The name, defaulting to the dataset."""
        return self.name or self.dataset

    @property
    def out_dir(self) -> Path:
        """Everything this campaign writes: runs/campaigns/<name>/."""
        return runs_root() / "campaigns" / self.campaign_name

    @property
    def spec_path(self) -> Path:
        """The defect-spec library used for generation."""
        return (
            project_path(self.spec)
            if self.spec
            else spec_path(self.dataset)
        )

    @property
    def model_path(self) -> Path | None:
        """The generator folder given in `model`, if any."""
        return project_path(self.model) if self.model else None


def project_path(path: Path) -> Path:
    """A path as given: absolute, relative to the working directory, else to the project root
    (`datasets/...` of an installed copy: its bundled lines)."""
    if path.is_absolute() or path.exists():
        return path.resolve()
    if path.parts[:1] == ("datasets",):
        return (bundled_datasets() / Path(*path.parts[1:])).resolve()
    return (PROJECT_ROOT / path).resolve()


# The demo (`defectforge demo`, `make demo`): the sample line sized for about 10 minutes on 2 CPU
# cores (measured from a fresh clone: 9 min 57 s at stop 26; 13 min 16 s at stop 32, every phase
# slower; 10 min 38 s at stop 34; 10 min 27 s to 11 min 37 s at stop 35, the same day; 8 min
# 31 s twice at stop 36 on a new machine; README "Known limits"):
# a briefly trained compact generator (100 + 300 steps at one 32 px crop size, predicting the
# clean crop rather than the velocity: flat copper edits instead of noisy patches; 20 sampling
# steps), 48 images drawn onto the budget's real defect images (new defects beside the real ones,
# whose labels are kept: a synthetic image never takes a pass over the real defects away), two
# detector arms x three seeds (an interval over seeds) plus the real-only
# control at the diffusion arm's passes, two detectors at a time (one per core). Detectors:
# YOLOv8n with its stride-4 P2 head, native 128 px, an optimizer step per batch of 4, 110 epochs
# for real-only (the diffusion arm, at two synthetic images per real one, gets the same steps), the
# last 20 without mosaic, SGD at lr 0.01, random resize by ±0.25, a board flipped upside down one
# time in four. Settings were chosen on validation images of the sample
# line, never the test split; a longer-trained generator and detector did better there but do not
# fit in 10 minutes (README, "The demo").
DEMO_CONFIG: dict[str, Any] = {
    "name": "demo",
    "dataset": "sample",
    "real_budget": 20,
    "train": {"base_steps": 100, "control_steps": 300, "model": {"scales": [1], "prediction_type": "sample"}},
    "render": {"steps": 20, "gate": {"retries": 1}, "onto": "defective"},
    "count": 48,
    "batch_size": 12,
    "arms": ["real", "diffusion"],
    "eval_seeds": [0, 1, 2],
    "epochs": 110,
    "imgsz": 128,
    "eval_options": {"model": "yolov8n-p2.yaml", "val_imgsz": 128, "tile": 0, "ratio": 2.0,
                     "test_limit": 100, "batch": 4, "nbs": 4, "close_mosaic": 20, "workers": 0,
                     "optimizer": "SGD", "lr0": 0.01, "scale": 0.25, "flipud": 0.25},
}


def build_config(values: dict[str, Any], *, origin: str = "campaign config") -> CampaignConfig:
    """Validate values; every problem becomes one line `origin: field: message (got value)`."""
    try:
        return CampaignConfig.model_validate(values)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            got = "" if problem["type"] == "missing" else f" (got {problem.get('input')!r})"
            lines.append(f"{origin}: {field}: {problem['msg'].removeprefix('Value error, ')}{got}")
        fields = ", ".join(CampaignConfig.model_fields)
        raise DefectforgeError(
            "invalid campaign config:\n  " + "\n  ".join(lines) + f"\n  known fields: {fields}"
        ) from None


def load_campaign_config(path: Path, overrides: dict[str, Any] | None = None) -> CampaignConfig:
    """Read a campaign YAML file (relative paths are resolved from the project root)."""
    path = project_path(path)
    if not path.exists():
        raise DefectforgeError(f"{path}: campaign config not found; pass an existing YAML file")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise DefectforgeError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(values, dict):
        raise DefectforgeError(
            f"{path}: a campaign config is a mapping of fields, got {type(values).__name__}"
        )
    merged = {**values, **(overrides or {})}
    for key, value in (overrides or {}).items():  # a flag changes one field of a nested block
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            merged[key] = {**values[key], **value}
    return build_config(merged, origin=str(path))
