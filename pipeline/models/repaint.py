"""RePaint sampling (diffusers' `RePaintScheduler`) around any denoiser of a DDPM noise schedule.

At every step the known pixels are replaced by the original noised to that step, and every
`jump_length` steps the sample is sent back up the chain (`jump_n_sample - 1` times) so the filled
pixels agree with the known ones (Lugmayr et al. 2022). diffusers' `RePaintPipeline` only drives
an unconditional `UNet2DModel`; this loop is that pipeline's loop around a `predict(x, t)` callable,
so a conditioned model (the compact base, which also reads the masked image) can use it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import RePaintScheduler


def repaint(
    predict: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train_scheduler,
    original: torch.Tensor,
    region: torch.Tensor,
    seeds: list[int],
    *,
    steps: int,
    jump_length: int,
    jump_n_sample: int,
) -> torch.Tensor:
    """`original` (B,C,H,W in [-1, 1]) with `region` (B,1,H,W, 1 = fill) drawn by the model; one
    seed per item. `predict` returns the model output of `train_scheduler.config.prediction_type`."""
    config = train_scheduler.config
    scheduler = RePaintScheduler(
        num_train_timesteps=config.num_train_timesteps, beta_start=config.beta_start, beta_end=config.beta_end,
        beta_schedule=config.beta_schedule, eta=0.0, clip_sample=True,
    )
    device = original.device
    scheduler.set_timesteps(steps, jump_length=jump_length, jump_n_sample=jump_n_sample, device=device)
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    x = torch.stack([torch.randn(original.shape[1:], generator=g) for g in generators]).to(device)
    known = 1 - region
    last = scheduler.timesteps[0] + 1
    for t in scheduler.timesteps:
        if t < last:
            output = predict(x, t.expand(len(x)).to(device))
            noise = as_epsilon(output, x, scheduler.alphas_cumprod[t].to(device), config.prediction_type)
            x = scheduler.step(noise, t, x, original, known, generator=generators).prev_sample
        else:
            x = scheduler.undo_step(x, last, generator=generators)
        last = t
    return (region * x + known * original).clamp(-1, 1)


def as_epsilon(output: torch.Tensor, x: torch.Tensor, alpha_bar: torch.Tensor, prediction_type: str) -> torch.Tensor:
    """The noise a model output of `prediction_type` implies at the noisy sample `x` (what
    `RePaintScheduler.step` reads)."""
    if prediction_type == "epsilon":
        return output
    if prediction_type == "v_prediction":
        return alpha_bar.sqrt() * output + (1 - alpha_bar).sqrt() * x
    if prediction_type == "sample":
        return (x - alpha_bar.sqrt() * output) / (1 - alpha_bar).sqrt()
    raise ValueError(f"prediction_type {prediction_type!r}: use epsilon, v_prediction or sample")
