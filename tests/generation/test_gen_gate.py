"""The label-fidelity gate: accepts a drawn defect, rejects absence, spill and background changes."""

import numpy as np

from pipeline.crops import dilate
from pipeline.gate import GateConfig, check_sample


def _scene():
    rng = np.random.default_rng(0)
    background = rng.integers(80, 120, size=(40, 40, 3)).astype(np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[18:22, 15:25] = True
    return background, mask, dilate(mask, 2)


def test_gen_gate_passes_a_drawn_defect():
    background, mask, region = _scene()
    image = background.copy()
    image[mask] = 10
    (verdict,) = check_sample(image, background, [mask], [region])
    assert verdict.passed, verdict.reasons
    assert verdict.box_changed > 0.9 and verdict.outside_changed == 0


def test_gen_gate_rejects_nothing_drawn():
    background, mask, region = _scene()
    (verdict,) = check_sample(background.copy(), background, [mask], [region])
    assert not verdict.passed
    assert "no visible defect" in verdict.reasons[0]


def test_gen_gate_rejects_changed_background():
    background, mask, region = _scene()
    image = background.copy()
    image[mask] = 10
    image[0:3, 0:3] = 255
    (verdict,) = check_sample(image, background, [mask], [region])
    assert not verdict.passed and verdict.outside_changed == 9


def test_gen_gate_rejects_over_drawing():
    background, mask, region = _scene()
    image = background.copy()
    image[region] = 10
    big = dilate(mask, 6)
    image[big] = 10
    (verdict,) = check_sample(image, background, [mask], [big])
    assert not verdict.passed
    assert any("over-drawn" in r for r in verdict.reasons)


def test_gen_gate_box_fraction_catches_a_blotch_in_a_thin_mask():
    background, _, _ = _scene()
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10] = True
    mask[10, 10:30] = True
    region = dilate(mask, 2)
    image = background.copy()
    image[region] = 10
    (verdict,) = check_sample(image, background, [mask], [region], GateConfig(max_spill=10))
    assert not verdict.passed and verdict.box_changed > 0.25
    assert any("beyond the mask" in r for r in verdict.reasons)
