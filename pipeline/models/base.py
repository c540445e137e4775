"""The interface every generator backend implements, and the crop batch it consumes."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from conditioning.errors import DefectforgeError
from pipeline.models.weights_check import read_json_object

MODEL_FILE = "defectforge_model.json"
STAGES = ("base", "control")


@dataclass
class CropBatch:
    """Square crops of one side (one of the model's crop sizes); images in [-1, 1], masks in {0, 1}."""

    image: torch.Tensor  # B,3,R,R target (a defect crop, or a clean crop in stage "base")
    clean: torch.Tensor  # B,3,R,R clean reference crop (the background)
    mask: torch.Tensor  # B,1,R,R the defect's own mask
    region: torch.Tensor  # B,1,R,R where pixels may change (the dilated mask)
    class_ids: torch.Tensor  # B long: 0 = no defect, i + 1 = classes[i]
    severity: torch.Tensor  # B float in [0, 1]
    learned: torch.Tensor  # B bool: `mask` is a loose region the model draws the shape in (kind learned)

    def to(self, device: torch.device | str) -> CropBatch:
        """The same batch on another device."""
        return replace(self, **{k: v.to(device) for k, v in vars(self).items()})

    def __len__(self) -> int:
        return self.image.shape[0]


def control_image(batch: CropBatch, num_classes: int) -> torch.Tensor:
    """Control channels: one-hot class inside the mask, the mask, mask * severity, clean RGB.
    The mask channel is +1 on a given shape and -1 over a loose region (kind `learned`), so one
    model learns both to colour a shape and to draw one."""
    onehot = torch.nn.functional.one_hot(batch.class_ids, num_classes + 1)[:, 1:].float()
    classes = onehot[:, :, None, None] * batch.mask
    severity = batch.mask * batch.severity[:, None, None, None]
    sign = 1 - 2 * batch.learned.float()[:, None, None, None]
    return torch.cat([classes, batch.mask * sign, severity, batch.clean], dim=1)


class GeneratorBackend(ABC):
    """A two-stage inpainting generator: a base model plus a control adapter."""

    name: str
    resolution: int  # the smallest crop side (px)
    crop_sizes: tuple[int, ...]  # every crop side it was trained at and draws at, smallest first
    classes: list[str]

    @abstractmethod
    def trainable(self, stage: str) -> list[str]:
        """Attribute names of the modules stage `stage` ("base" or "control") trains."""

    def start_stage(self, stage: str) -> None:
        """Called once before a stage starts training from scratch (not on resume); no-op by default."""
        return None

    def freeze_for(self, stage: str) -> None:
        """Freeze every module, then unfreeze the ones `stage` trains."""
        for module in self.modules():
            module.requires_grad_(False)
        for name in self.trainable(stage):
            getattr(self, name).requires_grad_(True)

    @abstractmethod
    def loss(self, batch: CropBatch, stage: str, generator: torch.Generator | None = None) -> torch.Tensor:
        """The denoising loss of one batch for one stage."""

    @abstractmethod
    def sample(self, batch: CropBatch, seeds: list[int], steps: int | None = None) -> torch.Tensor:
        """Inpaint `batch.region` of `batch.clean`; one seed per crop; returns B,3,R,R in [-1, 1]."""

    @abstractmethod
    def save_weights(self, path: Path) -> None:
        """Write the model's components as diffusers folders (safetensors) under `path`."""

    @abstractmethod
    def config_dict(self) -> dict:
        """The JSON-able config this backend is rebuilt from."""

    def save(self, path: Path) -> None:
        """Save weights and the small JSON that names the backend."""
        path.mkdir(parents=True, exist_ok=True)
        self.save_weights(path)
        from pipeline.data.atomic import write_bytes

        meta = {"backend": self.name, "classes": self.classes, "config": self.config_dict()}
        write_bytes(path / MODEL_FILE, json.dumps(meta, indent=2).encode())

    def to(self, device: torch.device | str) -> GeneratorBackend:
        """Move every module to `device`."""
        for module in self.modules():
            module.to(device)
        return self

    @abstractmethod
    def modules(self) -> list[torch.nn.Module]:
        """Every torch module of the backend."""


def model_revision(path: Path) -> str:
    """Content hash of a saved model's weight files (first 16 hex chars of sha256)."""
    digest = hashlib.sha256()
    for file in sorted(Path(path).rglob("*.safetensors")):
        digest.update(file.relative_to(path).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def read_model_meta(path: Path) -> dict:
    """The backend name, classes and config of a saved model folder."""
    file = Path(path) / MODEL_FILE
    if not file.is_file():
        raise DefectforgeError(
            f"{file}: no generator model here (missing {MODEL_FILE}). "
            "Train one with `defectforge train --dataset NAME` or pass --model DIR of a trained model."
        )
    meta = read_json_object(file, "the model description")
    if not isinstance(meta.get("backend"), str):
        raise DefectforgeError(f"{file}: `backend` missing or not a string; retrain the model")
    return meta
