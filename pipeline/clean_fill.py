"""`clean_reference: model`: real defects filled with clean surface by a trained model's stage-1
base. Each connected part of the region gets a square crop around it at the model's resolution,
is filled by RePaint sampling (`CompactBackend.sample_clean`) and pasted back at full size."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.crops import crop_window, dilate, extract, make_batch, paste, to_uint8

CROP_MARGIN = 0.5
"""Crop side = the part's box side * (1 + margin), at least the model's resolution."""
BATCH = 32
"""Crops per model call."""


def model_folder(info) -> Path:
    """The model `clean_reference: model` reads: `inpaint.model` (relative: under the runs
    folder), else `<runs>/models/<name>-base`."""
    from pipeline.paths import runs_root

    if info.inpaint.model is None:
        return runs_root() / "models" / f"{info.name}-base"
    path = Path(info.inpaint.model).expanduser()
    return path if path.is_absolute() else runs_root() / path


def require_clean_model(info) -> dict:
    """The path and revision of the line's clean-reference model; a located error naming the
    steps that make one when it is missing or cannot fill clean parts."""
    from pipeline.data.registry import dataset_dir
    from pipeline.models import model_revision
    from pipeline.models.base import MODEL_FILE

    path = model_folder(info)
    where = f"{dataset_dir(info.name) / 'dataset.yaml'}: clean_reference: model (inpaint.model)"
    if not (path / MODEL_FILE).is_file():
        raise DefectforgeError(
            f"{where}: no trained model at {path}. The model's stage-1 base fills the defects, so it "
            f"must be trained first: prepare with `clean_reference: inpaint`, run `defectforge train "
            f"--dataset {info.name} --control-steps 0 --out {path}`, then set `clean_reference: model` "
            f"and run `defectforge data prepare {info.name} --force` (or point `inpaint.model` at a "
            "trained model folder)."
        )
    backend = load_clean_model(str(path))
    if not hasattr(backend, "sample_clean"):
        raise DefectforgeError(
            f"{where}: {path} is a `{backend.name}` model, which cannot fill clean parts; "
            f"train a compact one (`defectforge train --dataset {info.name} --control-steps 0 --out {path}`)"
        )
    return {"path": str(path), "revision": model_revision(path)}


@lru_cache(maxsize=2)
def load_clean_model(path: str):
    """The trained model of folder `path`, loaded once per process."""
    from pipeline.models import load_backend

    return load_backend(Path(path))


def fill_with_model(info, image: np.ndarray, region: np.ndarray, key: str) -> np.ndarray:
    """`image` (HxWx3 uint8) with `region` filled by the line's model; `key` (the image's name)
    seeds the sampling, so a rebuild gives the same pixels."""
    count, labels = cv2.connectedComponents(region.astype(np.uint8))
    parts = [labels == index for index in range(1, count)]
    if not parts:
        return image.copy()
    backend = load_clean_model(str(model_folder(info)))
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")
    return fill_parts(backend, image, parts, [region] * len(parts), seed, info.inpaint)


def fill_parts(backend, image: np.ndarray, parts: list[np.ndarray], hidden: list[np.ndarray], seed: int,
               cfg) -> np.ndarray:
    """`image` with each of `parts` (bool HxW) filled by the model's base; in part i's crop the
    pixels of `hidden[i]` count as unknown too (other defects near it). `cfg`: an InpaintConfig."""
    side = backend.resolution
    windows = [crop_window(part, side, CROP_MARGIN) for part in parts]
    crops = [extract(image, window, side) for window in windows]
    cuts = [_cut(mask, window, side) for mask, window in zip(hidden, windows, strict=True)]
    out = image.copy()
    for start in range(0, len(parts), BATCH):
        chunk = range(start, min(start + BATCH, len(parts)))
        batch = make_batch([crops[i] for i in chunk], [crops[i] for i in chunk], [cuts[i] for i in chunk],
                           [cuts[i] for i in chunk], [0] * len(chunk), [0.0] * len(chunk))
        seeds = [int(np.random.SeedSequence([seed, i]).generate_state(1)[0]) for i in chunk]
        drawn = to_uint8(backend.sample_clean(batch, seeds, cfg.steps, cfg.jump_length, cfg.jump_n_sample))
        for i, pixels in zip(chunk, drawn, strict=True):
            paste(out, pixels, windows[i], parts[i])
    if _is_grey(image):  # a grey line stays grey
        out = np.repeat(out.mean(axis=2, keepdims=True).round().astype(np.uint8), 3, axis=2)
    return out


def _cut(mask: np.ndarray, window, side: int) -> np.ndarray:
    """The unknown pixels of one crop; grown by one crop pixel when the crop is shrunk, so no
    defect pixel at the region's edge leaks into the known part."""
    cut = extract(mask, window, side)
    return dilate(cut, 1) if window.size > side else cut


def _is_grey(image: np.ndarray) -> bool:
    return bool((image[..., 0] == image[..., 1]).all() and (image[..., 0] == image[..., 2]).all())
