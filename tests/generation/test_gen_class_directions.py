"""Class directions learned from the real data: the way each class changes the grey level."""

import numpy as np

from pipeline.crop_sets import Example
from pipeline.training_data import class_directions


def test_gen_class_directions_follow_the_real_defects(kit):
    data = kit.data(n=8)
    assert class_directions(data.examples, data.classes) == {"dark": -1, "bright": 1}


def test_gen_class_directions_are_zero_when_mixed_weak_or_absent(kit):
    rng = np.random.default_rng(1)
    examples = []
    for k in range(6):
        clean = kit.board(rng)
        mixed, first = kit.defect(clean, 1 + k % 2, 0.8, (12, 12), 3)  # darker and brighter halves
        weak = clean.copy()
        second = np.zeros(clean.shape[:2], bool)
        second[30:36, 30:36] = True
        weak[second] = np.clip(weak[second].astype(int) + 2, 0, 255)  # under DIRECTION_MIN_CHANGE
        image = mixed.copy()
        image[second] = weak[second]
        examples.append(Example(image, clean, [(1, first), (2, second)]))
    assert class_directions(examples, ["mixed", "weak", "absent"]) == {"mixed": 0, "weak": 0, "absent": 0}
