"""Defect-free backgrounds chosen by likeness to the budget's parts: from a pool holding images like
the parts and images unlike them, the like ones are chosen."""

import json
from pathlib import Path

import cv2
import numpy as np

from pipeline.background_match import embed, similar_backgrounds
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import load_rgb


def _board(rng, brightness: int) -> np.ndarray:
    """A grey board with horizontal traces (the budget's kind of part)."""
    image = rng.normal(brightness, 6, (48, 64)).clip(0, 255).astype(np.uint8)
    for row in (8, 22, 36):
        image[row : row + 3] = min(brightness + 80, 255)
    return image


def _unlike(rng, kind: int) -> np.ndarray:
    """Other parts: a bright checkerboard, a dark plate with vertical bars, a plain white sheet."""
    if kind == 0:
        tiles = (np.indices((48, 64)) // 8).sum(axis=0) % 2
        return (tiles * 200 + 40 + rng.integers(0, 5, (48, 64))).astype(np.uint8)
    if kind == 1:
        image = rng.normal(30, 4, (48, 64)).clip(0, 255).astype(np.uint8)
        image[:, ::10] = 160
        return image
    return rng.normal(240, 3, (48, 64)).clip(0, 255).astype(np.uint8)


def _write(folder: Path, name: str, image: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / name), image)
    return folder / name


def test_the_pool_images_like_the_parts_are_chosen(tmp_path):
    rng = np.random.default_rng(0)
    parts = [_write(tmp_path / "parts", f"p{i}.png", _board(rng, 80 + 10 * i)) for i in range(3)]
    near = [_write(tmp_path / "pool", f"near{i}.png", _board(rng, 75 + 7 * i)) for i in range(5)]
    far = [_write(tmp_path / "pool", f"far{i}.png", _unlike(rng, i % 3)) for i in range(6)]
    pool = [p for pair in zip(far, near, strict=False) for p in pair] + far[len(near):]
    chosen = similar_backgrounds(parts, pool, 2, seed=0, load=load_rgb)
    assert 2 <= len(chosen) <= 5 and set(chosen) <= set(near)
    assert chosen == [p for p in pool if p in set(chosen)]  # pool order
    assert chosen == similar_backgrounds(parts, pool, 2, seed=0, load=load_rgb)
    assert similar_backgrounds(parts, pool, 0, seed=0, load=load_rgb) == pool  # 0: the whole pool
    assert similar_backgrounds(parts, pool, 5, seed=1, load=load_rgb) == [p for p in pool if p in near]


def test_embedding_reads_grey_and_colour_alike():
    rng = np.random.default_rng(1)
    grey = _board(rng, 90)
    assert np.allclose(embed(grey), embed(np.repeat(grey[..., None], 3, axis=2)), atol=1e-6)
    assert embed(grey).shape == (16 * 16 + 16 + 8,)


def test_defects_only_budget_takes_the_alike_defect_free_images(tmp_path, runs, write_dataset, raw_sources):
    from pipeline.data.budget import choose_real_budget, save_budget
    from pipeline.training_data import background_pool

    source = raw_sources.folder_beside(tmp_path / "raw")  # 4 defect-free images like the defect ones
    for index in range(6):
        _write(source / "good", f"unlike{index}.jpg", _unlike(np.random.default_rng(index), index % 3))
    write_dataset("grey", "name: grey\nlicense: test\nformat: folder\nclean_reference: inpaint\n"
                          "classes: [{id: 1, name: scratch}, {id: 2, name: spot}]\nlayout:\n"
                          + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in {
                              "images": "*/*.jpg", "masks": "{dir}/{stem}.png", "defect_free": "good/*",
                              "test_share": 0.25}.items()))
    prepare_dataset("grey", source, progress=False)
    prepared = PreparedDataset("grey")
    budget = save_budget(choose_real_budget(prepared.coco_path("train"), 4, 0, defects_only=True), tmp_path / "b.json")
    free = [r for r in prepared.records("train") if not r.instances]
    unlike = {r.image_path.name for r in free if "unlike" in r.provenance["source"]}
    assert len(unlike) >= 3  # the split left most of them in train
    every = background_pool(prepared, budget, neighbours=0)
    assert unlike <= {p.name for p in every[4:]}
    chosen = background_pool(prepared, budget, neighbours=1, seed=0)
    extra = {p.name for p in chosen[4:]}
    assert chosen[:4] == every[:4] and extra and not extra & unlike
