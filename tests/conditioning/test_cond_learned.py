"""`kind: learned`: the spec validates it with located errors, and it places a loose region around
a defect box sized by the spec or by the class's real defects."""

from __future__ import annotations

import numpy as np
import pytest

from conditioning.masks.learned import MARGIN_SHARE, MIN_MARGIN_PX, loose_region
from conditioning.placement import place_defects
from conditioning.spec import load_library
from conditioning.spec_errors import SpecError

SPEC = """
product: pcb
classes: [open, short]
defects:
  - name: open-learned
    class: open
    kind: learned
"""


def _problems(path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_library(path)
    return [str(p) for p in caught.value.problems]


def test_learned_kind_validates_without_shape_params(write_spec):
    library = load_library(write_spec(SPEC))
    assert library.defects[0].kind == "learned"


@pytest.mark.parametrize(("shape", "line", "field", "fix"), [
    ("{length: [4, 8], width: [10, 12]}", 8, "defects[0].shape.width", "swap them or lower `width`"),
    ("{length: 0}", 8, "defects[0].shape.length", "expected pixels > 0"),
    ("{radius: 3}", 8, "defects[0].shape.radius", "it reads: length, width"),
])
def test_bad_learned_param_names_file_field_and_fix(write_spec, shape, line, field, fix):
    path = write_spec(SPEC + f"    shape: {shape}\n")
    [text] = _problems(path)
    assert text.startswith(f"{path}:{line}:") and f"{field}: " in text and fix in text


def _box(region: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(region)
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


def _limits(long_side: float, short_side: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Smallest and largest (long, short) extent of a region around a long x short defect box."""
    low = [side + 2 * max(MIN_MARGIN_PX, MARGIN_SHARE[0] * long_side) for side in (long_side, short_side)]
    high = [side + 2 * max(MIN_MARGIN_PX, MARGIN_SHARE[1] * long_side) for side in (long_side, short_side)]
    return (low[0] - 1, high[0] + 1), (low[1] - 1, high[1] + 1)


def test_learned_region_is_sized_from_real_defects_unless_the_spec_sizes_it(write_spec):
    library = load_library(write_spec(SPEC + "    placement: {border: 40}\n"))  # regions stay whole
    foreground = np.zeros((160, 160), bool)
    (long_range, short_range) = _limits(30, 6)
    for seed in range(5):
        [placed] = place_defects(library, foreground, np.random.default_rng(seed), real_sizes={"open": [(30, 6)]})
        long_side, short_side = sorted(_box(placed.mask), reverse=True)
        assert long_range[0] <= long_side <= long_range[1] and short_range[0] <= short_side <= short_range[1]
        assert (placed.params["length"], placed.params["width"]) == (30, 6)
    sized = load_library(write_spec(SPEC + "    shape: {length: 10, width: 10}\n"))
    [placed] = place_defects(sized, foreground, np.random.default_rng(0), real_sizes={"open": [(30, 6)]})
    assert (placed.params["length"], placed.params["width"]) == (10, 10)  # the spec's sizes win


def test_loose_region_contains_the_defect_with_a_random_margin():
    mask = np.zeros((64, 64), bool)
    mask[30:34, 20:40] = True  # 20 x 4 px
    regions = [loose_region(mask, np.random.default_rng(seed)) for seed in range(4)]
    assert all((r & mask).sum() == mask.sum() for r in regions)
    assert len({r.tobytes() for r in regions}) == 4  # margins differ per draw
    (long_range, short_range) = _limits(20, 4)
    for region in regions:
        height, width = _box(region)
        assert long_range[0] <= width <= long_range[1] and short_range[0] <= height <= short_range[1]
