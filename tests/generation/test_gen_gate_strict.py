"""The strict gate: palette (binary) lines must flip most of the mask the class's way; grey and
colour lines keep the contrast rule with the direction checked; labels are the changed pixels."""

import numpy as np

from pipeline.crops import dilate
from pipeline.gate import GateConfig, change_map, check_sample, label_mask


def _binary_scene():
    """A black substrate with a white trace; the defect mask (200 px) lies on the substrate."""
    background = np.zeros((48, 48, 3), np.uint8)
    background[30:40] = 255
    mask = np.zeros((48, 48), bool)
    mask[10:20, 14:34] = True
    return background, mask, dilate(mask, 1)


def _flip(image, mask, fraction, value):
    ys, xs = np.nonzero(mask)
    n = int(round(fraction * len(ys)))
    image[ys[:n], xs[:n]] = value
    return image


def test_gen_gate_strict_rejects_a_five_percent_flip_the_contrast_rule_passes():
    background, mask, region = _binary_scene()
    image = _flip(background.copy(), mask, 0.055, 255)
    (verdict,) = check_sample(image, background, [mask], [region], palette=True, directions=[1])
    assert not verdict.passed and verdict.contrast_rule_passed
    assert verdict.rule == "flip" and abs(verdict.flipped - 0.055) < 1e-6
    assert any(r.startswith("not flipped") for r in verdict.reasons)
    (grey,) = check_sample(image, background, [mask], [region])  # the old rule alone
    assert grey.passed


def test_gen_gate_strict_passes_an_eighty_percent_flip():
    background, mask, region = _binary_scene()
    image = _flip(background.copy(), mask, 0.8, 255)
    (verdict,) = check_sample(image, background, [mask], [region], palette=True, directions=[1])
    assert verdict.passed, verdict.reasons
    assert abs(verdict.flipped - 0.8) < 1e-6 and verdict.direction == 1 and verdict.class_direction == 1
    assert verdict.to_json()["verdict"] == "pass"


def test_gen_gate_strict_rejects_a_flip_the_wrong_way():
    background, _, _ = _binary_scene()
    mask = np.zeros((48, 48), bool)
    mask[31:39, 10:35] = True  # on the white trace: the only flip possible is darker
    image = _flip(background.copy(), mask, 0.8, 0)
    (verdict,) = check_sample(image, background, [mask], [dilate(mask, 1)], palette=True, directions=[1])
    assert not verdict.passed and verdict.flipped == 0.0 and verdict.direction == -1
    assert any("wrong way" in r for r in verdict.reasons)
    (either,) = check_sample(image, background, [mask], [dilate(mask, 1)], palette=True, directions=[0])
    assert either.passed and abs(either.flipped - 0.8) < 1e-6


def test_gen_gate_label_is_exactly_the_changed_pixels_inside_the_dilated_mask():
    background, mask, region = _binary_scene()
    image = _flip(background.copy(), mask, 0.6, 255)
    ring = region & ~mask
    image[np.argwhere(ring)[0][0], np.argwhere(ring)[0][1]] = 255  # drawn just past the mask
    image[0, 0] = 255  # outside the region: never part of the label
    label = label_mask(change_map(image, background), region, GateConfig())
    assert np.array_equal(label, region & (image != background).any(axis=-1))
    assert label.sum() == int(round(0.6 * mask.sum())) + 1 and not label[0, 0]


def _grey_scene():
    rng = np.random.default_rng(0)
    background = rng.integers(80, 120, size=(40, 40, 3)).astype(np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[18:22, 15:25] = True
    return background, mask, dilate(mask, 2)


def test_gen_gate_grey_lines_keep_the_contrast_rule():
    background, mask, region = _grey_scene()
    faint = background.copy()
    faint[mask] -= 5  # about 0.02 of change: under min_contrast
    (verdict,) = check_sample(faint, background, [mask], [region], directions=[-1])
    assert not verdict.passed and verdict.rule == "contrast" and not verdict.contrast_rule_passed
    assert "no visible defect" in verdict.reasons[0]


def test_gen_gate_grey_lines_reject_the_wrong_way_where_the_class_has_one():
    background, mask, region = _grey_scene()
    image = background.copy()
    image[mask] = 240  # clearly brighter
    (dark,) = check_sample(image, background, [mask], [region], directions=[-1])
    assert not dark.passed and dark.contrast_rule_passed and dark.direction == 1
    assert dark.reasons == ["drawn the wrong way: brighter on average, the class goes darker"]
    (bright,) = check_sample(image, background, [mask], [region], directions=[1])
    (none,) = check_sample(image, background, [mask], [region], directions=[0])
    assert bright.passed and none.passed
