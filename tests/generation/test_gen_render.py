"""Rendering: pixels outside the dilated masks stay byte-identical; a seed fixes the image; labels."""

import numpy as np
import torch

from pipeline.crops import dilate
from pipeline.models import create_backend
from pipeline.render import Job, RenderConfig, render


def _jobs(kit, seed=0):
    rng = np.random.default_rng(3)
    jobs = []
    for k in range(3):
        clean = kit.board(rng)
        _, first = kit.defect(clean, 1, 0.5, (12, 12), 3)
        _, second = kit.defect(clean, 2, 0.8, (34, 30), 4)
        jobs.append(Job(clean, [("dark", first, 0.5), ("bright", second, 0.8)], seed=seed + k))
    return jobs


def _backend(kit):
    torch.manual_seed(0)
    return create_backend("compact", kit.classes, kit.tiny)


def test_gen_render_keeps_background_bytes_outside_dilated_masks(kit):
    cfg = RenderConfig(dilate_px=2, gate={"retries": 1})
    for job, result in zip(_jobs(kit), render(_backend(kit), _jobs(kit), cfg), strict=True):
        allowed = np.zeros(job.background.shape[:2], bool)
        for _, mask, _ in job.instances:
            allowed |= dilate(mask, 2)
        assert np.array_equal(result.image[~allowed], job.background[~allowed])
        assert not np.array_equal(result.image, job.background)
        assert len(result.verdicts) == 2 and all(v.outside_changed == 0 for v in result.verdicts)
        assert all(1 <= a <= 2 for a in result.attempts)


def test_gen_render_is_deterministic_for_a_seed(kit):
    backend = _backend(kit)
    cfg = RenderConfig(gate={"retries": 0})
    first = render(backend, _jobs(kit, seed=7), cfg)
    again = render(backend, _jobs(kit, seed=7), cfg)
    other = render(backend, _jobs(kit, seed=8), cfg)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].image, other[0].image)


def test_gen_render_regenerates_rejected_instances(kit):
    cfg = RenderConfig(gate={"retries": 2, "min_contrast": 2.0})
    results = render(_backend(kit), _jobs(kit), cfg)
    assert all(a == 3 for r in results for a in r.attempts)
    assert not any(v.passed for r in results for v in r.verdicts)


def test_gen_render_snaps_to_the_palette_of_binarised_lines(kit):
    jobs = _jobs(kit)
    for job in jobs:
        job.background[:] = np.where(job.background > 128, 255, 0).astype(np.uint8)
    palette = [[0, 0, 0], [255, 255, 255]]
    for job, result in zip(jobs, render(_backend(kit), jobs, RenderConfig(palette=palette)), strict=True):
        assert set(np.unique(result.image)) <= {0, 255}
        allowed = np.logical_or.reduce(result.regions)
        assert np.array_equal(result.image[~allowed], job.background[~allowed])
        changed = (result.image != job.background).any(axis=-1)
        for region, label, verdict in zip(result.regions, result.labels, result.verdicts, strict=True):
            assert np.array_equal(label, region & changed)  # the label is what changed, not the intent
            assert verdict.rule == "flip"


def test_gen_render_labels_grey_lines_with_the_spec_mask_and_checks_directions(kit):
    jobs = _jobs(kit)
    cfg = RenderConfig(directions={"dark": -1, "bright": 1}, gate={"retries": 0})
    for job, result in zip(jobs, render(_backend(kit), jobs, cfg), strict=True):
        for (_, mask, _), label, verdict in zip(job.instances, result.labels, result.verdicts, strict=True):
            assert label is mask and verdict.rule == "contrast"
        assert [v.class_direction for v in result.verdicts] == [-1, 1]


def test_gen_render_palette_lines_change_each_defect_its_class_way_only(kit):
    """An untrained model draws specks of both colours; with directions, a `dark` defect only
    darkens its region and a `bright` one only brightens it (the rest is put back), unless
    `one_way` is off."""
    jobs = _jobs(kit)
    for job in jobs:
        job.background[:] = np.where(job.background > 128, 255, 0).astype(np.uint8)
    palette = [[0, 0, 0], [255, 255, 255]]
    directions = {"dark": -1, "bright": 1}
    wrong = {}
    for one_way in (True, False):
        cfg = RenderConfig(palette=palette, directions=directions, one_way=one_way, gate={"retries": 0})
        wrong[one_way] = 0
        for job, result in zip(jobs, render(_backend(kit), jobs, cfg), strict=True):
            signed = result.image.astype(int).mean(-1) - job.background.astype(int).mean(-1)
            for (name, _, _), region in zip(job.instances, result.regions, strict=True):
                wrong[one_way] += int((region & (np.sign(signed) == -directions[name])).sum())
    assert wrong[True] == 0 and wrong[False] > 0
