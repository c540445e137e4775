"""`clean_reference: model`: RePaint sampling of a compact base (tiny, built in code, untrained or
trained a few steps), and the prepare -> train stage 1 -> prepare again flow on a line with no
clean image, with its located errors."""

import json

import numpy as np
import pytest
import torch

from conditioning.errors import DefectforgeError
from pipeline.data.clean_reference import defect_region
from pipeline.data.prepare import prepare_dataset
from pipeline.data.prepared import PreparedDataset
from pipeline.models.compact import CompactBackend
from pipeline.models.repaint import as_epsilon

TINY_MODEL = {"resolution": 16, "block_out_channels": [8, 16], "token_dim": 16, "inference_steps": 4}
TINY_BASE = {"model": TINY_MODEL, "base_steps": 3, "control_steps": 0, "batch_size": 4, "clean_crops": 16}
VOC_LINE = """name: steel
license: test
format: voc
clean_reference: {clean}
{inpaint}classes: [{{id: 1, name: scratch}}, {{id: 2, name: spot}}]
layout: {{}}
"""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample"])
def test_model_outputs_convert_to_the_noise_repaint_reads(kind):
    generator = torch.Generator().manual_seed(0)
    clean, noise = torch.randn(2, 3, 4, 4, generator=generator), torch.randn(2, 3, 4, 4, generator=generator)
    alpha_bar = torch.tensor(0.3)
    noisy = alpha_bar.sqrt() * clean + (1 - alpha_bar).sqrt() * noise
    output = {"epsilon": noise, "sample": clean,
              "v_prediction": alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean}[kind]
    assert torch.allclose(as_epsilon(output, noisy, alpha_bar, kind), noise, atol=1e-5)


def test_repaint_fills_only_the_region_and_is_seeded():
    torch.manual_seed(0)
    backend = CompactBackend.create(["scratch"], TINY_MODEL)
    from pipeline.crops import make_batch

    rng = np.random.default_rng(0)
    crops = [rng.integers(60, 120, (16, 16, 3), dtype=np.uint8) for _ in range(2)]
    region = np.zeros((16, 16), bool)
    region[5:11, 4:12] = True
    batch = make_batch(crops, crops, [region] * 2, [region] * 2, [0, 0], [0.0, 0.0])
    first = backend.sample_clean(batch, [1, 2], steps=4, jump_length=2, jump_n_sample=2)
    again = backend.sample_clean(batch, [1, 2], steps=4, jump_length=2, jump_n_sample=2)
    other = backend.sample_clean(batch, [3, 2], steps=4, jump_length=2, jump_n_sample=2)
    inside = torch.from_numpy(region)[None, None].expand_as(first)
    assert torch.equal(first, again)
    assert torch.equal(first[~inside], batch.clean[~inside])  # known pixels kept exactly
    assert not torch.equal(first[0][inside[0]], other[0][inside[0]]) and torch.equal(first[1], other[1])


def _line(write_dataset, clean: str, model: str | None = None):
    inpaint = f"inpaint: {{model: {model}, steps: 4, jump_length: 2, jump_n_sample: 2}}\n" if model else ""
    write_dataset("steel", VOC_LINE.format(clean=clean, inpaint=inpaint))


def _train_base(out):
    from pipeline.train import train_generator

    return train_generator("steel", None, out, config=TINY_BASE, progress=False)


@pytest.mark.slow
def test_model_clean_references_after_a_stage_one_training(tmp_path, runs, write_dataset, raw_sources):
    source = raw_sources.voc(tmp_path / "raw")
    # 1. asked before a base is trained: a located error with the steps that make one
    _line(write_dataset, "model")
    with pytest.raises(DefectforgeError) as error:
        prepare_dataset("steel", source, progress=False)
    message = str(error.value)
    assert "steel/dataset.yaml: clean_reference: model (inpaint.model)" in message
    assert str(runs / "models" / "steel-base") in message and "--control-steps 0" in message
    # 2. OpenCV references, stage 1 only, then the model's references
    _line(write_dataset, "inpaint")
    prepare_dataset("steel", source, progress=False)
    opencv = {r.image_path.name: r.load_clean() for r in PreparedDataset("steel").records("train")}
    _train_base(runs / "models" / "steel-base")
    _line(write_dataset, "model", "models/steel-base")
    prepare_dataset("steel", source, progress=False, force=True)
    prepared = PreparedDataset("steel")
    manifest = prepared.manifest
    assert manifest["clean_reference"] == "model" and manifest["greyscale"] is True
    assert manifest["clean_model"]["path"] == str(runs / "models" / "steel-base")
    changed_somewhere = False
    for record in prepared.records("train"):
        image, clean = record.load_image(), record.load_clean()
        inside = defect_region(image.shape[:2], record.instances, prepared.info.inpaint.dilate_px)
        assert (clean[~inside] == image[~inside]).all()  # only the defects' pixels are remade
        changed_somewhere |= bool((clean[inside] != opencv[record.image_path.name][inside]).any())
    assert changed_somewhere
    # 3. data inpaint-error measures the line's own model beside OpenCV
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["data", "inpaint-error", "steel", "--limit", "3", "--out", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "e.json").read_text())
    assert report["model"] == str(runs / "models" / "steel-base") and report["mae"]["model"] > 0
    assert "model  mean abs error" in result.output
    # 4. the same model gives the same pixels; changed weights make the prepared folder stale
    first = {r.image_path.name: r.load_clean() for r in prepared.records("train")}
    prepare_dataset("steel", source, progress=False, force=True)
    assert all((r.load_clean() == first[r.image_path.name]).all() for r in PreparedDataset("steel").records("train"))
    weights = next((runs / "models" / "steel-base" / "unet").glob("*.safetensors"))
    from safetensors.torch import load_file, save_file

    state = load_file(weights)
    state = {k: v + 0.01 if i == 0 else v for i, (k, v) in enumerate(state.items())}
    save_file(state, weights)
    with pytest.raises(DefectforgeError, match="clean-reference model .*steel-base was retrained"):
        prepare_dataset("steel", source, progress=False)


@pytest.mark.slow
def test_inpaint_error_measures_the_lines_model(tmp_path, runs, write_dataset, raw_sources):
    from pipeline.inpaint_error import clean_reconstruction_error

    source = raw_sources.voc(tmp_path / "raw")
    _line(write_dataset, "inpaint")
    prepare_dataset("steel", source, progress=False)
    model = _train_base(tmp_path / "base")
    with pytest.raises(DefectforgeError, match="missing defectforge_model.json"):
        clean_reconstruction_error("steel", model_dir=tmp_path / "nowhere", limit=2)
    report = clean_reconstruction_error("steel", model_dir=model, limit=2)
    assert set(report["mae"]) == {"telea", "ns", "model"} and report["regions"] > 0
    assert 0 < report["mae"]["model"] < 255 and report["model_sampling"]["steps"] == 20
    assert json.loads(json.dumps(report)) == report
