"""`compact`: a small pixel-space inpainting UNet + ControlNet, trained from scratch on a CPU.

Stage "base": a class-agnostic inpainting UNet (input: noisy crop, masked clean crop, region
mask) learns the clean parts. Stage "control": a ControlNet whose control image carries the
class (one-hot inside the mask), the mask, the severity and the clean crop learns the defects,
with the base frozen. Class tokens (no text encoder) feed the cross-attention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from diffusers import ControlNetModel, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.models.base import CropBatch, GeneratorBackend, control_image, read_model_meta

MAX_SCALE = 8
"""Largest crop side, in multiples of `resolution` (a 256 px crop of the default model)."""


class CompactConfig(BaseModel):
    """Every default of the compact backend, with its meaning (`defectforge train --help-config`)."""

    model_config = ConfigDict(extra="forbid")

    resolution: int = Field(
        32, description="side of the smallest square defect crop (px), a multiple of 2 ** (UNet levels - 1)"
    )
    block_out_channels: tuple[int, ...] = Field((16, 32, 64), description="UNet widths per level")
    layers_per_block: int = Field(1, description="resnet layers per UNet level")
    token_dim: int = Field(64, description="size of the learned class tokens (cross-attention)")
    attention_head_dim: int = Field(8, description="attention head size (attention only at the lowest level)")
    prediction_type: Literal["epsilon", "sample", "v_prediction"] = Field(
        "v_prediction", description="what the UNet predicts: the noise, the clean crop, or the velocity")
    train_timesteps: int = Field(1000, description="diffusion steps of the training noise schedule")
    inference_steps: int = Field(20, description="DDIM steps at generation time")
    region_weight: float = Field(4.0, description="extra loss weight on pixels inside the inpainted region")
    scales: tuple[int, ...] = Field(
        (1, 2, 4), description="crop sides the model trains and draws at, as multiples of `resolution` "
        "(1, 2, 4: 32 / 64 / 128 px): each defect is drawn in the smallest one that holds its window, at "
        "one crop pixel per image pixel (pipeline.crop_sizes); (1,): every defect at `resolution`, resized"
    )

    @model_validator(mode="after")
    def _check_sizes(self) -> CompactConfig:
        step = 2 ** (len(self.block_out_channels) - 1)
        if self.resolution < step or self.resolution % step:
            raise ValueError(
                f"resolution {self.resolution}: the UNet halves it {len(self.block_out_channels) - 1} times "
                f"(block_out_channels {self.block_out_channels}); use a multiple of {step}"
            )
        if not self.scales or self.scales[0] != 1 or list(self.scales) != sorted(set(self.scales)):
            raise ValueError(f"scales {self.scales}: use increasing whole multiples starting at 1, e.g. (1, 2, 4)")
        if self.scales[-1] > MAX_SCALE:
            raise ValueError(f"scales {self.scales}: at most {MAX_SCALE} times `resolution`; raise `resolution` instead")
        return self

    @property
    def crop_sizes(self) -> tuple[int, ...]:
        """The crop sides in px, smallest first."""
        return tuple(self.resolution * scale for scale in self.scales)


class ClassTokens(ModelMixin, ConfigMixin):
    """One learned token per class (index 0 = no defect): the UNet's encoder_hidden_states."""

    @register_to_config
    def __init__(self, num_tokens: int = 2, dim: int = 64):
        super().__init__()
        self.embedding = torch.nn.Embedding(num_tokens, dim)

    def forward(self, class_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(class_ids)[:, None, :]


def _blocks(levels: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    down = ("DownBlock2D",) * (levels - 1) + ("CrossAttnDownBlock2D",)
    up = ("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (levels - 1)
    return down, up


class CompactBackend(GeneratorBackend):
    """UNet2DConditionModel (inpainting) + ControlNetModel + class tokens, in pixel space."""

    name = "compact"

    def __init__(self, classes: list[str], config: CompactConfig, unet, controlnet, tokens, scheduler):
        self.classes = list(classes)
        self.config = config
        self.resolution, self.crop_sizes = config.resolution, config.crop_sizes
        self.unet, self.controlnet, self.tokens = unet, controlnet, tokens
        self.scheduler = scheduler

    @classmethod
    def create(cls, classes: list[str], config: dict) -> CompactBackend:
        cfg = CompactConfig(**config)
        down, up = _blocks(len(cfg.block_out_channels))
        groups = min(8, cfg.block_out_channels[0])
        shared = dict(
            block_out_channels=cfg.block_out_channels, layers_per_block=cfg.layers_per_block,
            down_block_types=down, cross_attention_dim=cfg.token_dim,
            attention_head_dim=cfg.attention_head_dim, norm_num_groups=groups, in_channels=7,
        )
        unet = UNet2DConditionModel(sample_size=cfg.resolution, out_channels=3, up_block_types=up, **shared)
        controlnet = ControlNetModel(
            conditioning_channels=len(classes) + 5, conditioning_embedding_out_channels=(16,), **shared
        )
        tokens = ClassTokens(num_tokens=len(classes) + 1, dim=cfg.token_dim)
        scheduler = DDPMScheduler(
            num_train_timesteps=cfg.train_timesteps, beta_schedule="squaredcos_cap_v2",
            prediction_type=cfg.prediction_type, clip_sample=False,
        )
        return cls(classes, cfg, unet, controlnet, tokens, scheduler)

    @classmethod
    def load(cls, path: Path) -> CompactBackend:
        meta = read_model_meta(path)
        # a model saved before `scales` existed was trained at `resolution` only
        return cls(
            meta["classes"], CompactConfig(**{"scales": (1,), **meta["config"]}),
            UNet2DConditionModel.from_pretrained(path / "unet"),
            ControlNetModel.from_pretrained(path / "controlnet"),
            ClassTokens.from_pretrained(path / "tokens"),
            DDPMScheduler.from_pretrained(path / "scheduler"),
        )

    def save_weights(self, path: Path) -> None:
        for name in ("unet", "controlnet", "tokens"):
            getattr(self, name).save_pretrained(path / name, safe_serialization=True)
        self.scheduler.save_pretrained(path / "scheduler")

    def config_dict(self) -> dict:
        return self.config.model_dump(mode="json")

    def modules(self) -> list[torch.nn.Module]:
        return [self.unet, self.controlnet, self.tokens]

    def start_stage(self, stage: str) -> None:
        """The ControlNet starts as a copy of the trained base's encoder (zero-initialised outputs)."""
        if stage == "control":
            self.controlnet = ControlNetModel.from_unet(
                self.unet, conditioning_embedding_out_channels=(16,), conditioning_channels=len(self.classes) + 5
            )

    def trainable(self, stage: str) -> list[str]:
        return ["unet", "tokens"] if stage == "base" else ["controlnet", "tokens"]

    def _predict(self, x: torch.Tensor, t: torch.Tensor, batch: CropBatch, use_control: bool) -> torch.Tensor:
        known = batch.clean * (1 - batch.region)
        inputs = torch.cat([x, known, batch.region], dim=1)
        ids = batch.class_ids if use_control else torch.zeros_like(batch.class_ids)
        states = self.tokens(ids)
        residuals = {}
        if use_control:
            down, mid = self.controlnet(
                inputs, t, states, controlnet_cond=control_image(batch, len(self.classes)), return_dict=False
            )
            residuals = dict(down_block_additional_residuals=down, mid_block_additional_residual=mid)
        return self.unet(inputs, t, states, **residuals).sample

    def loss(self, batch: CropBatch, stage: str, generator: torch.Generator | None = None) -> torch.Tensor:
        target = batch.image * batch.region + batch.clean * (1 - batch.region)
        noise = torch.randn(target.shape, generator=generator, device=target.device)
        steps = self.scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (len(batch),), generator=generator, device=target.device)
        noisy = self.scheduler.add_noise(target, noise, t)
        prediction = self._predict(noisy, t, batch, use_control=stage == "control")
        kind = self.scheduler.config.prediction_type
        goal = {"epsilon": noise, "sample": target}.get(kind)
        if goal is None:
            goal = self.scheduler.get_velocity(target, noise, t)
        weight = 1 + self.config.region_weight * batch.region
        return (weight * (prediction - goal) ** 2).mean()

    @torch.no_grad()
    def sample(self, batch: CropBatch, seeds: list[int], steps: int | None = None) -> torch.Tensor:
        return self._denoise(batch, seeds, steps)

    @torch.no_grad()
    def sample_clean(
        self, batch: CropBatch, seeds: list[int], steps: int | None = None, jump_length: int = 5, jump_n_sample: int = 3
    ) -> torch.Tensor:
        """Fill each crop's region with clean surface: the stage-1 base alone (no control adapter),
        sampled with RePaint (`pipeline.models.repaint`: known pixels re-noised each step, resampling jumps)."""
        from pipeline.models.repaint import repaint

        return repaint(
            lambda x, t: self._predict(x, t, batch, use_control=False), self.scheduler, batch.clean, batch.region,
            seeds, steps=steps or self.config.inference_steps, jump_length=jump_length, jump_n_sample=jump_n_sample,
        )

    def _denoise(self, batch: CropBatch, seeds: list[int], steps: int | None) -> torch.Tensor:
        device = batch.image.device
        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(steps or self.config.inference_steps, device=device)
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        shape = batch.clean.shape[1:]
        x = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)
        known_noise = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)
        timesteps = list(scheduler.timesteps)
        for i, t in enumerate(timesteps):
            tt = t.expand(len(batch)).to(device)
            prediction = self._predict(x, tt, batch, use_control=True)
            x = scheduler.step(prediction, t, x).prev_sample
            if i + 1 < len(timesteps):
                t_prev = timesteps[i + 1].expand(len(batch))
                known = scheduler.add_noise(batch.clean, known_noise, t_prev)
                x = batch.region * x + (1 - batch.region) * known
        return (batch.region * x + (1 - batch.region) * batch.clean).clamp(-1, 1)
