"""Dual training of a generator: stage "base" on clean parts, stage "control" on defects (base frozen).

Runs under accelerate (so `accelerate launch` scales it), checkpoints every few hundred steps and
resumes from the latest checkpoint; a finished stage is saved whole and skipped on rerun.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from pipeline.crop_sets import MultiScaleCrops, clean_crops, defect_crops
from pipeline.data.atomic import write_bytes
from pipeline.models import GeneratorBackend, create_backend, load_backend, model_revision
from pipeline.models.base import STAGES
from pipeline.training_data import TrainingData, load_training_data


class TrainConfig(BaseModel):
    """Every training default, with its meaning."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field("compact", description="compact | sd15")
    model: dict = Field(default_factory=dict, description="backend config (CompactConfig / SD15Config fields)")
    base_steps: int = Field(600, ge=0, description="optimizer steps of stage 1 (base on clean parts)")
    control_steps: int = Field(1200, ge=0, description="optimizer steps of stage 2 (control adapter on defects)")
    batch_size: int = Field(16, ge=1, description="crops per step (per process)")
    learning_rate: float = Field(2e-3, gt=0, description="peak AdamW learning rate (warm-up, cosine decay)")
    checkpoint_every: int = Field(200, ge=1, description="steps between resumable checkpoints")
    keep_checkpoints: int = Field(2, ge=1, description="checkpoints kept per stage")
    dilate_px: int = Field(2, ge=0, description="px the defect mask is grown to form the inpainted region")
    margin: float = Field(0.5, ge=0, description="crop window = region box side * (1 + margin)")
    clean_crops: int = Field(3000, ge=1, description="random clean crops drawn for stage 1")
    learned_regions: bool = Field(
        False, description="stage 2 also learns each defect from a loose region around it, drawing "
        "the shape itself: needed by specs with `kind: learned` defects"
    )
    seed: int = Field(0, description="seeds crops, batches and noise")
    log_with: str | None = Field(None, description="accelerate tracker, e.g. mlflow (None: no tracking)")
    mixed_precision: str = Field("no", description="accelerate mixed precision: no | fp16 | bf16")


def train_generator(
    dataset: str,
    budget_path: str | Path | None,
    out_dir: str | Path,
    *,
    backend: str = "compact",
    config: TrainConfig | dict | None = None,
    progress: bool = True,
) -> Path:
    """Train a generator on the budget's images of a prepared dataset; returns the model folder."""
    raw = config.model_dump() if isinstance(config, TrainConfig) else dict(config or {})
    cfg = TrainConfig(**{**raw, "backend": backend})
    if backend == "sd15" and "prompts" not in cfg.model:
        cfg.model = {**cfg.model, "prompts": spec_prompts(dataset)}
    return train_on_data(load_training_data(dataset, budget_path), Path(out_dir), cfg, progress=progress)


def spec_prompts(dataset: str) -> dict[str, str]:
    """The first non-empty `prompt` of each class in the dataset's defect spec."""
    from conditioning.spec import load_library
    from pipeline.data.registry import spec_path

    prompts: dict[str, str] = {}
    for defect in load_library(spec_path(dataset)).defects:
        if defect.prompt:
            prompts.setdefault(defect.class_name, defect.prompt)
    return prompts


def train_on_data(data: TrainingData, out_dir: Path, cfg: TrainConfig, *, progress: bool = True) -> Path:
    """The two stages on in-memory data; resumes whatever `out_dir` already holds."""
    from accelerate import Accelerator

    if (out_dir / "model_card.json").is_file():
        return _finished(out_dir, cfg)

    # 1. crops of the defects at the sides generation draws them at (and, with learned_regions,
    #    of loose regions around them), and clean crops with defect-like masks at the same sides
    #    (away from inpainted pixels)
    sizes = _crop_sizes(cfg)
    defects = defect_crops(data.examples, sizes, cfg.dilate_px, cfg.margin,
                           learned_regions=cfg.learned_regions, seed=cfg.seed)
    cleans = clean_crops(data.cleans, cfg.clean_crops, defects, sizes[0], cfg.seed, avoid=data.avoid)
    # 2. one accelerator for both stages (tracking only when asked)
    accelerator = Accelerator(log_with=cfg.log_with, mixed_precision=cfg.mixed_precision)
    if cfg.log_with:
        accelerator.init_trackers("defectforge-train", config=_flat(cfg, data))
    # 3. each stage: skip when finished, else (resume and) train, then save the stage
    backend, seconds = None, {}
    for stage, crops, steps in (("base", cleans, cfg.base_steps), ("control", defects, cfg.control_steps)):
        stage_dir = out_dir / "stages" / stage
        if (stage_dir / "stage.json").is_file():
            seconds[stage] = json.loads((stage_dir / "stage.json").read_text())["seconds"]
            continue
        if backend is None:
            backend = _start_backend(out_dir, stage, data.classes, cfg)
        started = time.time()
        _train_stage(accelerator, backend, stage, crops, steps, out_dir / "checkpoints" / stage, cfg, progress)
        seconds[stage] = round(time.time() - started, 1)
        _save_stage(accelerator, backend, stage_dir, {"steps": steps, "seconds": seconds[stage]})
    accelerator.end_training()
    # 4. the final model and its card
    if backend is None:
        backend = load_backend(out_dir / "stages" / STAGES[-1])
    if accelerator.is_main_process:
        backend.save(out_dir)
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
        shutil.rmtree(out_dir / "stages", ignore_errors=True)
        _write_card(out_dir, backend, data, cfg, seconds, defects)
    return out_dir


def _finished(out_dir: Path, cfg: TrainConfig) -> Path:
    """A finished model folder is returned as is, if it was trained with this same config (an
    option its card lacks, being newer than the model, counts as its default)."""
    from conditioning.errors import DefectforgeError

    card = json.loads((out_dir / "model_card.json").read_text())
    trained = {**TrainConfig().model_dump(mode="json"), **card["train_config"]}
    if trained != cfg.model_dump(mode="json"):
        raise DefectforgeError(
            f"{out_dir}: already holds a model trained with another config (model_card.json "
            "`train_config`); pass another --out or delete that folder to retrain."
        )
    return out_dir


def _crop_sizes(cfg: TrainConfig) -> tuple[int, ...]:
    """The crop sides the backend trains at, smallest first."""
    if cfg.backend == "compact":
        from pipeline.models.compact import CompactConfig

        return CompactConfig(**cfg.model).crop_sizes
    from pipeline.models.sd15 import SD15Config

    return (SD15Config(**cfg.model).resolution,)


def _start_backend(out_dir: Path, stage: str, classes: list[str], cfg: TrainConfig) -> GeneratorBackend:
    """A fresh backend for stage 1; the finished stage-1 model for stage 2."""
    previous = STAGES[STAGES.index(stage) - 1] if stage != STAGES[0] else None
    if previous is not None:
        return load_backend(out_dir / "stages" / previous)
    torch.manual_seed(cfg.seed)
    return create_backend(cfg.backend, classes, cfg.model)


def _train_stage(accelerator, backend, stage, crops: MultiScaleCrops, steps, ckpt_dir: Path, cfg, progress) -> None:
    """Optimise `backend.trainable(stage)` for `steps` steps, checkpointing and resuming."""
    from tqdm.auto import tqdm

    if not any(ckpt_dir.glob("step-*")):
        backend.start_stage(stage)
    backend.freeze_for(stage)
    names = backend.trainable(stage)
    modules = [getattr(backend, n) for n in names]
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=1e-4)
    warmup = max(1, min(100, steps // 10))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, warmup, steps))
    *prepared, optimizer, schedule = accelerator.prepare(*modules, optimizer, schedule)
    for name, module in zip(names, prepared, strict=True):
        setattr(backend, name, module)
    for module in backend.modules():
        module.to(accelerator.device)
    start = _resume(accelerator, ckpt_dir)
    bar = tqdm(range(start, steps), initial=start, total=steps, desc=f"train {stage}",
               disable=not (progress and accelerator.is_local_main_process))
    offset = 0 if stage == STAGES[0] else cfg.base_steps
    for step in bar:
        rng = np.random.default_rng([cfg.seed, STAGES.index(stage), step, accelerator.process_index])
        batch = crops.sample_batch(rng, cfg.batch_size).to(accelerator.device)
        generator = torch.Generator(accelerator.device).manual_seed(int(rng.integers(2**62)))
        with accelerator.autocast():
            loss = backend.loss(batch, stage, generator)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        bar.set_postfix(loss=f"{loss.item():.4f}")
        accelerator.log({f"{stage}/loss": loss.item(), f"{stage}/lr": schedule.get_last_lr()[0]}, step=offset + step)
        if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < steps:
            _checkpoint(accelerator, ckpt_dir, step + 1, cfg.keep_checkpoints)
    for name, module in zip(names, prepared, strict=True):
        setattr(backend, name, accelerator.unwrap_model(module))
    accelerator.free_memory()


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def _resume(accelerator, ckpt_dir: Path) -> int:
    """Load the latest checkpoint of this stage; returns the step to continue from (0 if none)."""
    found = sorted(ckpt_dir.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    if not found:
        return 0
    accelerator.load_state(str(found[-1]))
    return int(found[-1].name.split("-")[1])


def _checkpoint(accelerator, ckpt_dir: Path, step: int, keep: int) -> None:
    """accelerate state (weights, optimizer, schedule, RNG of every process), written then renamed."""
    tmp = ckpt_dir / f".tmp-step-{step:07d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp), safe_serialization=True)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        tmp.replace(ckpt_dir / f"step-{step:07d}")
        for old in sorted(ckpt_dir.glob("step-*"))[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()


def _save_stage(accelerator, backend: GeneratorBackend, stage_dir: Path, info: dict) -> None:
    if accelerator.is_main_process:
        backend.save(stage_dir)
        write_bytes(stage_dir / "stage.json", json.dumps(info).encode())
        shutil.rmtree(stage_dir.parent.parent / "checkpoints" / stage_dir.name, ignore_errors=True)
    accelerator.wait_for_everyone()


def _flat(cfg: TrainConfig, data: TrainingData) -> dict:
    flat = {k: v for k, v in cfg.model_dump().items() if k != "model"}
    flat.update({f"model.{k}": str(v) for k, v in cfg.model.items()})
    flat.update({"dataset": data.manifest.get("dataset"), "budget_k": data.manifest.get("budget", {}).get("k")})
    return flat


def _write_card(out_dir: Path, backend, data: TrainingData, cfg: TrainConfig, seconds: dict,
                defects: MultiScaleCrops) -> None:
    """model_card.json (machine-readable) and README.md (for people)."""
    crops = len(defects)
    card = {
        "backend": backend.name, "classes": backend.classes, "revision": model_revision(out_dir),
        **data.manifest, "defect_crops": crops,
        "defect_crops_by_side": {str(side): len(s) for side, s in sorted(defects.by_side.items())},
        "steps": {"base": cfg.base_steps, "control": cfg.control_steps},
        "seconds": seconds, "train_config": cfg.model_dump(mode="json"),
        "model_config": backend.config_dict(),
    }
    write_bytes(out_dir / "model_card.json", json.dumps(card, indent=2).encode())
    budget = data.manifest.get("budget", {})
    text = (
        f"# defectforge generator ({backend.name})\n\n"
        f"- dataset: {data.manifest.get('dataset')} (manifest sha256 {data.manifest.get('data_manifest_sha256')})\n"
        f"- real budget: k = {budget.get('k')} images ({budget.get('path')}), {crops} defect crops\n"
        f"- classes: {', '.join(backend.classes)}\n"
        f"- steps: base {cfg.base_steps}, control {cfg.control_steps}; seconds {seconds}\n"
        f"- revision: {card['revision']}\n\nFull config: model_card.json\n"
    )
    write_bytes(out_dir / "README.md", text.encode())
