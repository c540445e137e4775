"""Edge speckle: isolated pixels and tips counted around real masks and drawn into rendered regions."""

import numpy as np

from pipeline import speckle
from pipeline.crop_sets import Example
from pipeline.crops import dilate
from pipeline.render import RenderConfig

WHITE, BLACK = 255, 0


def _opened(size=64):
    """A dark board with a bright 20 x 20 patch drawn on it (the defect), its clean board and mask."""
    clean = np.zeros((size, size, 3), np.uint8)
    image = clean.copy()
    mask = np.zeros((size, size), bool)
    mask[20:40, 20:40] = True
    image[mask] = WHITE
    return image, clean, mask


def test_gen_speckle_rates_count_isolated_pixels_and_tips_per_class_and_colour():
    image, clean, mask = _opened()
    for y, x in ((24, 24), (30, 33), (36, 26)):  # three unflipped pixels left inside the patch
        image[y, x] = BLACK
        mask[y, x] = False
    image[19, 30] = WHITE  # a one-pixel spike above the patch: a bright tip
    image[5, 5] = WHITE  # far from the mask: not counted
    rates = speckle.measure([Example(image, clean, [(1, mask)])], ["open", "short"])
    area = dilate(mask, speckle.NEAR_PX).sum()
    assert rates["open"] == {"isolated": [0.0, round(1000 * 3 / area, 3)], "tips": [round(1000 / area, 3), 0.0]}
    assert rates["short"] == {"isolated": [0.0, 0.0], "tips": [0.0, 0.0]}  # no real instance


def test_gen_speckle_near_px_is_the_renderers_region():
    assert speckle.NEAR_PX == RenderConfig().dilate_px


def test_gen_speckle_rates_come_from_the_model_card_unless_the_settings_set_them(tmp_path):
    import json

    from pipeline.generate import _with_card

    rates = {"open": {"isolated": (0.0, 5.5), "tips": (1.0, 2.0)}}
    (tmp_path / "model_card.json").write_text(json.dumps({"palette": [[0, 0, 0], [255, 255, 255]],
                                                          "edge_speckle": rates}))
    assert _with_card(RenderConfig(), tmp_path).speckle == rates
    assert _with_card(RenderConfig(speckle={}), tmp_path).speckle == {}  # turned off
    (tmp_path / "model_card.json").write_text(json.dumps({"palette": [[0, 0, 0], [255, 255, 255]]}))
    assert _with_card(RenderConfig(), tmp_path).speckle is None  # a card from before edge_speckle


def test_gen_speckle_add_puts_single_drawn_pixels_back_to_the_background():
    image, clean, mask = _opened()
    region = dilate(mask, 1)
    drawn = image.copy()
    rates = [{"isolated": [0.0, 20.0]}]  # dark isolated pixels, 20 per 1,000 px: about 9 in the 441 px region
    speckle.add(image, clean, [region], rates, [1], seed=4)
    put_back = (image != drawn).any(-1)
    assert put_back.sum() >= 3
    assert not (put_back & ~region).any()  # only inside the region
    assert np.array_equal(image[put_back], clean[put_back])  # to the background's colour
    isolated = speckle.isolated(speckle.binary(image))
    assert (isolated & put_back).sum() == put_back.sum()  # each one stands alone
    again = drawn.copy()
    speckle.add(again, clean, [region], rates, [1], seed=4)
    assert np.array_equal(again, image)  # a seed fixes them
    none = drawn.copy()
    speckle.add(none, clean, [region], [{"isolated": [0.0, 0.0], "tips": [0.0, 0.0]}], [1], seed=4)
    assert np.array_equal(none, drawn)


def test_gen_speckle_add_draws_tips_without_going_against_the_direction():
    rates = [{"tips": [30.0, 30.0]}]
    for direction in (1, -1):
        image, clean, mask = _opened()  # a brighter defect: with direction -1, bright tips may only restore
        region = dilate(mask, 1)
        tips_before = int((speckle.same_neighbours(speckle.binary(image)) == 1)[region].sum())
        drawn = image.copy()
        speckle.add(image, clean, [region], rates, [direction], seed=1)
        flipped = (image != drawn).any(-1)
        assert flipped.any() and not (flipped & ~region).any()
        assert int((speckle.same_neighbours(speckle.binary(image)) == 1)[region].sum()) > tips_before
        darker = image.astype(int).mean(-1) < clean.astype(int).mean(-1)  # the board is dark: never
        assert not darker.any()
        if direction == -1:  # nothing new turns bright: only drawn pixels go back to the dark board
            assert not (flipped & (image.mean(-1) > clean.mean(-1)) & ~(drawn.mean(-1) > clean.mean(-1))).any()


def test_gen_speckle_add_counts_the_isolated_pixels_already_there():
    image, clean, mask = _opened()
    region = dilate(mask, 1)
    for y in range(22, 40, 3):
        for x in range(22, 40, 3):
            image[y, x] = BLACK  # 36 isolated dark pixels already
    drawn = image.copy()
    speckle.add(image, clean, [region], [{"isolated": [0.0, 20.0]}], [0], seed=0)  # wants about 9
    assert np.array_equal(image, drawn)


def test_gen_speckle_render_draws_it_on_palette_lines_before_the_gate(kit):
    import torch

    from pipeline.models import create_backend
    from pipeline.render import Job, render

    rng = np.random.default_rng(3)
    jobs = []
    for k in range(3):
        clean = kit.board(rng)
        clean[:] = np.where(clean > 128, 255, 0).astype(np.uint8)
        _, first = kit.defect(clean, 1, 0.5, (16, 16), 6)
        jobs.append(Job(clean, [("dark", first, 0.5)], seed=k))
    palette = [[0, 0, 0], [255, 255, 255]]
    counts = {}
    for rates in ({}, {"dark": {"isolated": [300.0, 300.0], "tips": [300.0, 300.0]}}):  # an untrained model: more
        torch.manual_seed(0)
        backend = create_backend("compact", kit.classes, kit.tiny)
        cfg = RenderConfig(palette=palette, speckle=rates, gate={"retries": 0})
        counts[bool(rates)] = 0
        for job, result in zip(jobs, render(backend, jobs, cfg), strict=True):
            region = result.regions[0]
            assert np.array_equal(result.image[~region], job.background[~region])
            counts[bool(rates)] += int((speckle.same_neighbours(speckle.binary(result.image)) <= 1)[region].sum())
            changed = (result.image != job.background).any(-1)
            assert np.array_equal(result.labels[0], region & changed)  # put-back pixels leave the label
    assert counts[True] > counts[False]
