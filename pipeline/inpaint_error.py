"""How well an inpainting option reconstructs clean surface: real clean regions of the training
images are masked as if they were defects (each real defect's dilated mask or box, moved to a
spot away from every defect), filled, and compared with the real pixels.

Options: `telea` and `ns` (OpenCV, what `clean_reference: inpaint` uses) and, given a trained
compact model (or the line's own under `clean_reference: model`), `model`: its stage-1 base alone,
which learned to fill clean parts, sampled as `clean_reference: model` does (`pipeline.clean_fill`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conditioning.errors import DefectforgeError
from pipeline.crops import dilate
from pipeline.data.clean_reference import defect_region, inpaint_region

PLACEMENT_TRIES = 30
"""Random spots tried per region before it is skipped (no clean room left on the image)."""


def held_out_regions(record, dilate_px: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Each instance's dilated mask moved to a random spot that touches no defect (nor another moved one)."""
    height, width = record.height, record.width
    taken = defect_region((height, width), record.instances, dilate_px + 2)
    regions = []
    for instance in record.instances:
        shape = dilate(instance.mask, dilate_px)
        ys, xs = np.nonzero(shape)
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        if h >= height or w >= width:
            continue
        for _ in range(PLACEMENT_TRIES):
            y0, x0 = int(rng.integers(height - h + 1)), int(rng.integers(width - w + 1))
            moved = np.zeros((height, width), bool)
            moved[ys - ys.min() + y0, xs - xs.min() + x0] = True
            if not (moved & taken).any():
                regions.append(moved)
                taken |= dilate(moved, 2)
                break
    return regions


def clean_reconstruction_error(
    dataset: str, *, model_dir: str | Path | None = None, limit: int = 100, seed: int = 0, split: str = "train"
) -> dict:
    """Mean absolute error (grey levels, 0-255) inside held-out clean regions, per option."""
    from pipeline.data.prepared import PreparedDataset

    prepared = PreparedDataset(dataset)
    config = prepared.info.inpaint
    records = [r for r in prepared.records(split) if r.instances][:limit]
    if not records:
        raise DefectforgeError(f"dataset {dataset!r}: split {split!r} has no defect image to take region shapes from")
    rng = np.random.default_rng(seed)
    model_dir, backend = _model(prepared.info, model_dir)
    errors: dict[str, list[float]] = {"telea": [], "ns": [], **({"model": []} if backend else {})}
    for index, record in enumerate(records):
        image = record.load_image()
        regions = held_out_regions(record, config.dilate_px, rng)
        for method in ("telea", "ns"):
            for region in regions:
                filled = inpaint_region(image, region, config.model_copy(update={"method": method}))
                errors[method].append(_mae(filled, image, region))
        if backend is not None and regions:
            from pipeline.clean_fill import fill_parts

            sub_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
            filled = fill_parts(backend, image, regions, regions, sub_seed, config)
            errors["model"] += [_mae(filled, image, region) for region in regions]
    return {
        "dataset": dataset, "split": split, "images": len(records), "regions": len(errors["telea"]),
        "dilate_px": config.dilate_px, "model": None if model_dir is None else str(model_dir),
        "model_sampling": None if backend is None else
        {k: getattr(config, k) for k in ("steps", "jump_length", "jump_n_sample")},
        "mae": {m: round(float(np.mean(v)), 2) if v else None for m, v in errors.items()},
        "mae_median": {m: round(float(np.median(v)), 2) if v else None for m, v in errors.items()},
    }


def _mae(filled: np.ndarray, real: np.ndarray, region: np.ndarray) -> float:
    return float(np.abs(filled.astype(np.float32) - real.astype(np.float32))[region].mean())


def _model(info, model_dir: str | Path | None):
    """The model to measure: `model_dir`, else the line's own under `clean_reference: model`, else none."""
    from pipeline.clean_fill import load_clean_model, require_clean_model

    if model_dir is None and info.clean_reference != "model":
        return None, None
    if model_dir is None:
        model_dir = require_clean_model(info)["path"]
    backend = load_clean_model(str(Path(model_dir)))
    if not hasattr(backend, "sample_clean"):
        raise DefectforgeError(f"{model_dir}: the `{backend.name}` backend cannot fill clean parts; use a compact model")
    return model_dir, backend
