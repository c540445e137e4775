"""Interval code on known numbers."""


import pytest

from eval.stats import Interval, mean_ci, paired_delta, seeds_to_exclude_zero


def test_t_interval_matches_hand_computation():
    # mean 2, sd 1, n 3, t_{0.975, 2} = 4.302653 -> half width 4.302653 / sqrt(3) = 2.484138
    ci = mean_ci([1.0, 2.0, 3.0])
    assert ci.mean == pytest.approx(2.0)
    assert ci.half_width == pytest.approx(2.484138, abs=1e-6)
    assert (ci.low, ci.high) == pytest.approx((2 - 2.484138, 2 + 2.484138), abs=1e-6)


def test_t_interval_two_values_and_single_value():
    # n = 2: t_{0.975, 1} = 12.706205, sd = 0.1 * sqrt(2) -> half = t * sd / sqrt(2) = 1.2706
    assert mean_ci([0.4, 0.6]).half_width == pytest.approx(12.706205 * 0.1, abs=1e-5)
    one = mean_ci([0.7])
    assert (one.mean, one.low, one.high, one.n) == (0.7, 0.7, 0.7, 1)
    with pytest.raises(ValueError):
        mean_ci([])


def test_paired_delta_uses_seed_pairs():
    arm = {0: 0.50, 1: 0.60, 2: 0.70}
    ref = {0: 0.40, 1: 0.50, 2: 0.60, 3: 0.99}
    delta = paired_delta(arm, ref)
    assert delta.n == 3
    assert delta.mean == pytest.approx(0.1)
    assert delta.half_width == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        paired_delta({5: 1.0}, ref)


def test_seeds_to_exclude_zero_on_known_numbers():
    # mean 2, sd 1: three seeds give half width 2.48 (spans 0), four 3.182 / 2 = 1.59 (leaves it out)
    assert seeds_to_exclude_zero(mean_ci([1.0, 2.0, 3.0])) == 4
    assert seeds_to_exclude_zero(mean_ci([-1.0, -2.0, -3.0])) == 4  # below 0 alike
    # mean 0.1, sd 1: t * 1 / sqrt(n) < 0.1 needs n = 387, more than the 100 looked at
    assert seeds_to_exclude_zero(mean_ci([1.1, -0.9, 0.1])) is None
    assert seeds_to_exclude_zero(mean_ci([0.5])) is None  # one seed: no spread measured
    assert seeds_to_exclude_zero(mean_ci([0.5, 0.5])) is None


def test_a_delta_that_spans_zero_says_how_many_seeds_would_resolve_it():
    from types import SimpleNamespace

    from eval.report import ArmSummary, verdict

    one = Interval(mean=0.44, low=0.44, high=0.44, n=3)
    real = ArmSummary(arm="real", seeds=[0, 1, 2], metrics={"map50": one, "coco_map50_95": one},
                      delta={}, per_class_ap50={}, per_class_ap50_95={}, synthetic_images=0)
    gain = mean_ci([0.040, 0.023, 0.065])  # stop 55's three seeds against real-e398
    arm = real.model_copy(update={"arm": "diffusion", "delta": {"coco_map50_95": gain},
                                  "synthetic_images": 500, "reference": "real-e398"})
    text = verdict(SimpleNamespace(arms=[real, arm]))
    assert "CI spans 0; at this mean and seed-to-seed spread about 4 seeds would put it above 0" in text


def test_verdict_says_when_no_detector_learned():
    from types import SimpleNamespace

    from eval.report import ArmSummary, verdict

    def arm(name, map50, delta_low, delta_high):
        one = Interval(mean=map50, low=map50, high=map50, n=3)
        delta = Interval(mean=(delta_low + delta_high) / 2, low=delta_low, high=delta_high, n=3)
        return ArmSummary(arm=name, seeds=[0, 1, 2], metrics={"map50": one, "coco_map50_95": one},
                          delta={"coco_map50_95": delta}, per_class_ap50={}, per_class_ap50_95={},
                          synthetic_images=0 if name == "real" else 10,
                          reference=None if name == "real" else "real")

    flat = SimpleNamespace(arms=[arm("real", 0.001, 0, 0), arm("diffusion", 0.002, 0.0005, 0.001)])
    assert "No detector learned" in verdict(flat) and "better" not in verdict(flat)
    learned = SimpleNamespace(arms=[arm("real", 0.40, 0, 0), arm("diffusion", 0.45, 0.01, 0.03)])
    assert verdict(learned).startswith("- diffusion: better than the stronger real-only run")


def test_one_seed_verdict_names_the_images_it_was_scored_on():
    from types import SimpleNamespace

    from eval.report import ArmSummary, verdict

    def arm(name, delta):
        one = Interval(mean=0.4, low=0.4, high=0.4, n=1)
        return ArmSummary(arm=name, seeds=[0], metrics={"map50": one, "coco_map50_95": one},
                          delta={"coco_map50_95": Interval(mean=delta, low=delta, high=delta, n=1)},
                          per_class_ap50={}, per_class_ap50_95={}, synthetic_images=10,
                          reference=None if name == "real" else "real",
                          over_test={"delta_coco_map50_95": Interval(mean=delta, low=0.01, high=0.03, n=1)})

    for score_on, images in (("val", "validation images"), ("test", "test images")):
        report = SimpleNamespace(arms=[arm("real", 0.0), arm("diffusion", 0.02)],
                                 config=SimpleNamespace(score_on=score_on))
        text = verdict(report)
        assert f"over {images} above 0: better on these {images}" in text
        assert score_on == "test" or "test images" not in text
