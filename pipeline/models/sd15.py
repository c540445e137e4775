"""`sd15`: a pretrained Stable Diffusion 1.5 (inpainting or base) + control adapters, in latent space.

Stage "base": LoRA (peft) on the UNet's attention, trained on clean crops. Stage "control": a new
ControlNet (or a T2I-Adapter) reading our control image (class, mask, severity, clean crop),
trained on defect crops with the base frozen. Extra pretrained ControlNets (e.g. canny edges)
can be stacked (Multi-ControlNet); they see the Canny edges of the clean crop and stay frozen.
Weights come from local folders or hub ids (offline: hub ids fail with a clear message).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field

from conditioning.errors import DefectforgeError
from pipeline.models.base import CropBatch, GeneratorBackend, control_image, read_model_meta

LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


class SD15Config(BaseModel):
    """Every default of the sd15 backend, with its meaning."""

    model_config = ConfigDict(extra="forbid")

    base: str = Field("", description="SD-1.5 diffusers folder or hub id (inpainting or base variant)")
    controlnets: list[str] = Field(default_factory=list, description="extra pretrained edge ControlNets (frozen)")
    adapter: str = Field("controlnet", description="trainable control adapter: controlnet | t2i")
    resolution: int = Field(512, description="side of the square crops (px), a multiple of 8 * VAE factor")
    lora_rank: int = Field(8, ge=1, description="LoRA rank of stage 1")
    inference_steps: int = Field(30, description="DDIM steps at generation time")
    guidance_scale: float = Field(5.0, description="classifier-free guidance on the prompt")
    prompts: dict[str, str] = Field(default_factory=dict, description="prompt per class (from the spec)")
    clean_prompt: str = Field("a clean surface of an industrial part, sharp, detailed",
                              description="prompt of stage 1 and of class 0")


def load_component(cls, source: str, subfolder: str | None = None, **kwargs):
    """`cls.from_pretrained` with an actionable error when `source` is unreachable offline."""
    try:
        return cls.from_pretrained(source, subfolder=subfolder, **kwargs)
    except (OSError, ValueError) as error:
        where = f"{source}/{subfolder}" if subfolder else source
        raise DefectforgeError(
            f"sd15: cannot load {cls.__name__} from {where!r} ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}). This machine is offline (HF_HUB_OFFLINE): pass a local "
            "diffusers folder (e.g. a downloaded snapshot of an SD-1.5 inpainting checkpoint) as "
            "`model.base` / `model.controlnets`."
        ) from error


class SD15Backend(GeneratorBackend):
    """Pretrained SD-1.5 components + LoRA + a trainable ControlNet / T2I-Adapter."""

    name = "sd15"

    def __init__(self, classes, config: SD15Config, parts: dict, adapter, extra_controlnets: list):
        self.classes, self.config, self.resolution = list(classes), config, config.resolution
        self.crop_sizes = (config.resolution,)
        self.vae, self.unet, self.text_encoder = parts["vae"], parts["unet"], parts["text_encoder"]
        self.tokenizer, self.scheduler = parts["tokenizer"], parts["scheduler"]
        self.adapter, self.extra_controlnets = adapter, extra_controlnets
        self.vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        if len(self.tokenizer) <= 2:
            raise DefectforgeError(f"sd15: tokenizer of {config.base!r} has {len(self.tokenizer)} tokens; "
                                   "pass a folder with tokenizer/vocab.json and merges.txt")

    # ---- building and saving
    @classmethod
    def create(cls, classes: list[str], config: dict, parts: dict | None = None) -> SD15Backend:
        """Load the pretrained parts (or take `parts`), add LoRA and a fresh control adapter."""
        cfg = SD15Config(**config)
        parts = parts or cls._load_parts(cfg.base)
        extra = [cls._load_controlnet(p) for p in cfg.controlnets]
        # the ControlNet copies the base UNet before LoRA renames its attention weights
        # (`to_q.weight` -> `to_q.base_layer.weight`), else those stay random
        adapter = cls._new_adapter(cfg, parts, len(classes) + 5)
        _add_lora(parts["unet"], cfg.lora_rank)
        return cls(classes, cfg, parts, adapter, extra)

    @classmethod
    def load(cls, path: Path, parts: dict | None = None) -> SD15Backend:
        """A trained folder: the base from `config.base` (or `parts`), LoRA and adapter from `path`."""
        from diffusers import ControlNetModel, T2IAdapter
        from peft.utils import set_peft_model_state_dict
        from safetensors.torch import load_file

        meta = read_model_meta(path)
        cfg = SD15Config(**meta["config"])
        parts = parts or cls._load_parts(cfg.base)
        _add_lora(parts["unet"], cfg.lora_rank)
        set_peft_model_state_dict(parts["unet"], load_file(path / "lora" / "unet_lora.safetensors"))
        adapter_cls = T2IAdapter if cfg.adapter == "t2i" else ControlNetModel
        adapter = adapter_cls.from_pretrained(path / "adapter")
        extra = [cls._load_controlnet(p) for p in cfg.controlnets]
        return cls(meta["classes"], cfg, parts, adapter, extra)

    @staticmethod
    def _load_parts(base: str) -> dict:
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        if not base:
            raise DefectforgeError("sd15: `model.base` is empty; pass a local SD-1.5 diffusers folder")
        return {
            "vae": load_component(AutoencoderKL, base, "vae"),
            "unet": load_component(UNet2DConditionModel, base, "unet"),
            "text_encoder": load_component(CLIPTextModel, base, "text_encoder"),
            "tokenizer": load_component(CLIPTokenizer, base, "tokenizer"),
            "scheduler": load_component(DDPMScheduler, base, "scheduler"),
        }

    @staticmethod
    def _load_controlnet(source: str):
        from diffusers import ControlNetModel

        return load_component(ControlNetModel, source)

    @staticmethod
    def _new_adapter(cfg: SD15Config, parts: dict, channels: int):
        from diffusers import ControlNetModel, T2IAdapter

        unet = parts["unet"]
        factor = 2 ** (len(parts["vae"].config.block_out_channels) - 1)
        if cfg.adapter == "t2i":
            return T2IAdapter(in_channels=channels, channels=list(unet.config.block_out_channels),
                              num_res_blocks=1, downscale_factor=factor, adapter_type="full_adapter")
        if cfg.adapter != "controlnet":
            raise DefectforgeError(f"sd15.adapter: unknown value {cfg.adapter!r}; use controlnet or t2i")
        embed = (16, 32, 96, 256)[: int(math.log2(factor)) + 1]
        keys = set(inspect.signature(ControlNetModel.__init__).parameters)
        config = {k: v for k, v in unet.config.items() if k in keys}
        controlnet = ControlNetModel(**{**config, "in_channels": 4, "conditioning_channels": channels,
                                        "conditioning_embedding_out_channels": embed})
        base_state = {k: v for k, v in unet.state_dict().items() if "lora" not in k}
        own = controlnet.state_dict()
        controlnet.load_state_dict({k: v for k, v in base_state.items() if k in own and own[k].shape == v.shape},
                                   strict=False)
        return controlnet

    def save_weights(self, path: Path) -> None:
        from peft.utils import get_peft_model_state_dict
        from safetensors.torch import save_file

        (path / "lora").mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in get_peft_model_state_dict(self.unet).items()}
        save_file(state, path / "lora" / "unet_lora.safetensors")
        self.adapter.save_pretrained(path / "adapter", safe_serialization=True)

    def config_dict(self) -> dict:
        return self.config.model_dump(mode="json")

    def modules(self) -> list[torch.nn.Module]:
        return [self.vae, self.unet, self.text_encoder, self.adapter, *self.extra_controlnets]

    def trainable(self, stage: str) -> list[str]:
        return ["unet"] if stage == "base" else ["adapter"]

    def freeze_for(self, stage: str) -> None:
        super().freeze_for(stage)
        if stage == "base":
            for name, param in self.unet.named_parameters():
                param.requires_grad_("lora" in name)

    # ---- the model
    def _prompts(self, class_ids: torch.Tensor) -> list[str]:
        names = [None, *self.classes]
        return [self.config.clean_prompt if i == 0 else
                self.config.prompts.get(names[i], f"a {names[i]} defect on an industrial part")
                for i in class_ids.tolist()]

    def _encode_text(self, prompts: list[str]) -> torch.Tensor:
        ids = self.tokenizer(prompts, padding="max_length", max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        return self.text_encoder(ids.to(self.text_encoder.device))[0]

    def _latents(self, images: torch.Tensor) -> torch.Tensor:
        return self.vae.encode(images).latent_dist.mean * self.vae.config.scaling_factor

    def _latent_mask(self, region: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.max_pool2d(region, self.vae_factor)

    def _unet_input(self, x, batch: CropBatch, known_latents) -> torch.Tensor:
        if self.unet.config.in_channels == 9:
            return torch.cat([x, self._latent_mask(batch.region), known_latents], dim=1)
        return x

    def _residuals(self, x, t, states, batch: CropBatch, use_control: bool) -> dict:
        if not use_control:
            return {}
        control = control_image(batch, len(self.classes))
        if self.config.adapter == "t2i":
            return {"down_intrablock_additional_residuals": [f for f in self.adapter(control)]}
        down, mid = self.adapter(x, t, states, controlnet_cond=control, return_dict=False)
        for extra in self.extra_controlnets:
            d2, m2 = extra(x, t, states, controlnet_cond=_edges(batch.clean), return_dict=False)
            down, mid = [a + b for a, b in zip(down, d2, strict=True)], mid + m2
        return {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}

    def loss(self, batch: CropBatch, stage: str, generator: torch.Generator | None = None) -> torch.Tensor:
        use_control = stage == "control"
        target = batch.image * batch.region + batch.clean * (1 - batch.region)
        with torch.no_grad():
            latents = self._latents(target)
            known = self._latents(batch.clean * (1 - batch.region))
            states = self._encode_text(self._prompts(batch.class_ids if use_control else batch.class_ids * 0))
        noise = torch.randn(latents.shape, generator=generator, device=latents.device)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (len(batch),), generator=generator,
                          device=latents.device)
        noisy = self.scheduler.add_noise(latents, noise, t)
        residuals = self._residuals(noisy, t, states, batch, use_control)
        prediction = self.unet(self._unet_input(noisy, batch, known), t, states, **residuals).sample
        goal = noise if self.scheduler.config.prediction_type == "epsilon" else \
            self.scheduler.get_velocity(latents, noise, t)
        return torch.nn.functional.mse_loss(prediction, goal)

    @torch.no_grad()
    def sample(self, batch: CropBatch, seeds: list[int], steps: int | None = None) -> torch.Tensor:
        from diffusers import DDIMScheduler

        scheduler = DDIMScheduler.from_config(self.scheduler.config)
        scheduler.set_timesteps(steps or self.config.inference_steps)
        known = self._latents(batch.clean * (1 - batch.region))
        clean_latents = self._latents(batch.clean)
        cond = self._encode_text(self._prompts(batch.class_ids))
        uncond = self._encode_text([""] * len(batch))
        region = self._latent_mask(batch.region)
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        shape = clean_latents.shape[1:]
        x = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(known.device)
        known_noise = torch.stack([torch.randn(shape, generator=g) for g in gens]).to(known.device)
        x = x * scheduler.init_noise_sigma
        timesteps = list(scheduler.timesteps)
        guidance = self.config.guidance_scale
        for i, t in enumerate(timesteps):
            tt = t.expand(len(batch)).to(x.device)
            both = torch.cat([x, x])
            double = _double(batch)
            residuals = self._residuals(both, torch.cat([tt, tt]), torch.cat([uncond, cond]), double, True)
            out = self.unet(self._unet_input(both, double, torch.cat([known, known])), torch.cat([tt, tt]),
                            torch.cat([uncond, cond]), **residuals).sample
            low, high = out.chunk(2)
            x = scheduler.step(low + guidance * (high - low), t, x).prev_sample
            if i + 1 < len(timesteps):
                noised = scheduler.add_noise(clean_latents, known_noise, timesteps[i + 1].expand(len(batch)))
                x = region * x + (1 - region) * noised
        image = self.vae.decode(x / self.vae.config.scaling_factor).sample.clamp(-1, 1)
        return batch.region * image + (1 - batch.region) * batch.clean


def _double(batch: CropBatch) -> CropBatch:
    return CropBatch(**{k: torch.cat([v, v]) for k, v in vars(batch).items()})


def _add_lora(unet, rank: int) -> None:
    from peft import LoraConfig

    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=LORA_TARGETS))


def _edges(clean: torch.Tensor) -> torch.Tensor:
    """Canny edges of clean crops as 3-channel images in [0, 1] (what edge ControlNets read)."""
    import cv2
    import numpy as np

    grey = ((clean.mean(1) + 1) * 127.5).clamp(0, 255).to(torch.uint8).cpu().numpy()
    edges = np.stack([cv2.Canny(g, 100, 200) for g in grey]).astype(np.float32) / 255
    return torch.from_numpy(edges)[:, None].repeat(1, 3, 1, 1).to(clean.device)

