"""Region-guided generation (`kind: learned`): the model draws inside a loose region; the label is
what changed there, its box follows the real annotation style, the gate checks it."""

import json
import shutil

import numpy as np
import pytest
import torch

from conditioning.errors import DefectforgeError
from conditioning.spec import load_library
from pipeline.crops import dilate, make_batch
from pipeline.data.prepared import PreparedDataset
from pipeline.data.records import decode_mask, load_rgb
from pipeline.gate import GateConfig, change_map, check_sample
from pipeline.generate import generate_set
from pipeline.labels.style import learn_style
from pipeline.models import create_backend
from pipeline.models.base import control_image
from pipeline.render import Job, RenderConfig, render
from pipeline.train import train_generator
from pipeline.training_data import budget_records

THRESHOLD = GateConfig().change_threshold


def _scene():
    rng = np.random.default_rng(0)
    background = rng.integers(80, 120, size=(40, 40, 3)).astype(np.uint8)
    region = np.zeros((40, 40), bool)
    region[10:24, 8:30] = True
    return background, region


def _verdict(image, background, region):
    (verdict,) = check_sample(image, background, [region], [region], learned=[True])
    return verdict


def test_gen_learned_gate_takes_the_changed_pixels_as_the_defect():
    background, region = _scene()
    drawn = background.copy()
    drawn[14:18, 12:20] = 10  # a defect of 32 px inside a 308 px region
    verdict = _verdict(drawn, background, region)
    assert verdict.passed and verdict.box_changed == 1.0  # measured on the changed pixels' own box
    nothing = _verdict(background.copy(), background, region)
    assert not nothing.passed and "no defect drawn: 0 pixels changed" in nothing.reasons[0]
    filled = background.copy()
    filled[region] = 10
    verdict = _verdict(filled, background, region)
    assert not verdict.passed and any("filled its region: 1.00" in r for r in verdict.reasons)


def test_gen_learned_control_image_tells_a_region_from_a_shape():
    mask = np.zeros((16, 16), bool)
    mask[4:10, 3:12] = True
    crop = np.zeros((16, 16, 3), np.uint8)
    batch = make_batch([crop] * 2, [crop] * 2, [mask] * 2, [mask] * 2, [1, 1], [0.5, 0.5], learned=[False, True])
    channels = control_image(batch, 2)  # 2 class channels, then the mask channel
    shape, loose = channels[0, 2], channels[1, 2]
    assert shape.sum() == mask.sum() and torch.equal(loose, -shape)
    assert torch.equal(channels[0, :2], channels[1, :2])  # the class inside the mask, either way


def test_gen_learned_render_labels_are_the_changed_pixels_inside_the_region(kit):
    torch.manual_seed(0)
    backend = create_backend("compact", kit.classes, kit.tiny)
    rng = np.random.default_rng(4)
    jobs = []
    for seed in range(3):
        clean = kit.board(rng)
        loose = np.zeros(clean.shape[:2], bool)
        loose[6:20, 5:25] = True
        _, spot = kit.defect(clean, 2, 0.8, (36, 32), 3)
        jobs.append(Job(clean, [("dark", loose, 0.5), ("bright", spot, 0.8)], seed=seed, learned=[True, False]))
    cfg = RenderConfig(dilate_px=1, gate={"retries": 1})
    for job, result in zip(jobs, render(backend, jobs, cfg), strict=True):
        loose, spot = job.instances[0][1], job.instances[1][1]
        assert np.array_equal(result.regions[0], loose)  # a learned region is not dilated
        allowed = loose | dilate(spot, 1)
        assert np.array_equal(result.image[~allowed], job.background[~allowed])
        changed = change_map(result.image, job.background) > THRESHOLD
        assert np.array_equal(result.labels[0], loose & changed) and result.labels[0].any()
        assert np.array_equal(result.labels[1], spot)  # a given shape keeps its mask (colour line)
        fill = result.labels[0].sum() / loose.sum()
        assert any("filled its region" in r for r in result.verdicts[0].reasons) == (fill > 0.8)


LEARNED_SPEC = """\
product: sample-pcb
classes: [open, short, mousebite, spur, copper, pin-hole, scratch]
min_distance: 6
min_per_image: 2
max_per_image: 3
defects:
  - name: open-drawn
    class: open
    kind: learned
    placement: {surface: foreground, border: 8}
  - name: copper-drawn
    class: copper
    kind: learned
    shape: {length: [6, 12], width: [4, 8]}
    placement: {surface: background, border: 10}
  - name: pin-hole
    class: pin-hole
    kind: pin_hole
    shape: {radius: [1.5, 2.5]}
    placement: {surface: foreground}
    count: [0, 1]
"""


@pytest.mark.slow
def test_gen_learned_mode_trains_and_generates_with_labels_from_the_changed_pixels(tmp_path, tiny_line, kit):
    spec, budget = tiny_line
    spec.write_text(LEARNED_SPEC)
    train = {"model": kit.tiny, "base_steps": 2, "control_steps": 2, "batch_size": 4, "clean_crops": 8}
    model = train_generator("tiny", budget, tmp_path / "model", config={**train, "learned_regions": True},
                            progress=False)
    card = json.loads((model / "model_card.json").read_text())
    assert card["defect_crops"] == 2 * card["instances"]  # every real defect: its shape, and a loose region
    out = tmp_path / "gen"
    generate_set("tiny", spec, model, 3, out, seed=2, budget_path=budget, keep_rejected=True, progress=False,
                 config={"batch_size": 4, "gate": {"retries": 1}})
    # 1. each learned label is exactly the changed pixels inside its region; its box, the style's
    style = learn_style(budget_records(PreparedDataset("tiny"), budget), load_library(spec).foreground)
    learned = 0
    for file in (out / "records").iterdir():
        record = json.loads(file.read_text())
        image, background = load_rgb(out / "images" / record["file"]), load_rgb(record["background"])
        changed = change_map(image, background) > THRESHOLD
        for index, instance in enumerate(record["instances"]):
            if instance["kind"] != "learned":
                continue
            region, learned = decode_mask(instance["spec_rle"]), learned + 1
            expected = region & changed
            assert (instance["rle"] is None) == (not expected.any())
            if expected.any():
                assert np.array_equal(decode_mask(instance["rle"]), expected)
                box = style.box_for(instance["class_name"], expected, np.random.default_rng([record["seed"], index]),
                                    style.foreground(background))
                assert instance["bbox"] == [float(b) for b in box]
            assert instance["gate"]["passed"] == (not instance["gate"]["reasons"])
    assert learned >= 6  # two learned defects an image
    # 2. the COCO file carries them with their kind and stored boxes
    coco = json.loads((out / "annotations.json").read_text())
    assert any(a["kind"] == "learned" for a in coco["annotations"])
    # 3. a model not trained on loose regions is refused, naming the fix
    untrained = tmp_path / "plain"
    shutil.copytree(model, untrained)
    card["train_config"]["learned_regions"] = False
    (untrained / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(DefectforgeError, match="learned_regions: true"):
        generate_set("tiny", spec, untrained, 1, tmp_path / "gen-plain", budget_path=budget, progress=False)
