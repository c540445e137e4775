"""Every arm's schedule: same optimizer steps (steps), same epochs, real images oversampled, or
synthetic first; and the real-only controls each one needs."""

import pytest

from eval.config import DetectorConfig
from eval.schedule import (
    TWICE_CONTROL,
    arm_schedule,
    control_detector,
    control_name,
    control_schedule,
    is_real_only,
    steps,
    stronger_real_only,
)


def test_synthetic_arm_trains_fewer_epochs_for_the_same_steps():
    detector = DetectorConfig(epochs=120, close_mosaic=30, warmup_epochs=3.0, batch=16)
    arm = arm_schedule(detector, "steps", real_images=192, synthetic_images=96)  # ratio 0.5
    d = arm.detector
    assert (d.epochs, d.close_mosaic, d.warmup_epochs) == (80, 20, 2.0)
    assert arm.steps(192, 96) == steps(d, 288) == steps(detector, 192) == 120 * 12
    assert d.batch == detector.batch and d.nbs == detector.nbs
    assert arm.controls == ("real-e80",) and arm.real_repeats == 1 and arm.pretrain is None


def test_steps_match_exactly_when_batches_are_rounded_up():
    """The quick profile: k = 50 at batch 8 is 7 batches an epoch (the last one partial), not
    6.25; ratio 0.5 adds 25 images: 10 batches. Image counts would give 133 epochs x 10 =
    1,330 batches against real-only's 1,400; batch counts give 140 x 10 = 1,400."""
    detector = DetectorConfig(epochs=200, batch=8, close_mosaic=20, warmup_epochs=1.0)
    arm = arm_schedule(detector, "steps", real_images=50, synthetic_images=25)
    assert arm.detector.epochs == 140 and arm.steps(50, 25) == steps(detector, 50) == 1400
    assert arm.controls == (control_name(140),) == ("real-e140",)
    control = control_detector(detector, 140)
    assert (control.epochs, control.close_mosaic) == (140, 14)


def test_real_only_and_epochs_schedule_keep_the_profile():
    detector = DetectorConfig(epochs=40)
    for schedule in ("steps", "oversample", "synthetic-first"):
        assert arm_schedule(detector, schedule, real_images=50, synthetic_images=0).detector == detector
    arm = arm_schedule(detector, "epochs", real_images=50, synthetic_images=50)
    assert arm.detector == detector and arm.controls == ()


def test_at_least_one_epoch():
    arm = arm_schedule(DetectorConfig(epochs=2, batch=1), "steps", real_images=1, synthetic_images=9)
    assert arm.detector.epochs == 1


def test_oversample_keeps_every_real_pass_and_half_of_the_mix_real():
    """Ratio 10 at k = 50: the real images are listed 10 times (500 of 1,000), the mix trains
    20 epochs, so each real image is still seen 200 times; more steps than real-only, so the
    control at the same steps is real-only for 400 epochs."""
    detector = DetectorConfig(epochs=200, batch=8, close_mosaic=20, warmup_epochs=1.0)
    arm = arm_schedule(detector, "oversample", real_images=50, synthetic_images=500)
    assert arm.real_repeats == 10 and arm.detector.epochs == 20
    assert arm.real_repeats * 50 >= 500
    assert arm.real_repeats * arm.detector.epochs == detector.epochs
    assert arm.steps(50, 500) == 20 * 125
    assert arm.controls == ("real-e357",)  # 2,500 steps / 7 batches an epoch


def test_synthetic_first_pretrains_for_real_only_steps_then_fine_tunes_for_its_epochs():
    detector = DetectorConfig(epochs=200, batch=8, close_mosaic=20, warmup_epochs=1.0)
    arm = arm_schedule(detector, "synthetic-first", real_images=50, synthetic_images=100)
    assert arm.detector == detector and arm.real_repeats == 1
    assert arm.pretrain.epochs == 108  # 1,400 real-only steps / 13 batches of 100 images
    assert arm.steps(50, 100) == 1400 + 108 * 13
    assert arm.controls == ("real-e401", "real-twice")


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        arm_schedule(DetectorConfig(), "sometimes", real_images=5, synthetic_images=5)


def test_real_twice_pretrains_on_the_real_images_for_real_only_steps():
    """`real-twice`: `real`'s own schedule as its first stage, then the same fine-tune; its steps
    count both stages over the real images (7 batches an epoch at k = 50, batch 8)."""
    detector = DetectorConfig(epochs=200, batch=8, close_mosaic=20, warmup_epochs=1.0)
    twice = control_schedule(detector, TWICE_CONTROL)
    assert twice.pretrain == twice.detector == detector and twice.pretrain_on_real
    assert twice.steps(50, 0) == 2 * 1400
    assert control_schedule(detector, "real-e398").detector == control_detector(detector, 398)


def test_real_twice_is_a_real_only_run_and_can_be_the_reference():
    assert is_real_only(TWICE_CONTROL) and is_real_only("real-e398") and not is_real_only("diffusion")
    means = {"real": 0.33, "real-e398": 0.40, "real-twice": 0.41, "diffusion": 0.44}
    assert stronger_real_only(means) == TWICE_CONTROL
