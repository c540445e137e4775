"""The classifier two-sample test: about 0.5 on one distribution, near 1.0 on two different ones."""

import numpy as np

from eval.realism import classifier_two_sample_test, crop_box, fid_kid, wilson_interval


def _spots(rng, n, brightness):
    images = rng.integers(60, 120, size=(n, 16, 16, 3)).astype(np.uint8)
    images[:, 5:11, 5:11] = brightness
    return images


def test_gen_two_sample_test_same_distribution_is_near_chance():
    rng = np.random.default_rng(0)
    result = classifier_two_sample_test(_spots(rng, 300, 20), _spots(rng, 300, 20), epochs=8)
    assert 0.35 <= result.accuracy <= 0.65
    assert result.ci_low < result.accuracy < result.ci_high and result.n_test == 300


def test_gen_two_sample_test_different_distributions_is_near_one():
    rng = np.random.default_rng(1)
    result = classifier_two_sample_test(_spots(rng, 300, 20), _spots(rng, 300, 220), epochs=8)
    assert result.accuracy >= 0.95


def test_gen_wilson_interval_and_crop_and_fid_skip():
    low, high = wilson_interval(50, 100)
    assert low < 0.5 < high and round(high - low, 2) == 0.19
    image = np.zeros((50, 50, 3), np.uint8)
    image[10:20, 30:34] = 255
    assert crop_box(image, (30, 10, 4, 10), 8).min() == 255
    assert "skipped" in fid_kid(image[None], image[None], None)
