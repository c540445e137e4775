"""The compact backend: forward paths, save/load round trip, two-step training, resume."""

import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from conditioning.errors import DefectforgeError
from pipeline.crop_sets import defect_crops
from pipeline.models import create_backend, load_backend, model_revision
from pipeline.models.compact import CompactBackend
from pipeline.train import TrainConfig, train_on_data


def _batch(toy):
    crops = defect_crops(toy.examples, (16,), 2, 0.5).by_side[16]
    return crops.batch(np.arange(4), np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["epsilon", "sample", "v_prediction"])
def test_gen_compact_forward_and_sample_keep_outside_region(toy, kit, kind):
    torch.manual_seed(0)
    backend = create_backend("compact", kit.classes, {**kit.tiny, "prediction_type": kind})
    batch = _batch(toy)
    for stage in ("base", "control"):
        assert torch.isfinite(backend.loss(batch, stage, torch.Generator().manual_seed(0)))
    out = backend.sample(batch, seeds=[1, 2, 3, 4])
    assert out.shape == batch.clean.shape
    outside = batch.region == 0
    assert torch.equal(out.expand_as(batch.clean)[outside.expand_as(out)], batch.clean[outside.expand_as(out)])


def test_gen_compact_refuses_an_unknown_prediction_type(kit):
    with pytest.raises(ValidationError, match="prediction_type"):
        create_backend("compact", kit.classes, {**kit.tiny, "prediction_type": "x0"})


def test_gen_compact_save_load_round_trip(tmp_path, toy, kit):
    backend = create_backend("compact", kit.classes, kit.tiny)
    batch = _batch(toy)
    before = backend.sample(batch, seeds=[5, 6, 7, 8])
    backend.save(tmp_path / "m")
    assert not list((tmp_path / "m").rglob("*.bin"))
    again = load_backend(tmp_path / "m")
    assert isinstance(again, CompactBackend)
    assert torch.equal(before, again.sample(batch, seeds=[5, 6, 7, 8]))


def _cfg(kit, **kw):
    return TrainConfig(model=kit.tiny, batch_size=4, clean_crops=16, **kw)


def test_gen_compact_trains_both_stages_and_writes_a_card(tmp_path, toy, kit):
    out = train_on_data(toy, tmp_path / "m", _cfg(kit, base_steps=2, control_steps=2), progress=False)
    card = json.loads((out / "model_card.json").read_text())
    assert card["steps"] == {"base": 2, "control": 2}
    assert card["revision"] == model_revision(out)
    assert card["defect_crops"] == 24 and set(card["seconds"]) == {"base", "control"}
    assert card["defect_crops_by_side"] == {"16": 5, "32": 19}  # spots of radius 2 fit 16 px, 3 and 4 need 32
    assert load_backend(out).classes == kit.classes
    assert train_on_data(toy, out, _cfg(kit, base_steps=2, control_steps=2), progress=False) == out
    with pytest.raises(DefectforgeError, match="another config"):
        train_on_data(toy, out, _cfg(kit, base_steps=3, control_steps=2), progress=False)


def test_gen_compact_resume_matches_an_uninterrupted_run(tmp_path, toy, kit, monkeypatch):
    cfg = _cfg(kit, base_steps=4, control_steps=0, checkpoint_every=2)
    full = load_backend(train_on_data(toy, tmp_path / "full", cfg, progress=False))
    original, calls = CompactBackend.loss, {"n": 0}

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CompactBackend, "loss", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_on_data(toy, tmp_path / "resumed", cfg, progress=False)
    assert (tmp_path / "resumed" / "checkpoints" / "base" / "step-0000002").is_dir()
    monkeypatch.setattr(CompactBackend, "loss", original)
    resumed = load_backend(train_on_data(toy, tmp_path / "resumed", cfg, progress=False))
    for a, b in zip(full.unet.parameters(), resumed.unet.parameters(), strict=True):
        assert torch.equal(a, b)
