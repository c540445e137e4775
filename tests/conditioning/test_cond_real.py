"""`kind: real`: a real defect's shape, turned or mirrored, put where the part matches the clean
part it was cut from; without real examples of its class a clear error, not a placement retry."""

from __future__ import annotations

import numpy as np
import pytest

from conditioning.errors import DefectforgeError
from conditioning.masks import KINDS, Canvas
from conditioning.masks.real import (
    CONTEXT_PX,
    TOLERANCE,
    BoardMatches,
    RealExample,
    cut_example,
    fitting_corners,
    nearest_corner,
)
from conditioning.placement import PlacementError, place_defects
from conditioning.spec import load_library

SPEC = """
product: pcb
classes: [open, short]
min_distance: 2
defects:
  - name: open-real
    class: open
    kind: real
    count: 2
"""


def _trace(width: int, trace: int = 12, size: int = 96) -> np.ndarray:
    """One vertical copper trace `trace` px wide at column `width` (bool size x size)."""
    fg = np.zeros((size, size), bool)
    fg[:, width : width + trace] = True
    return fg


def _open_example() -> RealExample:
    """A real open: a 4-row gap cut across a 12 px trace, cut from its clean board."""
    clean = _trace(40)
    mask = np.zeros_like(clean)
    mask[50:54, 40:52] = True
    return cut_example(mask, clean)


def test_cut_example_keeps_the_box_and_its_clean_context():
    example = _open_example()
    c = CONTEXT_PX
    assert example.mask.shape == example.context.shape == (4 + 2 * c, 12 + 2 * c)  # box + context a side
    assert example.mask.sum() == 48 and example.context[:, c : c + 12].all() and not example.context[:, :c].any()
    assert cut_example(np.zeros((8, 8), bool), np.zeros((8, 8), bool)) is None


@pytest.mark.parametrize("k", range(8))
def test_turned_moves_mask_and_context_together(k):
    example = _open_example()
    turned = example.turned(k)
    expected = np.rot90(example.mask, k % 4)
    expected = expected[:, ::-1] if k >= 4 else expected
    assert np.array_equal(turned.mask, expected)
    assert np.array_equal(turned.mask & ~turned.context, np.zeros_like(turned.mask))  # still on the copper
    assert turned.mask.sum() == example.mask.sum()


def _matching_spot(board, example, anchor, rng):
    return nearest_corner(fitting_corners(board, example), example, anchor, rng)


def test_matching_spot_lands_on_a_trace_like_the_one_the_defect_broke():
    example = _open_example()
    board = _trace(60)
    for row in range(20, 80, 8):
        y, x = _matching_spot(board, example, (row, 5), np.random.default_rng(row))
        h, w = example.mask.shape
        assert x + CONTEXT_PX == 60  # the cut spans the trace exactly, as on its own board
        mismatch = (board[y : y + h, x : x + w] != example.context).mean()
        assert mismatch <= TOLERANCE and y + h // 2 == row  # the match nearest the anchor


def test_matching_spot_finds_nothing_on_a_part_unlike_its_own():
    assert fitting_corners(_trace(30, trace=24), _open_example()) is None


def test_board_matches_keep_each_turn_and_draw_as_fresh_matches_do():
    board = _trace(20)  # upright: the open fits unturned or half turned, not a quarter turned
    speck = cut_example(np.pad(np.ones((3, 3), bool), 40), np.zeros((83, 83), bool))  # fits the bare board
    examples = (_open_example(), speck)
    matches = BoardMatches(board)
    for seed in range(12):  # the later builds read the matches the earlier ones kept
        anchor = (seed * 7 % 96, seed * 13 % 96)
        kept = KINDS["real"].build(Canvas(anchor, board, examples, matches), {}, np.random.default_rng(seed))
        fresh = KINDS["real"].build(Canvas(anchor, board, examples), {}, np.random.default_rng(seed))
        assert kept.any() and np.array_equal(kept, fresh)
    for k in range(8):
        example, corners = matches.fits(examples[0], k)
        assert np.array_equal(example.mask, examples[0].turned(k).mask)
        assert (corners is None) == (k % 2 == 1)  # a quarter turn lays the open along the trace
    first, _ = matches.fits(examples[0], 3)
    assert matches.fits(examples[0], 3)[0] is first  # matched once, then kept


def test_real_builder_draws_the_real_shape_or_nothing():
    board = _trace(60)
    mask = KINDS["real"].build(Canvas((0, 0), board, (_open_example(),)), {}, np.random.default_rng(3))
    ys, xs = np.nonzero(mask)
    assert mask.sum() == 48 and board[mask].all()
    assert {xs.max() - xs.min() + 1, ys.max() - ys.min() + 1} == {12, 4}  # across the trace, turned or not
    nothing = KINDS["real"].build(Canvas((0, 0), _trace(30, trace=24), (_open_example(),)), {},
                                  np.random.default_rng(3))
    assert not nothing.any()


def test_place_defects_shapes_real_defects_from_the_examples(write_spec):
    library = load_library(write_spec(SPEC))
    board = _trace(20) | _trace(60)
    placed = place_defects(library, board, np.random.default_rng(0), real_examples={"open": [_open_example()]})
    assert len(placed) == 2
    for one in placed:
        assert one.mask.sum() == 48 and board[one.mask].all()
    assert not (placed[0].mask & placed[1].mask).any()


def test_real_defects_without_examples_are_a_clear_error_not_a_retry(write_spec):
    library = load_library(write_spec(SPEC))
    with pytest.raises(DefectforgeError, match=r"\['open-real'\] are `kind: real`.*--budget") as caught:
        place_defects(library, _trace(20), np.random.default_rng(0), real_examples={"short": [_open_example()]})
    assert not isinstance(caught.value, PlacementError)  # another background would not help


def test_real_defects_that_fit_nowhere_name_the_kind(write_spec):
    library = load_library(write_spec(SPEC))
    with pytest.raises(PlacementError, match="`real` a part like the one its real defect was on"):
        place_defects(library, _trace(30, trace=24), np.random.default_rng(0),
                      real_examples={"open": [_open_example()]})


def test_shape_params_on_a_real_defect_name_the_fix(write_spec):
    from conditioning.spec_errors import SpecError

    path = write_spec(SPEC + "    shape: {radius: 3}\n")
    with pytest.raises(SpecError) as caught:
        load_library(path)
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{path}:10:") and "defects[0].shape.radius" in problem
    assert "it reads no shape params: remove `shape`" in problem


def test_real_builder_turns_the_shape_to_fit_the_part():
    level = _trace(60).T  # a level trace: the upright open fits only turned a quarter
    mask = KINDS["real"].build(Canvas((48, 48), level, (_open_example(),)), {}, np.random.default_rng(0))
    ys, xs = np.nonzero(mask)
    assert mask.sum() == 48 and level[mask].all()
    assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (12, 4)
