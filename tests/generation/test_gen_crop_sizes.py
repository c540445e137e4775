"""Defects at full resolution: the crop size follows the defect size (pipeline.crop_sizes), training
crops come at the sides generation draws at, and a large defect renders end to end."""

import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from pipeline.crop_sets import Example, clean_crops, defect_crops
from pipeline.crop_sizes import plan_crop, working_side
from pipeline.crops import dilate
from pipeline.models import create_backend, load_backend
from pipeline.models.base import MODEL_FILE
from pipeline.models.compact import CompactConfig
from pipeline.render import Job, RenderConfig, render

SIZES = (32, 64, 128)


def _disc(size: int, center: tuple[int, int], radius: int) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


@pytest.mark.parametrize(("radius", "side"), [(3, 32), (9, 32), (15, 64), (40, 128)])
def test_gen_crop_side_follows_the_defect_size_at_real_scale(radius, side):
    region = _disc(400, (200, 200), radius)
    plan = plan_crop(region, SIZES, margin=0.5)
    assert plan.side == side
    assert plan.window.size == side and plan.scale == 1.0  # one crop pixel per image pixel
    y, x = plan.window.slices()
    assert region[y, x].sum() == region.sum()  # the whole defect is inside its crop


def test_gen_crop_side_beyond_the_largest_size_is_drawn_coarser():
    region = _disc(400, (200, 200), 90)  # box 181 px, window 272 px
    plan = plan_crop(region, SIZES, margin=0.5)
    assert plan.side == 128 and plan.window.size == 272
    assert plan.scale == pytest.approx(272 / 128)


def test_gen_crop_side_fixed_resolution_resizes_every_defect():
    small, large = _disc(400, (100, 100), 3), _disc(400, (250, 250), 40)
    assert [plan_crop(r, (32,), 0.5).side for r in (small, large)] == [32, 32]
    assert plan_crop(large, (32,), 0.5).scale == pytest.approx(122 / 32)
    assert working_side(33, SIZES) == 64 and working_side(500, SIZES) == 128


def test_gen_crop_side_in_a_small_image_is_drawn_finer_not_coarser():
    plan = plan_crop(_disc(48, (24, 24), 12), SIZES, margin=0.5)  # window 38 px wanted, 48 px image
    assert plan.side == 64 and plan.window.size == 48
    assert 0.5 < plan.scale <= 1


def test_gen_compact_config_checks_its_crop_sizes():
    assert CompactConfig().crop_sizes == SIZES
    assert CompactConfig(resolution=16, scales=(1,)).crop_sizes == (16,)
    for bad in ({"scales": (2, 4)}, {"scales": (1, 4, 2)}, {"scales": ()}, {"scales": (1, 16)},
                {"resolution": 30}):
        with pytest.raises(ValidationError, match="scales|resolution"):
            CompactConfig(**bad)


def test_gen_compact_model_saved_without_scales_keeps_its_one_size(tmp_path, kit):
    create_backend("compact", kit.classes, kit.tiny).save(tmp_path / "m")
    meta_file = tmp_path / "m" / MODEL_FILE
    meta = json.loads(meta_file.read_text())
    del meta["config"]["scales"]
    meta_file.write_text(json.dumps(meta))
    assert load_backend(tmp_path / "m").crop_sizes == (16,)


def _mixed_examples(kit) -> list[Example]:
    rng = np.random.default_rng(0)
    examples = []
    for radius in (1, 8, 16):  # windows of 11, 32 and 56 px (dilated by 2, margin 0.5)
        clean = kit.board(rng, 96)
        image, mask = kit.defect(clean, 1, 0.6, (48, 48), radius)
        examples.append(Example(image, clean, [(1, mask)]))
    return examples


def test_gen_training_crops_come_at_the_sides_generation_draws_at(kit):
    sizes = (16, 32, 64)
    examples = _mixed_examples(kit)
    crops = defect_crops(examples, sizes, dilate_px=2, margin=0.5)
    drawn = sorted(plan_crop(dilate(m, 2), sizes, 0.5).side for e in examples for _, m in e.instances)
    assert sorted(side for side, s in crops.by_side.items() for _ in range(len(s))) == drawn == [16, 32, 64]
    cleans = clean_crops([e.clean for e in examples], 60, crops, 16, seed=0)
    assert set(cleans.by_side) == {16, 32, 64} and len(cleans) == 60
    lengths = {}
    for seed in range(40):
        batch = crops.sample_batch(np.random.default_rng(seed), 8)
        lengths[batch.image.shape[-1]] = len(batch)
    assert lengths == {16: 8, 32: 2, 64: 1}  # each batch holds the pixels of 8 crops of 16 px


def test_gen_render_draws_a_large_defect_at_its_own_scale_and_pastes_it(kit, monkeypatch):
    torch.manual_seed(0)
    backend = create_backend("compact", kit.classes, kit.tiny)  # crop sizes 16 / 32 / 64
    rng = np.random.default_rng(1)
    background = kit.board(rng, 128)
    small, large = _disc(128, (20, 20), 2), _disc(128, (80, 76), 17)
    sides = []
    sample = backend.sample
    monkeypatch.setattr(backend, "sample", lambda batch, seeds, steps=None: sides.append(
        batch.image.shape[-1]) or sample(batch, seeds, steps))
    job = Job(background, [("dark", small, 0.5), ("bright", large, 0.9)], seed=3)
    result = render(backend, [job], RenderConfig(dilate_px=1, gate={"retries": 0}))[0]
    assert sorted(sides) == [16, 64]  # the small defect at 16 px, the large one at 64 px: scale 1 each
    assert result.image.shape == background.shape and result.image.dtype == np.uint8
    inside = np.logical_or.reduce(result.regions)
    assert np.array_equal(result.image[~inside], background[~inside])
    assert (result.image[dilate(large, 1)] != background[dilate(large, 1)]).any()
    sides.clear()
    render(backend, [job], RenderConfig(dilate_px=1, full_resolution=False, gate={"retries": 0}))
    assert sides == [16]  # the old way: both at the model's base resolution, one batch
