"""Severity reaches the model: on a trained toy model a higher severity draws a stronger defect."""

import numpy as np
import pytest

from pipeline.models import load_backend
from pipeline.render import Job, RenderConfig, render
from pipeline.train import TrainConfig, train_on_data


@pytest.mark.slow
def test_gen_higher_severity_gives_stronger_contrast(tmp_path, kit):
    cfg = TrainConfig(model=kit.tiny, base_steps=40, control_steps=450, batch_size=16,
                      clean_crops=200, learning_rate=3e-3)
    backend = load_backend(train_on_data(kit.data(n=24), tmp_path / "m", cfg, progress=False))
    clean = kit.board(np.random.default_rng(11))
    _, mask = kit.defect(clean, 1, 0.5, (24, 24), 4)
    contrast = {}
    for severity in (0.1, 0.9):
        jobs = [Job(clean, [("dark", mask, severity)], seed=s) for s in range(8)]
        images = [r.image for r in render(backend, jobs, RenderConfig(gate={"retries": 0}))]
        contrast[severity] = np.array([(clean.astype(float) - im)[mask].mean() for im in images])
    assert contrast[0.9].mean() > contrast[0.1].mean() + 5
    assert (contrast[0.9] > contrast[0.1]).mean() >= 0.75
