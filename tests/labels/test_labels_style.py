"""The annotation style: learned per class from real boxes vs masks, applied by defect size."""

import numpy as np

from pipeline.data.atomic import write_png
from pipeline.data.records import ImageRecord, InstanceRecord, mask_bbox
from pipeline.labels.style import grow_box, learn_style, margins


def blob(shape, y, x, h, w):
    mask = np.zeros(shape, bool)
    mask[y : y + h, x : x + w] = True
    return mask


def record(instances):
    return ImageRecord("img.png", None, 200, 200, instances)


def loose(name, mask, pad):
    x, y, w, h = mask_bbox(mask)
    return InstanceRecord(name, 1, (x - pad, y - pad, w + 2 * pad, h + 2 * pad), mask=mask)


def test_margins_are_learned_per_class_and_reapplied():
    shape = (200, 200)
    style = learn_style([record([loose("open", blob(shape, 20, 20, 10, 12), 10),
                                 loose("short", blob(shape, 60, 60, 10, 12), 3)])])
    assert style.classes["open"].margins == [(10, 10, 10, 10)]
    assert not style.tight
    target = blob(shape, 100, 100, 11, 11)
    rng = np.random.default_rng(0)
    assert margins(style.box_for("open", target, rng), target) == (10, 10, 10, 10)
    assert margins(style.box_for("short", target, rng), target) == (3, 3, 3, 3)


def test_margins_come_from_real_defects_of_about_the_same_size():
    shape = (400, 400)
    small = [loose("spur", blob(shape, 10 + 20 * i, 10, 8, 8), 4) for i in range(8)]
    large = [loose("spur", blob(shape, 10 + 40 * i, 200, 30, 30), 12) for i in range(8)]
    style = learn_style([record(small + large)])
    rng = np.random.default_rng(1)
    for _ in range(10):
        assert margins(style.box_for("spur", blob(shape, 300, 300, 9, 9), rng),
                       blob(shape, 300, 300, 9, 9)) == (4, 4, 4, 4)
        assert margins(style.box_for("spur", blob(shape, 300, 300, 28, 28), rng),
                       blob(shape, 300, 300, 28, 28)) == (12, 12, 12, 12)


def test_tight_labels_stay_tight_and_unknown_classes_pool_the_others():
    shape = (100, 100)
    tight = [InstanceRecord("pit", 1, mask=blob(shape, 10, 10, 5, 5))]  # box = tight mask box
    style = learn_style([record(tight)])
    assert style.tight
    target = blob(shape, 50, 50, 6, 6)
    assert style.box_for("never-seen", target, np.random.default_rng(0)) == mask_bbox(target)


def test_boxes_stay_inside_the_image():
    shape = (64, 64)
    mask = blob(shape, 0, 58, 4, 6)
    x, y, w, h = grow_box(mask, (10, 10, 10, 10))
    assert (x, y) == (48, 0) and x + w == 64 and y + h == 14


def shifted(name, mask, margins_ltrb):
    x, y, w, h = mask_bbox(mask)
    left, top, right, bottom = margins_ltrb
    return InstanceRecord(name, 1, (x - left, y - top, w + left + right, h + top + bottom), mask=mask)


def test_boxes_lean_toward_the_foreground_as_the_real_ones_do(tmp_path):
    # Real spurs: copper (dark) to their right, their boxes reach 4 px further right than left.
    shape = (200, 200)
    clean = np.full(shape + (3,), 255, np.uint8)
    clean[:, 100:] = 0  # copper on the right half
    write_png(tmp_path / "clean.png", clean)
    masks = [blob(shape, 20 + 30 * i, 88, 8, 8) for i in range(5)]  # just left of the copper
    real = ImageRecord(tmp_path / "clean.png", tmp_path / "clean.png", 200, 200,
                       [shifted("spur", m, (6, 5, 10, 5)) for m in masks])
    style = learn_style([real], "dark")
    assert style.classes["spur"].leans == [(1, 0)] * 5
    target = blob(shape, 100, 104, 8, 8)  # on the other side: copper to its left
    mirrored = np.zeros(shape, bool)
    mirrored[:, :100] = True
    rng = np.random.default_rng(0)
    assert margins(style.box_for("spur", target, rng, mirrored), target) == (10, 5, 6, 5)
    assert margins(style.box_for("spur", target, rng, ~mirrored), target) == (6, 5, 10, 5)
    assert margins(style.box_for("spur", target, rng), target) == (6, 5, 10, 5)  # no foreground: as drawn
    flat = np.zeros(shape, bool)  # no side has more foreground: no lean, margins as drawn
    assert margins(style.box_for("spur", target, rng, flat), target) == (6, 5, 10, 5)
    assert learn_style([real]).classes["spur"].leans == []  # no polarity: no leans
